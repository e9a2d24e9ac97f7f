//! Shared plumbing of the proxy tests and the proxy benchmark: real QEMU
//! processes in temp dirs, the proxy in-process or as the built binary, and
//! a raw QMP client that sees the exact bytes.
//!
//! Without QEMU the tests print a note and pass, except under CI=true,
//! where a missing QEMU is a failure.

#![allow(dead_code)]

use qhmp::proxy::{Listen, ProxyOptions};
use qhmp::qmp::Target;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// How long any single wait in these tests may take.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The QEMU binary named by `var` (QHMP_QEMU_7 or QHMP_QEMU_10), or None
/// with a note when it is absent outside CI.
pub fn qemu_binary(var: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{var} does not name an installed QEMU; CI=true requires the live QEMU tests");
        }
        eprintln!("note: {var} not set to an installed QEMU; live proxy test skipped");
    }
    found
}

/// A QEMU started for one test, killed (by its own PID) when dropped.
pub struct Qemu {
    child: Child,
    pub socket: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Qemu {
    /// Starts `binary` paused, without devices or display, QMP on a unix
    /// socket in a fresh temp dir, plus `extra` arguments.
    pub fn start(binary: &Path, extra: &[&str]) -> Qemu {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("qmp.sock");
        Qemu::start_at(binary, extra, dir, socket)
    }

    /// Like [`Qemu::start`] with the QMP socket at `socket` inside `dir`.
    pub fn start_at(
        binary: &Path,
        extra: &[&str],
        dir: tempfile::TempDir,
        socket: PathBuf,
    ) -> Qemu {
        let child = Command::new(binary)
            .args(["-machine", "pc", "-S", "-nodefaults", "-display", "none"])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut qemu = Qemu { child, socket, dir };
        qemu.wait_listening();
        qemu
    }

    /// Kills QEMU now (the temp dir stays).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a fresh QEMU on the same QMP socket path (after [`Qemu::kill`]).
    pub fn respawn(&mut self, binary: &Path, extra: &[&str]) {
        self.kill();
        let _ = std::fs::remove_file(&self.socket);
        self.child = Command::new(binary)
            .args(["-machine", "pc", "-S", "-nodefaults", "-display", "none"])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", self.socket.display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        self.wait_listening();
    }

    pub fn target(&self) -> Target {
        Target::Unix(self.socket.clone())
    }

    /// Until QEMU accepts connections: its socket file appears at bind(),
    /// a moment before listen(), when a connection is still refused.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("QEMU exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "QEMU never created its QMP socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A path in this QEMU's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Devices that give the `info` lines something to show.
pub const RICH_MACHINE: &[&str] = &[
    "-name",
    "proxytest",
    "-uuid",
    "6e1a3b52-5a0b-4c53-9b9e-8d1d3f9e2a10",
    "-smp",
    "2",
    "-device",
    "virtio-balloon-pci,id=balloon0",
    "-chardev",
    "null,id=nul0",
    "-object",
    "iothread,id=io0",
    "-object",
    "memory-backend-ram,id=mem0,size=16M",
    "-drive",
    "if=none,id=d0,file=null-co://,format=raw",
];

/// The proxy running in-process on `qemu`, listening on a unix socket.
pub struct InProcessProxy {
    pub socket: PathBuf,
    task: tokio::task::JoinHandle<Result<(), qhmp::proxy::ProxyError>>,
}

impl Drop for InProcessProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl InProcessProxy {
    pub async fn start(qemu: &Qemu, adjust: impl FnOnce(&mut ProxyOptions)) -> InProcessProxy {
        let socket = qemu.path("proxy.sock");
        let mut options = ProxyOptions::new(qemu.target(), Listen::Unix(socket.clone()));
        adjust(&mut options);
        let task = tokio::spawn(qhmp::proxy::run(options));
        let mut proxy = InProcessProxy { socket, task };
        proxy.wait_listening().await;
        proxy
    }

    async fn wait_listening(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        while !self.socket.exists() {
            if self.task.is_finished() {
                let outcome = (&mut self.task).await;
                panic!("the proxy stopped before listening: {outcome:?}");
            }
            assert!(Instant::now() < deadline, "the proxy never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// The built `qhmp proxy` binary on `qemu`, killed when dropped.
pub struct BinaryProxy {
    pub child: Child,
    pub socket: PathBuf,
}

impl Drop for BinaryProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BinaryProxy {
    pub fn start(qemu: &Qemu, socket_name: &str, extra: &[&str]) -> BinaryProxy {
        let socket = qemu.path(socket_name);
        let child = Command::new(env!("CARGO_BIN_EXE_qhmp"))
            .arg("proxy")
            .arg("--upstream")
            .arg(format!("unix:{}", qemu.socket.display()))
            .arg("--listen")
            .arg(format!("unix:{}", socket.display()))
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot start the qhmp binary");
        let mut proxy = BinaryProxy { child, socket };
        let deadline = Instant::now() + PATIENCE;
        while !proxy.socket.exists() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("qhmp proxy exited early: {status}");
            }
            assert!(Instant::now() < deadline, "qhmp proxy never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }
}

/// A QMP client that keeps the exact bytes of what it receives.
pub struct Raw {
    reader: BufReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
    /// Events read while waiting for replies.
    pub events: Vec<Value>,
}

impl Raw {
    /// Connects (retrying while the socket is not accepting yet).
    pub async fn connect(path: &Path) -> Raw {
        let deadline = Instant::now() + PATIENCE;
        let stream = loop {
            match UnixStream::connect(path).await {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => panic!("connect {}: {e}", path.display()),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let (r, w) = stream.into_split();
        Raw {
            reader: BufReader::new(r),
            writer: w,
            events: Vec::new(),
        }
    }

    /// Connects and reads the greeting.
    pub async fn greeted(path: &Path) -> (Raw, Vec<u8>) {
        let mut raw = Raw::connect(path).await;
        let greeting = raw.line().await.expect("a greeting");
        (raw, greeting)
    }

    /// Connects, reads the greeting and negotiates.
    pub async fn negotiated(path: &Path) -> Raw {
        let (mut raw, _) = Raw::greeted(path).await;
        let reply = raw.request(&json!({"execute": "qmp_capabilities"})).await;
        assert_eq!(reply, json!({"return": {}}), "negotiation");
        raw
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("send");
    }

    pub async fn send(&mut self, message: &Value) {
        self.send_bytes(format!("{message}\n").as_bytes()).await;
    }

    /// The next line (with its `\r\n`), or None at end of stream.
    pub async fn line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        let read = tokio::time::timeout(PATIENCE, self.reader.read_until(b'\n', &mut line))
            .await
            .expect("no message within the test's patience");
        match read {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }

    /// The next line, if one arrives within `wait`.
    pub async fn line_within(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        match tokio::time::timeout(wait, self.reader.read_until(b'\n', &mut line)).await {
            Ok(Ok(n)) if n > 0 => Some(line),
            _ => None,
        }
    }

    /// The next message that is not an event (events are kept).
    pub async fn reply(&mut self) -> Value {
        loop {
            let line = self
                .line()
                .await
                .expect("connection closed while awaiting a reply");
            let value: Value = serde_json::from_slice(&line).expect("a JSON message");
            if value.get("event").is_some() {
                self.events.push(value);
            } else {
                return value;
            }
        }
    }

    pub async fn request(&mut self, message: &Value) -> Value {
        self.send(message).await;
        self.reply().await
    }

    /// `human-monitor-command` text, panicking on an error reply.
    pub async fn hmp(&mut self, line: &str) -> String {
        let reply = self
            .request(&json!({"execute": "human-monitor-command",
                "arguments": {"command-line": line}}))
            .await;
        match reply.get("return").and_then(Value::as_str) {
            Some(text) => text.to_string(),
            None => panic!("'{line}' failed: {reply}"),
        }
    }

    /// Waits for an event named `name` (also looking at events kept).
    pub async fn event(&mut self, name: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(i);
        }
        loop {
            let line = self
                .line()
                .await
                .expect("connection closed while awaiting an event");
            let value: Value = serde_json::from_slice(&line).expect("a JSON message");
            if value["event"] == name {
                return value;
            }
            if value.get("event").is_some() {
                self.events.push(value);
            }
        }
    }
}

/// What QEMU's own HMP prints for each line, asked directly (nobody else
/// may be connected to QEMU's QMP socket meanwhile).
pub async fn native_hmp(qemu: &Qemu, lines: &[&str]) -> Vec<Value> {
    let mut raw = Raw::negotiated(&qemu.socket).await;
    let mut out = Vec::new();
    for line in lines {
        out.push(
            raw.request(&json!({"execute": "human-monitor-command",
                "arguments": {"command-line": line}}))
                .await,
        );
    }
    drop(raw);
    out
}
