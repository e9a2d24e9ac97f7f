//! A scripted QMP server on a unix socket: it plays a small QEMU 10.0
//! (greeting, negotiation, `query-version`, `query-commands`, `query-status`,
//! everything else echoed back) and misbehaves on cue.
//!
//! Each accepted connection follows the next [`Plan`] of the script; once the
//! script is used up, connections are served normally, so a client that
//! reconnects after a fault finds a working "QEMU" again.

use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// 20 MiB: past qhmp's 16 MiB cap on one message.
pub const HUGE_LINE: usize = 20 << 20;
/// The name of the events [`Action::Events`] sends; `data.seq` counts from 0.
pub const SEQ_EVENT: &str = "FAULT_SEQ";
/// What [`Action::Garbage`] and [`Plan::garbage_after_greeting`] send.
pub const GARBAGE: &str = "Segmentation fault (core dumped)";
/// What [`Action::HalfObjectThenEof`] sends before hanging up.
pub const HALF_OBJECT: &str = r#"{"return": {"status": "runn"#;

/// How often the acceptor looks for a new connection.
const ACCEPT_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// How a connection opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    Greet,
    /// Accept and say nothing, ever.
    Silent,
    /// Greet, then send garbage before the client can negotiate.
    GreetThenGarbage,
}

/// What to do when a request for a given command arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A line that is not JSON, instead of the reply.
    Garbage,
    /// A valid reply of [`HUGE_LINE`] bytes.
    HugeLine,
    /// The start of a reply, then the connection closes.
    HalfObjectThenEof,
    /// This many events, then the normal reply.
    Events(usize),
    /// The connection closes without a reply.
    Close,
    /// No reply, ever; later requests are answered as usual.
    Hang,
}

/// The script of one connection.
#[derive(Debug, Clone)]
pub struct Plan {
    opening: Opening,
    /// (command, action), taken in order: each fires on the next request
    /// for its command; other requests are answered normally.
    cues: Vec<(String, Action)>,
}

impl Plan {
    /// Behaves like a (tiny) QEMU throughout.
    pub fn normal() -> Plan {
        Plan {
            opening: Opening::Greet,
            cues: Vec::new(),
        }
    }

    /// Accepts the connection and never says anything.
    pub fn silent() -> Plan {
        Plan {
            opening: Opening::Silent,
            cues: Vec::new(),
        }
    }

    /// Greets, then sends [`GARBAGE`] at once.
    pub fn garbage_after_greeting() -> Plan {
        Plan {
            opening: Opening::GreetThenGarbage,
            cues: Vec::new(),
        }
    }

    /// Normal until a request for `command` arrives; then `action`.
    pub fn on(command: &str, action: Action) -> Plan {
        Plan::normal().then(command, action)
    }

    /// A further cue, after the earlier ones have fired.
    pub fn then(mut self, command: &str, action: Action) -> Plan {
        self.cues.push((command.to_string(), action));
        self
    }
}

/// A running fake QEMU. Dropping it stops accepting and hangs up on every
/// connection it still holds.
pub struct FakeQemu {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    script: std::collections::VecDeque<Plan>,
    /// Commands received, per connection (in accept order).
    requests: Vec<Vec<String>>,
    /// Handles to hang up on when the fake is dropped.
    streams: Vec<UnixStream>,
}

impl State {
    fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
        state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeQemu {
    /// Listens on `path`; connection N follows `script[N]`.
    pub fn start(path: &Path, script: Vec<Plan>) -> FakeQemu {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)
            .unwrap_or_else(|e| panic!("fake QEMU cannot listen on {}: {e}", path.display()));
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            ..State::default()
        }));
        let acceptor = {
            let (stop, state) = (Arc::clone(&stop), Arc::clone(&state));
            std::thread::spawn(move || accept_loop(listener, stop, state))
        };
        FakeQemu {
            path: path.to_path_buf(),
            stop,
            state,
            acceptor: Some(acceptor),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `unix:PATH`, as `--connect` and `--upstream` take it.
    pub fn target(&self) -> String {
        format!("unix:{}", self.path.display())
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        State::lock(&self.state).requests.len()
    }

    /// The commands connection `index` has sent so far.
    pub fn requests(&self, index: usize) -> Vec<String> {
        State::lock(&self.state)
            .requests
            .get(index)
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for FakeQemu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for stream in State::lock(&self.state).streams.drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Accepts until told to stop. The listener does not block, so stopping
/// needs no connection to the socket (whose file may be gone by then).
fn accept_loop(listener: UnixListener, stop: Arc<AtomicBool>, state: Arc<Mutex<State>>) {
    if let Err(e) = listener.set_nonblocking(true) {
        panic!("fake QEMU: cannot make the listener non-blocking: {e}");
    }
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_POLL);
                continue;
            }
            Err(_) => continue,
        };
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        let (index, plan) = {
            let mut state = State::lock(&state);
            if let Ok(clone) = stream.try_clone() {
                state.streams.push(clone);
            }
            state.requests.push(Vec::new());
            let plan = state.script.pop_front().unwrap_or_else(Plan::normal);
            (state.requests.len() - 1, plan)
        };
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            // A write error means the client left: nothing more to do.
            let _ = serve(stream, plan, index, &state);
        });
    }
}

fn serve(
    stream: UnixStream,
    mut plan: Plan,
    index: usize,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut writer = std::io::BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    match plan.opening {
        Opening::Silent => return drain_until_eof(&mut reader),
        Opening::Greet => send(&mut writer, &greeting())?,
        Opening::GreetThenGarbage => {
            send(&mut writer, &greeting())?;
            write!(writer, "{GARBAGE}\r\n")?;
            writer.flush()?;
        }
    }
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let Ok(Value::Object(request)) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let command = ["execute", "exec-oob"]
            .iter()
            .find_map(|verb| request.get(*verb).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        State::lock(state).requests[index].push(command.clone());
        let cue = match plan.cues.first() {
            Some((wanted, _)) if *wanted == command => Some(plan.cues.remove(0).1),
            _ => None,
        };
        let id = request.get("id").cloned();
        match cue {
            None => send(&mut writer, &reply(&command, &request, id))?,
            Some(Action::Garbage) => {
                write!(writer, "{GARBAGE}\r\n")?;
                writer.flush()?;
            }
            Some(Action::HugeLine) => send_huge_reply(&mut writer, id)?,
            Some(Action::HalfObjectThenEof) => {
                writer.write_all(HALF_OBJECT.as_bytes())?;
                writer.flush()?;
                return hang_up(writer);
            }
            Some(Action::Close) => return hang_up(writer),
            Some(Action::Hang) => {}
            Some(Action::Events(count)) => {
                for seq in 0..count {
                    serde_json::to_writer(&mut writer, &seq_event(seq))?;
                    writer.write_all(b"\r\n")?;
                }
                send(&mut writer, &reply(&command, &request, id))?;
            }
        }
    }
}

/// Closes both directions, so the client sees the end at once even while
/// the fake's other handles (kept for `Drop`) are open.
fn hang_up(writer: std::io::BufWriter<UnixStream>) -> std::io::Result<()> {
    let stream = writer.into_inner().map_err(|e| e.into_error())?;
    stream.shutdown(std::net::Shutdown::Both)
}

fn drain_until_eof(reader: &mut BufReader<UnixStream>) -> std::io::Result<()> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        if reader.read_until(b'\n', &mut sink)? == 0 {
            return Ok(());
        }
    }
}

fn send(writer: &mut impl Write, message: &Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *writer, message)?;
    writer.write_all(b"\r\n")?;
    writer.flush()
}

/// A well-formed reply whose one string makes the line [`HUGE_LINE`] long.
fn send_huge_reply(writer: &mut impl Write, id: Option<Value>) -> std::io::Result<()> {
    writer.write_all(b"{\"return\": \"")?;
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..HUGE_LINE >> 20 {
        writer.write_all(&chunk)?;
    }
    let id = id.map(|id| format!(", \"id\": {id}")).unwrap_or_default();
    write!(writer, "\"{id}}}\r\n")?;
    writer.flush()
}

pub fn greeting() -> Value {
    json!({"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 10},
        "package": "fake"}, "capabilities": ["oob"]}})
}

/// Event number `seq` of a burst.
pub fn seq_event(seq: usize) -> Value {
    json!({"timestamp": {"seconds": 1_700_000_000 + seq, "microseconds": 0},
        "event": SEQ_EVENT, "data": {"seq": seq}})
}

/// The normal answer to `command`: a few queries as QEMU answers them,
/// anything else echoed back (`{"command": …, "arguments": …}`), so a test
/// can tell whose request a reply answers.
fn reply(command: &str, request: &Map<String, Value>, id: Option<Value>) -> Value {
    let value = match command {
        "qmp_capabilities" => json!({}),
        "query-version" => {
            json!({"qemu": {"micro": 0, "minor": 0, "major": 10}, "package": "fake"})
        }
        "query-commands" => json!([
            {"name": "query-status"}, {"name": "query-version"},
            {"name": "query-commands"}, {"name": "human-monitor-command"}
        ]),
        "query-status" => json!({"status": "running", "running": true}),
        "human-monitor-command" => {
            let line = request
                .get("arguments")
                .and_then(|a| a.get("command-line"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!(format!("fake HMP ran: {line}\r\n"))
        }
        _ => json!({"command": command,
            "arguments": request.get("arguments").cloned().unwrap_or(json!({}))}),
    };
    let mut reply = Map::new();
    reply.insert("return".into(), value);
    if let Some(id) = id {
        reply.insert("id".into(), id);
    }
    Value::Object(reply)
}
