//! The interactive monitor driven in a real terminal (tmux) against a real
//! QEMU 10.0: live completion, events above a half-typed line, history across
//! sessions, secrets kept out of the history file, `quit`, and QEMU going away.
//!
//! Needs `QHMP_QEMU_10` and tmux. Without them the tests print a note and
//! pass, unless `CI=true`, where they fail. Every wait is bounded.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The VM's `-name`, which confirmations quote.
const VM_NAME: &str = "qhmp-e2e";

/// Longest wait for anything to show up (the machine may be busy).
const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// One test at a time: each starts QEMU and a terminal.
static SERIAL: Mutex<()> = Mutex::new(());

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The QEMU 10.0 binary, or `None` (with a note) outside CI.
fn qemu_binary() -> Option<PathBuf> {
    let found = std::env::var_os("QHMP_QEMU_10")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            !ci(),
            "QHMP_QEMU_10 is not set, and CI=true needs the live QEMU"
        );
        eprintln!("note: QHMP_QEMU_10 not set; skipping the terminal tests");
    }
    found
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!ci(), "tmux is missing, and CI=true needs it");
        eprintln!("note: tmux not found; skipping the terminal tests");
    }
    ok
}

/// Everything a test needs: a QEMU with two QMP sockets and a tmux server of
/// its own (its socket in the test's temporary directory).
struct Rig {
    dir: tempfile::TempDir,
    qemu: PathBuf,
    vm: Option<Child>,
}

impl Rig {
    fn new() -> Option<Rig> {
        let qemu = qemu_binary()?;
        if !tmux_available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut rig = Rig {
            dir,
            qemu,
            vm: None,
        };
        rig.start_vm();
        Some(rig)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts QEMU (paused, a CD-ROM as ide1-cd0) with QMP on `qmp.sock` for
    /// qhmp and on `side.sock` for the test's own commands.
    fn start_vm(&mut self) {
        for sock in ["qmp.sock", "side.sock"] {
            let _ = std::fs::remove_file(self.path(sock));
        }
        let qmp = |name: &str| format!("unix:{},server=on,wait=off", self.path(name).display());
        let child = Command::new(&self.qemu)
            .args(["-machine", "pc", "-S", "-nodefaults", "-display", "none"])
            .args(["-name", VM_NAME])
            .args(["-drive", "if=ide,media=cdrom,index=2"])
            .args(["-qmp", &qmp("qmp.sock"), "-qmp", &qmp("side.sock")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("QEMU starts");
        self.vm = Some(child);
        let side = self.path("side.sock");
        wait_until("QEMU's QMP sockets", || {
            (self.path("qmp.sock").exists() && side.exists()).then_some(())
        });
    }

    /// Waits (bounded) for QEMU to exit by itself.
    fn wait_vm_exit(&mut self) {
        let Some(mut child) = self.vm.take() else {
            return;
        };
        let exited = poll_until(|| child.try_wait().ok().flatten());
        if exited.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("QEMU did not exit within {DEADLINE:?}");
        }
    }

    /// Runs commands on the side socket; returns their replies (events skipped).
    fn side(&self, commands: &[&str]) -> Vec<Value> {
        let stream = UnixStream::connect(self.path("side.sock")).expect("side QMP socket");
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("a read timeout");
        let mut writer = stream.try_clone().expect("a second handle");
        let mut reader = BufReader::new(stream);
        let mut read_reply = || loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).expect("a QMP message in time");
            assert!(n > 0, "QEMU closed the side socket");
            let v: Value = serde_json::from_str(&line).expect("QMP JSON");
            if v.get("event").is_none() {
                return v;
            }
        };
        let _greeting = read_reply();
        let mut replies = Vec::new();
        for command in std::iter::once("qmp_capabilities").chain(commands.iter().copied()) {
            writeln!(writer, "{{\"execute\": \"{command}\"}}").expect("send to QEMU");
            replies.push(read_reply());
        }
        replies.remove(0);
        replies
    }

    /// Starts qhmp in a fresh tmux session named `name`, wrapped so its exit
    /// status stays on screen as `[exit N]`.
    fn start_qhmp(&self, name: &str, extra: &str) {
        let state = self.path("state");
        let cache = self.path("cache");
        let command = format!(
            "env XDG_STATE_HOME='{}' XDG_CACHE_HOME='{}' '{}' --connect 'unix:{}' --format classic {extra}; \
             echo \"[exit $?]\"; sleep 600",
            state.display(),
            cache.display(),
            env!("CARGO_BIN_EXE_qhmp"),
            self.path("qmp.sock").display(),
        );
        let status = self
            .tmux_command()
            .args([
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                "-s",
                name,
                &command,
            ])
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        wait_for_screen(self, name, "the banner and the prompt", |s| {
            s.contains("QEMU 10.0") && prompt_line(s).is_some()
        });
    }

    fn tmux_command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S")
            .arg(self.path("tmux.sock"))
            .args(["-f", "/dev/null"])
            .env_remove("TMUX")
            .stdin(Stdio::null());
        c
    }

    /// Types `text` literally.
    fn type_text(&self, session: &str, text: &str) {
        let ok = self
            .tmux_command()
            .args(["send-keys", "-t", session, "-l", text])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys failed");
    }

    /// Presses a key by its tmux name (`Enter`, `Tab`, `Up`, `C-d`).
    fn press(&self, session: &str, key: &str) {
        let ok = self
            .tmux_command()
            .args(["send-keys", "-t", session, key])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys failed");
    }

    fn screen(&self, session: &str) -> String {
        let out = self
            .tmux_command()
            .args(["capture-pane", "-p", "-t", session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn history_file(&self) -> PathBuf {
        self.path("state").join("qhmp").join("history")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.tmux_command().arg("kill-server").status();
        if let Some(mut child) = self.vm.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn poll_until<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > DEADLINE {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

fn wait_until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    poll_until(check).unwrap_or_else(|| panic!("{what}: not within {DEADLINE:?}"))
}

/// Polls the screen until `ok` holds; returns that screen.
fn wait_for_screen(rig: &Rig, session: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    poll_until(|| {
        last = rig.screen(session);
        ok(&last).then(|| last.clone())
    })
    .unwrap_or_else(|| panic!("waiting for {what}; the screen shows:\n{last}"))
}

/// The last non-empty line if it is the prompt (with what is typed on it).
fn prompt_line(screen: &str) -> Option<&str> {
    let line = screen.lines().rev().find(|l| !l.trim().is_empty())?;
    line.starts_with("(qemu)").then_some(line.trim_end())
}

fn shows_prompt_with(typed: &str) -> impl Fn(&str) -> bool + '_ {
    move |s| prompt_line(s) == Some(format!("(qemu) {typed}").trim_end())
}

#[test]
fn tab_completes_a_live_block_device_name() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rig) = Rig::new() else { return };
    rig.start_qhmp("s", "");
    rig.type_text("s", "eject ide1-");
    rig.press("s", "Tab");
    wait_for_screen(
        &rig,
        "s",
        "the device name completed",
        shows_prompt_with("eject ide1-cd0"),
    );
    // Ctrl-C abandons the line for a fresh prompt.
    rig.press("s", "C-c");
    wait_for_screen(&rig, "s", "an empty prompt", shows_prompt_with(""));
    // A live migration capability (not in the grammar), completed alike.
    rig.type_text("s", "migrate_set_capability x-co");
    rig.press("s", "Tab");
    wait_for_screen(
        &rig,
        "s",
        "the capability completed",
        shows_prompt_with("migrate_set_capability x-colo"),
    );
}

#[test]
fn an_event_appears_above_a_half_typed_line() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rig) = Rig::new() else { return };
    rig.start_qhmp("s", "");
    rig.type_text("s", "info sta");
    wait_for_screen(
        &rig,
        "s",
        "the half-typed line",
        shows_prompt_with("info sta"),
    );
    let replies = rig.side(&["cont", "stop"]);
    assert!(
        replies.iter().all(|r| r.get("return").is_some()),
        "{replies:?}"
    );
    let screen = wait_for_screen(&rig, "s", "the STOP event", |s| {
        s.lines().any(|l| l.ends_with(" STOP"))
    });
    // The events sit above the prompt, and the typed text is still on it.
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let stop = lines.iter().position(|l| l.ends_with(" STOP"));
    let resume = lines.iter().position(|l| l.ends_with(" RESUME"));
    assert!(resume < stop && stop == Some(lines.len() - 2), "{screen}");
    assert_eq!(prompt_line(&screen), Some("(qemu) info sta"), "{screen}");
    rig.type_text("s", "tus");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the command's output", |s| {
        s.contains("(qemu) info status\nVM status: paused")
    });
}

#[test]
fn history_is_recalled_in_the_next_session() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rig) = Rig::new() else { return };
    rig.start_qhmp("first", "");
    rig.type_text("first", "info version");
    rig.press("first", "Enter");
    wait_for_screen(&rig, "first", "the version", |s| s.contains("\n10.0"));
    rig.press("first", "C-d");
    wait_for_screen(&rig, "first", "qhmp leaving on Ctrl-D", |s| {
        s.contains("[exit 0]")
    });

    rig.start_qhmp("second", "");
    rig.press("second", "Up");
    wait_for_screen(
        &rig,
        "second",
        "the recalled line",
        shows_prompt_with("info version"),
    );
}

#[test]
fn secrets_stay_out_of_the_history_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rig) = Rig::new() else { return };
    rig.start_qhmp("s", "");
    rig.type_text("s", "set_password vnc hunter2");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "QEMU's answer", |s| {
        s.contains("Could not set password") && prompt_line(s) == Some("(qemu)")
    });
    // Asked for unechoed, as QEMU's own monitor does.
    rig.type_text("s", "change vnc password");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the password prompt", |s| {
        s.contains("Password:")
    });
    rig.type_text("s", "swordfish");
    rig.press("s", "Enter");
    let screen = wait_for_screen(&rig, "s", "the next prompt", |s| {
        s.matches("Could not set password").count() == 2 && prompt_line(s) == Some("(qemu)")
    });
    assert!(!screen.contains("swordfish"), "{screen}");
    // Recalled, the masked line is refused rather than setting "********".
    rig.press("s", "Up");
    rig.press("s", "Up");
    wait_for_screen(
        &rig,
        "s",
        "the recalled line",
        shows_prompt_with("set_password vnc ********"),
    );
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the refusal", |s| {
        s.contains("its secret is masked") && prompt_line(s) == Some("(qemu)")
    });
    rig.press("s", "C-d");
    wait_for_screen(&rig, "s", "qhmp leaving", |s| s.contains("[exit 0]"));

    let history = std::fs::read_to_string(rig.history_file()).expect("the history file");
    assert!(history.contains("set_password vnc ********"), "{history}");
    assert!(history.contains("change vnc password"), "{history}");
    assert!(
        !history.contains("hunter2") && !history.contains("swordfish"),
        "{history}"
    );
    assert_private(&rig.history_file());
}

fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "{} is readable by others: {mode:o}",
        path.display()
    );
}

#[test]
fn quit_asks_before_ending_the_vm() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut rig) = Rig::new() else { return };
    rig.start_qhmp("s", "");
    rig.type_text("s", "quit");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the question naming the VM", |s| {
        s.contains(&format!(
            "'quit' on VM \"{VM_NAME}\" ends the VM. Go ahead? [y/N]"
        ))
    });
    rig.type_text("s", "n");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the prompt again", shows_prompt_with(""));
    assert!(rig.side(&["query-status"])[0].get("return").is_some());
    rig.type_text("s", "q");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the question again", |s| {
        s.matches("ends the VM. Go ahead?").count() == 2
    });
    rig.type_text("s", "y");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "qhmp leaving", |s| s.contains("[exit 0]"));
    rig.wait_vm_exit();
}

#[test]
fn yes_skips_the_question_and_the_format_switches_on_the_fly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut rig) = Rig::new() else { return };
    rig.start_qhmp("s", "-y");
    rig.type_text("s", "\\format json");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the switch", |s| {
        s.contains("output format: json")
    });
    rig.type_text("s", "info status");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "JSON output", |s| {
        s.contains(r#"{"status":"prelaunch","running":false}"#)
    });
    rig.type_text("s", "help quit");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "help for quit", |s| s.contains("\nquit|q  -- "));
    rig.type_text("s", "quit");
    rig.press("s", "Enter");
    let screen = wait_for_screen(&rig, "s", "qhmp leaving", |s| s.contains("[exit 0]"));
    assert!(!screen.contains("Go ahead?"), "{screen}");
    rig.wait_vm_exit();
}

#[test]
fn losing_qemu_is_said_at_once_and_ends_with_status_3() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut rig) = Rig::new() else { return };
    rig.start_qhmp("s", "");
    rig.type_text("s", "info ver");
    wait_for_screen(
        &rig,
        "s",
        "the half-typed line",
        shows_prompt_with("info ver"),
    );
    rig.side(&["quit"]);
    rig.wait_vm_exit();
    wait_for_screen(&rig, "s", "the loss reported", |s| {
        s.contains("QEMU went away: QEMU closed the QMP connection")
            && s.contains("Reconnect to unix:")
    });
    // A new QEMU on the same socket: Enter reconnects, and the prompt works.
    rig.start_vm();
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the reconnection", |s| {
        s.contains("Connected to QEMU 10.0")
    });
    rig.type_text("s", "info status");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "a command on the new connection", |s| {
        s.contains("VM status: paused")
    });
    // Gone again; declining to reconnect leaves with status 3.
    rig.side(&["quit"]);
    rig.wait_vm_exit();
    wait_for_screen(&rig, "s", "the second loss", |s| {
        s.matches("QEMU went away").count() == 2
    });
    rig.type_text("s", "n");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "qhmp leaving", |s| s.contains("[exit 3]"));
}

#[test]
fn files_suggestions_confirmation_history_and_qmp_at_the_prompt() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rig) = Rig::new() else { return };
    std::fs::write(rig.path("disc-image.iso"), [0u8; 2048]).expect("an image file");
    rig.start_qhmp("s", "");

    // A file argument completes file names, as in QEMU's monitor.
    let dir = rig.dir.path().display().to_string();
    rig.type_text("s", &format!("change ide1-cd0 {dir}/disc-im"));
    rig.press("s", "Tab");
    wait_for_screen(
        &rig,
        "s",
        "the file name completed",
        shows_prompt_with(&format!("change ide1-cd0 {dir}/disc-image.iso")),
    );
    rig.press("s", "C-c");
    wait_for_screen(&rig, "s", "an empty prompt", shows_prompt_with(""));

    // Misspelt commands: QEMU's line, then a suggestion.
    for (typed, suggestion) in [
        ("ejct", "Did you mean \"eject\"?"),
        ("info spcie", "Did you mean \"info spice\"?"),
    ] {
        rig.type_text("s", typed);
        rig.press("s", "Enter");
        let screen = wait_for_screen(&rig, "s", suggestion, |s| {
            s.contains(suggestion) && prompt_line(s) == Some("(qemu)")
        });
        let unknown = screen.find(&format!("unknown command: '{typed}'"));
        assert!(
            unknown.is_some_and(|at| at < screen.rfind(suggestion).unwrap_or(0)),
            "{screen}"
        );
    }

    // A destructive command asks first, naming the VM; "n" sends nothing.
    rig.type_text("s", "system_reset");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the confirmation", |s| {
        s.contains(&format!(
            "'system_reset' on VM \"{VM_NAME}\" resets the guest"
        )) && s.trim_end().ends_with("[y/N]")
    });
    rig.type_text("s", "n");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the prompt again", shows_prompt_with(""));

    // QMP at the prompt: a JSON request, and qmp-shell syntax typed from
    // the schema (downtime-limit must reach QEMU as an integer).
    rig.type_text("s", r#"{"execute": "query-name"}"#);
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the pretty-printed reply", |s| {
        s.contains(&format!("\"name\": \"{VM_NAME}\"")) && prompt_line(s) == Some("(qemu)")
    });
    rig.type_text("s", "\\qmp migrate-set-par");
    rig.press("s", "Tab");
    wait_for_screen(
        &rig,
        "s",
        "the QMP command completed",
        shows_prompt_with("\\qmp migrate-set-parameters"),
    );
    rig.type_text("s", " downtime-li");
    rig.press("s", "Tab");
    wait_for_screen(
        &rig,
        "s",
        "the argument name completed",
        shows_prompt_with("\\qmp migrate-set-parameters downtime-limit="),
    );
    rig.type_text("s", "456");
    rig.press("s", "Enter");
    wait_for_screen(&rig, "s", "the empty return", |s| {
        s.contains("\"return\": {}") && prompt_line(s) == Some("(qemu)")
    });
    let params = rig.side(&["query-migrate-parameters"]);
    assert_eq!(params[0]["return"]["downtime-limit"], 456, "{params:?}");

    // `info history` numbers the lines as QEMU's monitor does.
    rig.type_text("s", "info history");
    rig.press("s", "Enter");
    let screen = wait_for_screen(&rig, "s", "the history", |s| {
        s.contains("'info history'") && prompt_line(s) == Some("(qemu)")
    });
    assert!(
        screen.contains("\n0: 'ejct'\n1: 'info spcie'\n2: 'system_reset'\n"),
        "{screen}"
    );
}
