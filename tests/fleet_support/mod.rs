//! Helpers shared by the fleet, transient and libvirt tests: QEMUs and
//! simulators on unix sockets, qhmp runs with a time limit, and a small
//! tmux driver for the prompt. Every wait is bounded; processes started
//! here are ended by PID when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(40);

pub fn qhmp_bin() -> &'static str {
    env!("CARGO_BIN_EXE_qhmp")
}

/// The result of one qhmp run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs qhmp with `args` and extra `env`, stdin closed, killed after DEADLINE.
pub fn qhmp(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(qhmp_bin());
    command.args(args).stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qhmp starts");
    let output = wait_output(child);
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn wait_output(child: Child) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(output)) => output,
        _ => {
            unsafe_kill(pid);
            panic!("qhmp did not finish within {DEADLINE:?}");
        }
    }
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill").arg(pid.to_string()).status();
}

/// A child process ended (by PID) on drop.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it gives a value, within DEADLINE.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// QEMU (paused, VNC on a free display, an empty CD-ROM) with QMP at `socket`.
pub fn start_qemu(qemu: &Path, socket: &Path) -> Process {
    let child = Command::new(qemu)
        .args(["-machine", "pc", "-S", "-nodefaults", "-display", "none"])
        .args(["-vnc", "127.0.0.1:0,to=99"])
        .args(["-drive", "if=ide,media=cdrom,index=2"])
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("QEMU starts");
    let process = Process(child);
    wait_until("QEMU's QMP socket", || socket.exists().then_some(()));
    process
}

/// `qhmp sim --listen unix:SOCKET`.
pub fn start_sim(socket: &Path) -> Process {
    let child = Command::new(qhmp_bin())
        .args(["sim", "--listen", &format!("unix:{}", socket.display())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simulator starts");
    let process = Process(child);
    wait_until("the simulator's socket", || socket.exists().then_some(()));
    process
}

/// A minimal QMP client holding a socket (to play "another client").
pub struct Holder {
    stream: std::os::unix::net::UnixStream,
    reader: std::io::BufReader<std::os::unix::net::UnixStream>,
}

impl Holder {
    /// Connects and negotiates; `None` when no greeting comes in `wait`.
    pub fn connect(path: &Path, wait: Duration) -> Option<Holder> {
        use std::io::BufRead;
        let stream = std::os::unix::net::UnixStream::connect(path).ok()?;
        stream.set_read_timeout(Some(wait)).ok()?;
        let mut reader = std::io::BufReader::new(stream.try_clone().ok()?);
        let mut greeting = String::new();
        reader.read_line(&mut greeting).ok()?;
        if !greeting.contains("QMP") {
            return None;
        }
        let mut holder = Holder { stream, reader };
        holder.execute("qmp_capabilities")?;
        Some(holder)
    }

    /// Runs a command; its reply line (events skipped).
    pub fn execute(&mut self, command: &str) -> Option<String> {
        use std::io::{BufRead, Write};
        writeln!(self.stream, "{{\"execute\": \"{command}\"}}").ok()?;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if !line.contains("\"event\"") {
                return Some(line);
            }
        }
    }
}

/// A tmux server of the test's own, one session at a time.
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts `command` (a shell line) in session `name`; its exit status
    /// stays on screen as `[exit N]`.
    pub fn start(dir: &Path, name: &str, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let wrapped = format!("{command}; echo \"[exit $?]\"; sleep 600");
        let ok = tmux
            .command()
            .args([
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "50",
                "-s",
                name,
                &wrapped,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session failed (is tmux installed?)");
        tmux
    }

    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .env_remove("TMUX")
            .stdin(Stdio::null());
        c
    }

    /// Types `text` and presses Enter.
    pub fn line(&self, text: &str) {
        let typed = self.command().args(["send-keys", "-l", text]).status();
        let entered = self.command().args(["send-keys", "Enter"]).status();
        assert!(typed.is_ok_and(|s| s.success()) && entered.is_ok_and(|s| s.success()));
    }

    pub fn key(&self, key: &str) {
        let ok = self.command().args(["send-keys", key]).status();
        assert!(ok.is_ok_and(|s| s.success()), "tmux send-keys {key}");
    }

    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-S", "-200"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ok`; returns it.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waiting for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// True when tmux runs; under CI=true its absence fails the test.
pub fn require_tmux() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "tmux is missing, and CI=true needs it"
        );
        eprintln!("note: tmux not found; skipping");
    }
    ok
}
