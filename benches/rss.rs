//! Peak resident memory (VmHWM) of the optimised `qhmp` binary against a
//! paused QEMU 10.0:
//!
//! * the interactive monitor in a real terminal (tmux), after a few commands
//!   including `info qom-tree` and an HMP passthrough (`info mtree`);
//! * `qhmp proxy` while 32 QMP clients are connected at once, each running a
//!   few `human-monitor-command` lines and plain QMP queries.
//!
//! `cargo bench --bench rss` builds the binary with the bench profile
//! (optimised, as `--release`) and hands its path to this program. Without
//! `QHMP_QEMU_10`, or without tmux for the terminal part, it prints a note and
//! exits 0.

#[path = "support/live_vm.rs"]
mod live_vm;
#[path = "../tests/support/qemu.rs"]
#[allow(dead_code)]
mod qemu;

use live_vm::LiveVm;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Target for either process: 15 MB (decimal), in KiB as /proc reports.
const TARGET_KIB: u64 = 15_000_000 / 1024;
const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);
const INTERACTIVE_LINES: [&str; 7] = [
    "info status",
    "info version",
    "info pci",
    "info block",
    "info qom-tree",
    "info mtree",
    "help",
];
const PROXY_CLIENTS: usize = 32;
const LIGHT_LINES: [&str; 3] = ["info status", "info pci", "info block"];
const HEAVY_LINES: [&str; 4] = ["info status", "info pci", "info block", "info qom-tree"];
const PROXY_QMP: [&str; 2] = ["query-status", "query-pci"];

fn main() {
    let qhmp = PathBuf::from(env!("CARGO_BIN_EXE_qhmp"));
    let vm = match LiveVm::start() {
        Ok(Some(vm)) => vm,
        Ok(None) => return,
        Err(e) => fail(&format!("cannot start QEMU: {e}")),
    };
    let dir = match tempfile::Builder::new()
        .prefix("qhmp-rss-")
        .tempdir_in("/tmp")
    {
        Ok(dir) => dir,
        Err(e) => fail(&format!("cannot create a temp dir: {e}")),
    };
    println!("binary: {}", qhmp.display());
    println!("VmHWM = peak resident set; RssAnon = heap and stacks; RssFile = mapped binary and libraries");
    println!();
    println!("| process | moment | VmHWM | VmRSS | RssAnon | RssFile | threads |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    match interactive(&qhmp, &vm, dir.path()) {
        Ok(Some(peak)) => peaks.push(("interactive monitor", peak)),
        Ok(None) => {}
        Err(e) => fail(&format!(
            "interactive monitor: {e}\nQEMU stderr:\n{}",
            vm.log()
        )),
    }
    match proxy(&qhmp, &vm, dir.path()) {
        Ok(peak) => peaks.push(("proxy, 32 clients", peak)),
        Err(e) => fail(&format!("proxy: {e}\nQEMU stderr:\n{}", vm.log())),
    }
    println!();
    for (what, peak) in peaks {
        let verdict = if peak <= TARGET_KIB {
            "meets"
        } else {
            "MISSES"
        };
        println!("{what}: peak {} ({verdict} the 15 MB target)", mib(peak));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("rss benchmark failed: {message}");
    std::process::exit(1);
}

/// Selected lines of /proc/PID/status, in KiB (threads as a count).
struct Memory {
    hwm: u64,
    rss: u64,
    anon: u64,
    file: u64,
    threads: u64,
}

impl Memory {
    fn of(pid: u32) -> Result<Memory, String> {
        let path = format!("/proc/{pid}/status");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let field = |name: &str| -> Result<u64, String> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .ok_or_else(|| format!("{path} has no {name}"))
        };
        Ok(Memory {
            hwm: field("VmHWM")?,
            rss: field("VmRSS")?,
            anon: field("RssAnon")?,
            file: field("RssFile")?,
            threads: field("Threads")?,
        })
    }

    fn print(&self, process: &str, moment: &str) {
        println!(
            "| {process} | {moment} | {} | {} | {} | {} | {} |",
            mib(self.hwm),
            mib(self.rss),
            mib(self.anon),
            mib(self.file),
            self.threads
        );
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Polls `check` until it yields, or fails after `DEADLINE`.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if start.elapsed() > DEADLINE {
            return Err(format!("{what}: not within {DEADLINE:?}"));
        }
        std::thread::sleep(POLL);
    }
}

// ---------------------------------------------------------------- terminal

/// A tmux server of our own (its socket in our temp dir), killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("tmux {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!("tmux {} failed", args.join(" ")));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "rss"])
            .unwrap_or_default()
    }

    /// The last non-empty line of the screen, when it is the prompt.
    fn prompt_line(&self) -> Option<String> {
        let screen = self.screen();
        let line = screen.lines().rev().find(|l| !l.trim().is_empty())?;
        line.starts_with("(qemu)")
            .then(|| line.trim_end().to_string())
    }

    /// Types `line`, waits until it shows on the prompt, presses Enter and
    /// waits for the next empty prompt (the command's output is complete).
    fn run_line(&self, line: &str) -> Result<(), String> {
        self.run(&["send-keys", "-t", "rss", "-l", line])?;
        let typed = format!("(qemu) {line}");
        wait_for(&format!("'{line}' on the prompt"), || {
            (self.prompt_line()? == typed).then_some(())
        })?;
        self.run(&["send-keys", "-t", "rss", "Enter"])?;
        wait_for(&format!("the prompt after '{line}'"), || {
            (self.prompt_line()? == "(qemu)").then_some(())
        })
        .map_err(|e| format!("{e}; the screen shows:\n{}", self.screen()))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// VmHWM of `qhmp --connect` at its prompt after `INTERACTIVE_LINES`;
/// `None` without tmux.
fn interactive(qhmp: &Path, vm: &LiveVm, dir: &Path) -> Result<Option<u64>, String> {
    if !tmux_available() {
        println!("note: tmux not found; skipping the interactive monitor");
        return Ok(None);
    }
    let tmux = Tmux {
        socket: dir.join("tmux.sock"),
    };
    // `exec` so that the pane's process is qhmp itself; state and cache
    // (history, schema cache) stay in the temp dir.
    let command = format!(
        "exec env XDG_STATE_HOME='{dir}/state' XDG_CACHE_HOME='{dir}/cache' '{qhmp}' --connect '{target}'",
        dir = dir.display(),
        qhmp = qhmp.display(),
        target = vm.target(0),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        "-s",
        "rss",
        &command,
    ])?;
    let pid: u32 = tmux
        .run(&["display-message", "-p", "-t", "rss", "#{pane_pid}"])?
        .trim()
        .parse()
        .map_err(|e| format!("tmux pane pid: {e}"))?;
    wait_for("the first prompt", || {
        (tmux.prompt_line()? == "(qemu)").then_some(())
    })
    .map_err(|e| format!("{e}; the screen shows:\n{}", tmux.screen()))?;
    Memory::of(pid)?.print("interactive", "at the first prompt");
    for line in INTERACTIVE_LINES {
        tmux.run_line(line)?;
    }
    let after = Memory::of(pid)?;
    after.print(
        "interactive",
        &format!("after {}", INTERACTIVE_LINES.join(", ")),
    );
    Ok(Some(after.hwm))
}

// ---------------------------------------------------------------- proxy

/// A `qhmp proxy` process, killed (by its PID) on drop.
struct ProxyProcess(Child);

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        // SIGTERM first, so a profiler wrapped around it writes its report.
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: kill(2) on the PID of our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = wait_for("the proxy to exit", || self.0.try_wait().ok().flatten());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// VmHWM of `qhmp proxy` once 32 clients have run their commands (all still
/// connected).
fn proxy(qhmp: &Path, vm: &LiveVm, dir: &Path) -> Result<u64, String> {
    let listen = dir.join("proxy.sock");
    let log = std::fs::File::create(dir.join("proxy.log")).map_err(|e| e.to_string())?;
    // QHMP_RSS_WRAP (e.g. "valgrind --tool=massif") runs the proxy under a
    // profiler; the /proc figures are then the profiler's, not qhmp's.
    let wrap = std::env::var("QHMP_RSS_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(tool) => {
            let mut c = Command::new(tool);
            c.args(words).arg(qhmp);
            c
        }
        None => Command::new(qhmp),
    };
    let child = command
        .args(["proxy", "--upstream", &vm.target(1), "--listen"])
        .arg(format!("unix:{}", listen.display()))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the proxy: {e}"))?;
    let mut process = ProxyProcess(child);
    let pid = process.0.id();
    wait_for("the proxy's socket", || {
        if let Ok(Some(status)) = process.0.try_wait() {
            return Some(Err(format!(
                "the proxy exited ({status}): {}",
                std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()
            )));
        }
        listen.exists().then_some(Ok(()))
    })??;
    // One client alone first: what a session's work costs without company.
    QmpLine::connect(&listen)?.workload(&HEAVY_LINES)?;
    Memory::of(pid)?.print("proxy", "after one client ran every command");

    // Every client connects and negotiates first, then all run at once.
    let mut clients = Vec::with_capacity(PROXY_CLIENTS);
    for _ in 0..PROXY_CLIENTS {
        clients.push(QmpLine::connect(&listen)?);
    }
    Memory::of(pid)?.print("proxy", &format!("{PROXY_CLIENTS} clients connected, idle"));
    let started = Instant::now();
    let clients = all_at_once(clients, &LIGHT_LINES)?;
    Memory::of(pid)?.print(
        "proxy",
        &format!(
            "{PROXY_CLIENTS} clients at once: {} and {} (all done in {:.2} s)",
            LIGHT_LINES.join(", "),
            PROXY_QMP.join(", "),
            started.elapsed().as_secs_f64()
        ),
    );
    let started = Instant::now();
    all_at_once(clients, &HEAVY_LINES)?;
    let peak = Memory::of(pid)?;
    peak.print(
        "proxy",
        &format!(
            "{PROXY_CLIENTS} clients at once: the same plus info qom-tree (all done in {:.2} s)",
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(peak.hwm)
}

/// Every client runs its workload at the same moment, in a thread of its
/// own; all stay connected until the last has finished.
fn all_at_once(
    clients: Vec<QmpLine>,
    hmp_lines: &'static [&'static str],
) -> Result<Vec<QmpLine>, String> {
    let start = Arc::new(Barrier::new(clients.len()));
    let workers: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                client.workload(hmp_lines).map(|()| client)
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|w| {
            w.join()
                .map_err(|_| "a client thread panicked".to_string())?
        })
        .collect()
}

/// A plain QMP client on the proxy's socket.
struct QmpLine {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl QmpLine {
    fn connect(path: &Path) -> Result<QmpLine, String> {
        let stream = UnixStream::connect(path).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut client = QmpLine {
            reader: BufReader::new(stream),
            writer,
        };
        client.message()?; // the greeting
        client.execute(json!({"execute": "qmp_capabilities"}))?;
        Ok(client)
    }

    /// The next message that is not an event.
    fn message(&mut self) -> Result<Value, String> {
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the proxy closed the connection".into());
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| format!("bad JSON: {e}"))?;
            if v.get("event").is_none() {
                return Ok(v);
            }
        }
    }

    fn execute(&mut self, request: Value) -> Result<Value, String> {
        writeln!(self.writer, "{request}").map_err(|e| format!("write: {e}"))?;
        let reply = self.message()?;
        reply
            .get("return")
            .cloned()
            .ok_or_else(|| format!("{request} failed: {reply}"))
    }

    fn hmp(&mut self, line: &str) -> Result<Value, String> {
        self.execute(json!({
            "execute": "human-monitor-command",
            "arguments": {"command-line": line},
        }))
    }

    fn workload(&mut self, hmp_lines: &[&str]) -> Result<(), String> {
        for line in hmp_lines {
            self.hmp(line)?;
        }
        for command in PROXY_QMP {
            self.execute(json!({ "execute": command }))?;
        }
        Ok(())
    }
}
