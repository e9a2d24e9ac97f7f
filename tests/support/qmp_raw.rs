//! A small synchronous QMP client over a unix socket, std + serde_json only.
//!
//! It deliberately shares no code with qhmp: it is the oracle's transport, so a
//! bug in qhmp's QMP layer cannot hide itself by also breaking the reference.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long one QMP command may take before the harness gives up.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A QMP error reply (`{"error": {"class": .., "desc": ..}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct QmpError {
    pub class: String,
    pub desc: String,
}

impl std::fmt::Display for QmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.desc)
    }
}

/// One established QMP session (greeting read, capabilities negotiated).
pub struct QmpClient {
    path: PathBuf,
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
    partial: Vec<u8>,
    /// Asynchronous events received while waiting for replies, oldest first.
    pub events: Vec<Value>,
    /// The `QMP` member of the greeting (version, capabilities).
    pub greeting: Value,
}

impl QmpClient {
    /// Connects, retrying while the socket is not accepting yet, for at most `wait`.
    pub fn connect(path: &Path, wait: Duration) -> Result<QmpClient, String> {
        let deadline = Instant::now() + wait;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot connect to QMP socket {}: {e}",
                        path.display()
                    ))
                }
            }
        };
        stream
            .set_read_timeout(Some(COMMAND_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(COMMAND_TIMEOUT)))
            .map_err(|e| format!("{}: cannot set socket timeouts: {e}", path.display()))?;
        let writer = stream
            .try_clone()
            .map_err(|e| format!("{}: cannot clone socket: {e}", path.display()))?;
        let mut client = QmpClient {
            path: path.to_path_buf(),
            writer,
            reader: BufReader::new(stream),
            next_id: 1,
            partial: Vec::new(),
            events: Vec::new(),
            greeting: Value::Null,
        };
        let greeting = client.read_message()?;
        client.greeting = greeting.get("QMP").cloned().ok_or_else(|| {
            format!(
                "{}: expected a QMP greeting, got {greeting}",
                path.display()
            )
        })?;
        client
            .execute("qmp_capabilities", json!({}))?
            .map_err(|e| format!("{}: qmp_capabilities failed: {e}", path.display()))?;
        Ok(client)
    }

    /// Runs one command. The outer `Err` is a transport failure, the inner one a
    /// QMP error reply.
    pub fn execute(
        &mut self,
        command: &str,
        args: Value,
    ) -> Result<Result<Value, QmpError>, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"execute": command, "id": id});
        if !args.is_null() && args != json!({}) {
            request["arguments"] = args;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("{}: sending {command}: {e}", self.path.display()))?;
        loop {
            let message = self.read_message()?;
            if message.get("event").is_some() {
                self.events.push(message);
                continue;
            }
            if message.get("id") != Some(&json!(id)) {
                return Err(format!(
                    "{}: reply to {command} has the wrong id: {message}",
                    self.path.display()
                ));
            }
            if let Some(ret) = message.get("return") {
                return Ok(Ok(ret.clone()));
            }
            let error = message.get("error").cloned().unwrap_or(Value::Null);
            let text = |key: &str| {
                error
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            return Ok(Err(QmpError {
                class: text("class"),
                desc: text("desc"),
            }));
        }
    }

    /// Runs an HMP line through `human-monitor-command` and returns QEMU's text.
    pub fn hmp(&mut self, line: &str) -> Result<String, String> {
        let reply = self
            .execute("human-monitor-command", json!({"command-line": line}))?
            .map_err(|e| format!("human-monitor-command {line:?} failed: {e}"))?;
        reply
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("human-monitor-command {line:?}: non-string reply {reply}"))
    }

    /// Waits (bounded) for an event named `name`, consuming it from `events`.
    pub fn wait_event(&mut self, name: &str, wait: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(pos) = self.events.iter().position(|e| e["event"] == name) {
                return Ok(self.events.remove(pos));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no {name} event within {wait:?}"));
            }
            let timeout = Some(left.max(Duration::from_millis(1)));
            let _ = self.reader.get_ref().set_read_timeout(timeout);
            let result = self.read_message();
            let _ = self
                .reader
                .get_ref()
                .set_read_timeout(Some(COMMAND_TIMEOUT));
            match result {
                Ok(message) if message.get("event").is_some() => self.events.push(message),
                Ok(message) => return Err(format!("unexpected QMP message {message}")),
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("no {name} event within {wait:?} ({e})"))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads one JSON line. A partial line survives a read timeout in `partial`.
    fn read_message(&mut self) -> Result<Value, String> {
        let n = self
            .reader
            .read_until(b'\n', &mut self.partial)
            .map_err(|e| format!("{}: reading QMP: {e}", self.path.display()))?;
        if n == 0 {
            return Err(format!(
                "{}: QEMU closed the QMP connection",
                self.path.display()
            ));
        }
        let line = std::mem::take(&mut self.partial);
        serde_json::from_slice(&line).map_err(|e| {
            let text = String::from_utf8_lossy(&line);
            format!("{}: bad QMP JSON {text:?}: {e}", self.path.display())
        })
    }
}
