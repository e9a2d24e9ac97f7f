//! Character devices: the QMP monitor's socket and a ring buffer holding
//! the guest's serial console, readable with `ringbuf-read`.

use super::args::{obj, opt, req, ArgsExt, Obj, Ty};
use super::commands::Cmd;
use super::error::{ok, CmdResult, QmpError};
use super::state::State;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChardevKind {
    /// A socket; `filename` is what `query-chardev` reports.
    Socket {
        filename: String,
    },
    /// A ring buffer of `size` bytes (oldest bytes drop off).
    Ringbuf {
        size: usize,
        data: VecDeque<u8>,
    },
    Null,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chardev {
    pub label: String,
    pub kind: ChardevKind,
    pub frontend_open: bool,
}

#[derive(Debug, Clone)]
pub struct Chardevs {
    pub list: Vec<Chardev>,
}

/// Label of the ring buffer behind the guest's serial port.
pub const CONSOLE: &str = "serial0";

impl Default for Chardevs {
    fn default() -> Self {
        Chardevs {
            list: vec![
                Chardev {
                    label: "compat_monitor0".into(),
                    kind: ChardevKind::Socket {
                        filename: "unix:/run/qhmp/sim-vm.qmp,server=on".into(),
                    },
                    frontend_open: true,
                },
                Chardev {
                    label: CONSOLE.into(),
                    kind: ChardevKind::Ringbuf {
                        size: 65536,
                        data: VecDeque::new(),
                    },
                    frontend_open: true,
                },
                Chardev {
                    label: "null0".into(),
                    kind: ChardevKind::Null,
                    frontend_open: false,
                },
            ],
        }
    }
}

impl Chardevs {
    pub fn get(&self, label: &str) -> Option<&Chardev> {
        self.list.iter().find(|c| c.label == label)
    }

    /// Record where the QMP monitor listens, as `query-chardev` shows it.
    pub(crate) fn set_monitor_filename(&mut self, filename: String) {
        if let Some(c) = self.list.iter_mut().find(|c| c.label == "compat_monitor0") {
            c.kind = ChardevKind::Socket { filename };
        }
    }

    /// The guest writes to its serial console.
    pub(crate) fn guest_console(&mut self, text: &str) {
        if let Some(c) = self.list.iter_mut().find(|c| c.label == CONSOLE) {
            push_ring(&mut c.kind, text.as_bytes());
        }
    }

    /// The whole console ring, without consuming it (for lessons).
    pub fn console_text(&self) -> String {
        match self.get(CONSOLE).map(|c| &c.kind) {
            Some(ChardevKind::Ringbuf { data, .. }) => {
                String::from_utf8_lossy(&data.iter().copied().collect::<Vec<u8>>()).into_owned()
            }
            _ => String::new(),
        }
    }
}

fn push_ring(kind: &mut ChardevKind, bytes: &[u8]) {
    if let ChardevKind::Ringbuf { size, data } = kind {
        for &b in bytes {
            if data.len() >= *size {
                data.pop_front();
            }
            data.push_back(b);
        }
    }
}

fn query_chardev(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let list = st
        .chardevs
        .list
        .iter()
        .map(|c| {
            let filename = match &c.kind {
                ChardevKind::Socket { filename } => filename.as_str(),
                ChardevKind::Ringbuf { .. } => "ringbuf",
                ChardevKind::Null => "null",
            };
            json!({"label": c.label, "filename": filename, "frontend-open": c.frontend_open})
        })
        .collect();
    Ok(Value::Array(list))
}

fn query_chardev_backends(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    const NAMES: &[&str] = &[
        "testdev",
        "serial",
        "wctablet",
        "file",
        "udp",
        "memory",
        "parallel",
        "vc",
        "socket",
        "msmouse",
        "null",
        "hub",
        "pty",
        "qemu-vdagent",
        "pipe",
        "mux",
        "ringbuf",
        "stdio",
    ];
    Ok(NAMES.iter().map(|n| json!({"name": n})).collect())
}

fn ring_mut<'a>(st: &'a mut State, label: &str) -> Result<&'a mut ChardevKind, QmpError> {
    let Some(c) = st.chardevs.list.iter_mut().find(|c| c.label == label) else {
        return Err(QmpError::generic(format!("Device '{label}' not found")));
    };
    match &mut c.kind {
        k @ ChardevKind::Ringbuf { .. } => Ok(k),
        _ => Err(QmpError::generic(format!(
            "{label} is not a ringbuf device"
        ))),
    }
}

fn ringbuf_write(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let device = a.str_arg("device").unwrap_or_default();
    let data = a.str_arg("data").unwrap_or_default();
    let kind = ring_mut(st, device)?;
    let bytes = if a.str_arg("format") == Some("base64") {
        base64_decode(data)
            .ok_or_else(|| QmpError::generic("Base64 data contains invalid characters"))?
    } else {
        data.as_bytes().to_vec()
    };
    push_ring(kind, &bytes);
    ok()
}

fn ringbuf_read(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let device = a.str_arg("device").unwrap_or_default();
    let size = a.int_arg("size").unwrap_or(0);
    let kind = ring_mut(st, device)?;
    if size <= 0 {
        return Err(QmpError::generic("size must be greater than zero"));
    }
    let ChardevKind::Ringbuf { data, .. } = kind else {
        return Err(QmpError::generic(format!(
            "{device} is not a ringbuf device"
        )));
    };
    let n = data.len().min(usize::try_from(size).unwrap_or(usize::MAX));
    let bytes: Vec<u8> = data.drain(..n).collect();
    Ok(Value::String(if a.str_arg("format") == Some("base64") {
        base64_encode(&bytes)
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64 (padding optional at the very end).
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

const FORMAT: Ty = Ty::Enum(&["utf8", "base64"]);
const WRITE: Obj = obj(&[
    req("device", Ty::Str),
    req("data", Ty::Str),
    opt("format", FORMAT),
]);
const READ: Obj = obj(&[
    req("device", Ty::Str),
    req("size", Ty::Int),
    opt("format", FORMAT),
]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("query-chardev", &super::args::NONE, query_chardev),
    Cmd::new(
        "query-chardev-backends",
        &super::args::NONE,
        query_chardev_backends,
    ),
    Cmd::new("ringbuf-write", &WRITE, ringbuf_write),
    Cmd::new("ringbuf-read", &READ, ringbuf_read),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "h", "he", "hel", "hello", "hello\n\0\u{ff}"] {
            let enc = base64_encode(s.as_bytes());
            assert_eq!(
                base64_decode(&enc).as_deref(),
                Some(s.as_bytes()),
                "{s:?} → {enc}"
            );
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_decode("!!!"), None);
    }
}
