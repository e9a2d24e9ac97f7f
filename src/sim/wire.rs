//! The QMP wire format: splitting the input stream into JSON values the way
//! QEMU's JSON streamer does (no newline needed, several per line allowed),
//! checking the request envelope, and shaping replies and events.

use super::error::QmpError;
use serde_json::{json, Map, Value};

/// Longest message the simulator accepts before giving up on it.
pub const MAX_MESSAGE: usize = 8 << 20;

/// Deepest bracket nesting accepted (QEMU's limit is 1024).
const MAX_NESTING: usize = 1024;

/// One complete top-level value cut out of the input, or a framing error.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Json(Value),
    Error(String),
}

/// Accumulates input bytes and yields complete top-level JSON texts.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
}

impl Splitter {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let start = self.buf.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else {
            self.buf.clear();
            return None;
        };
        self.buf.drain(..start);
        match scan(&self.buf) {
            Scan::Complete(end) => {
                let text: Vec<u8> = self.buf.drain(..end).collect();
                Some(parse(&text))
            }
            Scan::TooDeep(end) => {
                self.buf.drain(..end);
                Some(Frame::Error("JSON parse error, nesting too deep".into()))
            }
            Scan::Incomplete if self.buf.len() > MAX_MESSAGE => {
                // Resynchronise at the next line so one runaway message
                // does not wedge the session.
                let cut = self
                    .buf
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.buf.len(), |p| p + 1);
                self.buf.drain(..cut);
                Some(Frame::Error("JSON parse error, message too large".into()))
            }
            Scan::Incomplete => None,
        }
    }
}

enum Scan {
    Complete(usize),
    TooDeep(usize),
    Incomplete,
}

/// Find where the value starting at `buf[0]` ends. Brackets of either kind
/// count towards depth, so `{]` is one (invalid) value as in QEMU.
fn scan(buf: &[u8]) -> Scan {
    let first = buf.first().copied().unwrap_or(b' ');
    if first != b'{' && first != b'[' && first != b'"' {
        // A bare token: it ends at whitespace or a structural character.
        return match buf
            .iter()
            .position(|b| b.is_ascii_whitespace() || b"{}[]\",:".contains(b))
        {
            Some(0) => Scan::Complete(1),
            Some(end) => Scan::Complete(end),
            None => Scan::Incomplete,
        };
    }
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &b) in buf.iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => {
                    in_str = false;
                    if depth == 0 {
                        return Scan::Complete(i + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Scan::TooDeep(i + 1);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Scan::Complete(i + 1);
                }
            }
            _ => {}
        }
    }
    Scan::Incomplete
}

fn parse(text: &[u8]) -> Frame {
    match serde_json::from_slice::<Value>(text) {
        Ok(v) => Frame::Json(v),
        Err(_) => {
            let word = String::from_utf8_lossy(text);
            let bare = word.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            Frame::Error(if bare {
                format!("JSON parse error, invalid keyword '{word}'")
            } else {
                "JSON parse error, expecting value".to_string()
            })
        }
    }
}

/// A request that passed the envelope checks.
#[derive(Debug)]
pub struct Request {
    pub command: String,
    pub oob: bool,
    pub args: Map<String, Value>,
    pub id: Option<Value>,
}

/// Check the envelope as QEMU does. Errors carry the `id` when there is one.
pub fn parse_request(v: Value, oob_enabled: bool) -> Result<Request, (QmpError, Option<Value>)> {
    let Value::Object(map) = v else {
        return Err((QmpError::generic("QMP input must be a JSON object"), None));
    };
    let id = map.get("id").cloned();
    let fail = |desc: String| Err((QmpError::generic(desc), id.clone()));
    for (key, val) in &map {
        match key.as_str() {
            "execute" | "exec-oob" if !val.is_string() => {
                return fail(format!("QMP input member '{key}' must be a string"))
            }
            "exec-oob" if !oob_enabled => {
                return fail("QMP input member 'exec-oob' is unexpected".into())
            }
            "arguments" if !val.is_object() => {
                return fail("QMP input member 'arguments' must be an object".into())
            }
            "execute" | "exec-oob" | "arguments" | "id" => {}
            other => return fail(format!("QMP input member '{other}' is unexpected")),
        }
    }
    let execute = map.get("execute").and_then(Value::as_str);
    let exec_oob = map.get("exec-oob").and_then(Value::as_str);
    let (command, oob) = match (execute, exec_oob) {
        (Some(_), Some(_)) => {
            return fail("QMP input member 'execute' clashes with 'exec-oob'".into())
        }
        (None, None) => return fail("QMP input lacks member 'execute'".into()),
        (Some(c), None) => (c.to_string(), false),
        (None, Some(c)) => (c.to_string(), true),
    };
    let args = match map.get("arguments") {
        Some(Value::Object(a)) => a.clone(),
        _ => Map::new(),
    };
    Ok(Request {
        command,
        oob,
        args,
        id,
    })
}

/// `{"return": ..., "id": ...}` in QEMU's member order.
pub fn reply_ok(ret: Value, id: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("return".into(), ret);
    if let Some(id) = id {
        m.insert("id".into(), id);
    }
    Value::Object(m)
}

/// `{"id": ..., "error": ...}` in QEMU's member order.
pub fn reply_err(err: &QmpError, id: Option<Value>) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), id);
    }
    m.insert("error".into(), err.to_json());
    Value::Object(m)
}

/// The greeting, sent as soon as a client connects.
pub fn greeting(major: u32, minor: u32, micro: u32, package: &str) -> Value {
    json!({"QMP": {"version": {"qemu": {"major": major, "minor": minor, "micro": micro},
                               "package": package},
                   "capabilities": ["oob"]}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<Frame> {
        let mut s = Splitter::default();
        s.push(input.as_bytes());
        std::iter::from_fn(|| s.next_frame()).collect()
    }

    #[test]
    fn splits_like_qemu() {
        let f = frames("{\"a\":1} {\"b\":\n2}\n[1]\"x\" nonsense {]");
        assert_eq!(f.len(), 6, "{f:?}");
        assert_eq!(f[0], Frame::Json(json!({"a": 1})));
        assert_eq!(f[1], Frame::Json(json!({"b": 2})));
        assert_eq!(f[3], Frame::Json(json!("x")));
        assert_eq!(
            f[4],
            Frame::Error("JSON parse error, invalid keyword 'nonsense'".into())
        );
        assert_eq!(
            f[5],
            Frame::Error("JSON parse error, expecting value".into())
        );
    }

    #[test]
    fn waits_for_the_rest_of_a_value() {
        let mut s = Splitter::default();
        s.push(b"{\"execute\": \"a}\"");
        assert_eq!(s.next_frame(), None);
        s.push(b"}");
        assert_eq!(s.next_frame(), Some(Frame::Json(json!({"execute": "a}"}))));
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let mut s = Splitter::default();
        s.push("[".repeat(5000).as_bytes());
        assert!(matches!(s.next_frame(), Some(Frame::Error(_))));
    }

    #[test]
    fn envelope_errors() {
        let e = |v: Value| parse_request(v, false).err().map(|(e, _)| e.desc);
        assert_eq!(
            e(json!([1])).as_deref(),
            Some("QMP input must be a JSON object")
        );
        assert_eq!(
            e(json!({"id": 7})).as_deref(),
            Some("QMP input lacks member 'execute'")
        );
        assert_eq!(
            e(json!({"execute": "a", "foo": 1})).as_deref(),
            Some("QMP input member 'foo' is unexpected")
        );
        assert_eq!(
            e(json!({"exec-oob": "a"})).as_deref(),
            Some("QMP input member 'exec-oob' is unexpected")
        );
        let with_id = parse_request(json!({"id": "x", "execute": 1}), false);
        assert_eq!(with_id.err().and_then(|(_, id)| id), Some(json!("x")));
    }
}
