//! A small blocking QMP client for talking to the proxy as its clients do.
//! Independent of qhmp's own client, so a bug there cannot hide one here.

use super::DEADLINE;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

pub struct Peer {
    name: String,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Every message received, in order (events and replies alike).
    pub received: Vec<Value>,
}

impl Peer {
    /// Connects and reads the greeting.
    pub fn connect(name: &str, socket: &Path) -> Peer {
        let stream = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("{name}: cannot connect to {}: {e}", socket.display()));
        // A proxy that stops reading or writing fails the test, not hangs it.
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("a read timeout");
        stream
            .set_write_timeout(Some(DEADLINE))
            .expect("a write timeout");
        let writer = stream.try_clone().expect("a second handle");
        let mut peer = Peer {
            name: name.to_string(),
            reader: BufReader::new(stream),
            writer,
            received: Vec::new(),
        };
        let greeting = peer.next();
        assert!(greeting.get("QMP").is_some(), "{name}: greeting {greeting}");
        peer
    }

    /// Connects, reads the greeting and negotiates.
    pub fn negotiated(name: &str, socket: &Path) -> Peer {
        let mut peer = Peer::connect(name, socket);
        let reply = peer.call(json!({"execute": "qmp_capabilities", "id": "caps"}));
        assert_eq!(reply.get("return"), Some(&json!({})), "{name}: {reply}");
        peer
    }

    pub fn send(&mut self, message: &Value) {
        let line = format!("{message}\r\n");
        let name = &self.name;
        self.writer
            .write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: cannot send {message}: {e}"));
    }

    /// Sends bytes as they are (not necessarily JSON).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let name = &self.name;
        self.writer
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("{name}: cannot send: {e}"));
    }

    /// The socket, for writing whatever a test likes.
    pub fn into_stream(self) -> UnixStream {
        self.writer
    }

    /// The next message, or `None` at end of stream. Fails the test when
    /// nothing comes within the deadline.
    pub fn try_next(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = match self.reader.read_line(&mut line) {
            Ok(n) => n,
            Err(e) => {
                let start = self.received.len().saturating_sub(5);
                panic!(
                    "{}: no message within {DEADLINE:?} ({e}); the last received: {:?}",
                    self.name,
                    &self.received[start..]
                )
            }
        };
        let name = &self.name;
        if n == 0 {
            return None;
        }
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line:?}"));
        self.received.push(message.clone());
        Some(message)
    }

    pub fn next(&mut self) -> Value {
        let name = self.name.clone();
        self.try_next()
            .unwrap_or_else(|| panic!("{name}: the proxy closed the connection"))
    }

    /// The next message carrying `id`; events and other messages read on
    /// the way stay in [`Peer::received`].
    pub fn reply_to(&mut self, id: &Value) -> Value {
        loop {
            let message = self.next();
            if message.get("id") == Some(id) {
                return message;
            }
        }
    }

    /// Sends `request` (which must carry an id) and waits for its reply.
    pub fn call(&mut self, request: Value) -> Value {
        let id = request
            .get("id")
            .cloned()
            .expect("requests here carry an id");
        self.send(&request);
        self.reply_to(&id)
    }

    /// The first message received so far that satisfies `wanted`, or else
    /// the next one to arrive.
    pub fn find(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        match self.received.iter().find(|m| wanted(m)) {
            Some(seen) => seen.clone(),
            None => self.until(wanted),
        }
    }

    /// Reads until a message satisfies `done`; returns it.
    pub fn until(&mut self, done: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.next();
            if done(&message) {
                return message;
            }
        }
    }

    /// Events received so far, in order.
    pub fn events(&self) -> Vec<&Value> {
        self.received
            .iter()
            .filter(|m| m.get("event").is_some())
            .collect()
    }

    /// Messages received so far that are neither events nor replies to
    /// `qmp_capabilities`.
    pub fn non_events(&self) -> Vec<&Value> {
        self.received
            .iter()
            .filter(|m| m.get("event").is_none() && m.get("QMP").is_none())
            .filter(|m| m.get("id") != Some(&json!("caps")))
            .collect()
    }
}
