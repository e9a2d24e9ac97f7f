//! `chardev-add` / `chardev-change`: a `-chardev` option string
//! (`socket,id=c1,path=/tmp/s,server=on,wait=off`) → QMP's `ChardevBackend`.
//!
//! Backends and options QEMU maps in ways this table does not cover (mux,
//! TLS, reconnection, …) return `None`, and the line goes through QEMU's own
//! HMP so its exact behaviour is kept.

use super::exact::{plain_bool, plain_integer};
use serde_json::{json, Map, Value};

/// A boolean spelled so that every QEMU release reads it the same way.
fn parse_bool(text: &str) -> Option<bool> {
    plain_bool(text)
}

/// A size as QEMU's option parser reads it, for the plain spellings only (a
/// decimal without leading zeros, optionally `K`, `M` or `G`); anything else
/// is left to QEMU's HMP.
fn parse_integer(text: &str) -> Option<i64> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 10),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 20),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    plain_integer(digits, false)?.checked_mul(1 << shift)
}

/// The QMP `backend` object for an option list (without `id`), or `None`.
pub fn backend(options: &[(String, String)]) -> Option<Value> {
    let mut opts: Map<String, Value> = Map::new();
    let mut kind = None;
    for (k, v) in options {
        match k.as_str() {
            "backend" => kind = Some(v.clone()),
            "id" => {}
            _ => {
                opts.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let kind = kind?;
    let take = |opts: &mut Map<String, Value>, k: &str| {
        opts.remove(k).and_then(|v| v.as_str().map(str::to_string))
    };
    let mut data = Map::new();
    let log = (take(&mut opts, "logfile"), take(&mut opts, "logappend"));
    if let Some(logfile) = log.0 {
        data.insert("logfile".into(), json!(logfile));
    }
    if let Some(append) = log.1 {
        data.insert("logappend".into(), json!(parse_bool(&append)?));
    }
    match kind.as_str() {
        "null" | "pty" | "msmouse" | "braille" | "testdev" | "wctablet" => {}
        "ringbuf" | "memory" => {
            if let Some(size) = take(&mut opts, "size") {
                data.insert("size".into(), json!(parse_integer(&size)?));
            }
        }
        "file" => {
            data.insert("out".into(), json!(take(&mut opts, "path")?));
            if let Some(input) = take(&mut opts, "input-path") {
                data.insert("in".into(), json!(input));
            }
            if let Some(append) = take(&mut opts, "append") {
                data.insert("append".into(), json!(parse_bool(&append)?));
            }
        }
        "pipe" | "serial" | "tty" | "parallel" | "parport" => {
            data.insert("device".into(), json!(take(&mut opts, "path")?));
        }
        "socket" => {
            let addr = match (
                take(&mut opts, "path"),
                take(&mut opts, "host"),
                take(&mut opts, "port"),
            ) {
                (Some(path), None, None) => json!({"type": "unix", "data": {"path": path}}),
                (None, host, Some(port)) => {
                    json!({"type": "inet", "data": {"host": host.unwrap_or_else(|| "0.0.0.0".into()), "port": port}})
                }
                _ => return None,
            };
            data.insert("addr".into(), addr);
            for flag in ["server", "wait", "telnet", "tn3270", "websocket"] {
                if let Some(v) = take(&mut opts, flag) {
                    data.insert(flag.into(), json!(parse_bool(&v)?));
                }
            }
            if let Some(v) = take(&mut opts, "delay") {
                data.insert("nodelay".into(), json!(!parse_bool(&v)?));
            }
        }
        "stdio" => {
            if let Some(v) = take(&mut opts, "signal") {
                data.insert("signal".into(), json!(parse_bool(&v)?));
            }
        }
        "spicevmc" => {
            data.insert("type".into(), json!(take(&mut opts, "name")?));
        }
        "spiceport" => {
            data.insert("fqdn".into(), json!(take(&mut opts, "name")?));
        }
        _ => return None,
    }
    // Anything left is an option this table does not map.
    if !opts.is_empty() {
        return None;
    }
    let kind = if kind == "tty" {
        "serial".to_string()
    } else if kind == "parport" {
        "parallel".to_string()
    } else {
        kind
    };
    Some(json!({"type": kind, "data": data}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn common_backends() {
        assert_eq!(
            backend(&opts(&[
                ("backend", "ringbuf"),
                ("id", "r"),
                ("size", "64K")
            ])),
            Some(json!({"type": "ringbuf", "data": {"size": 65536}}))
        );
        assert_eq!(
            backend(&opts(&[
                ("backend", "socket"),
                ("id", "s"),
                ("path", "/tmp/s"),
                ("server", "on"),
                ("wait", "off")
            ])),
            Some(
                json!({"type": "socket", "data": {"addr": {"type": "unix", "data": {"path": "/tmp/s"}}, "server": true, "wait": false}})
            )
        );
        assert_eq!(
            backend(&opts(&[("backend", "file"), ("path", "/tmp/log")])),
            Some(json!({"type": "file", "data": {"out": "/tmp/log"}}))
        );
        assert_eq!(
            backend(&opts(&[("backend", "null")])),
            Some(json!({"type": "null", "data": {}}))
        );
    }

    #[test]
    fn unmapped_options_are_left_to_qemu() {
        assert_eq!(
            backend(&opts(&[
                ("backend", "socket"),
                ("path", "/s"),
                ("mux", "on")
            ])),
            None
        );
        assert_eq!(backend(&opts(&[("backend", "vc")])), None);
        assert_eq!(backend(&opts(&[("backend", "file")])), None);
        assert_eq!(backend(&opts(&[("id", "x")])), None);
        for size in ["-1", "010", "0x10", "1.5k", "1Q", ""] {
            let ring = opts(&[("backend", "ringbuf"), ("size", size)]);
            assert_eq!(backend(&ring), None, "{size}");
        }
        let sock = opts(&[("backend", "socket"), ("path", "/s"), ("server", "y")]);
        assert_eq!(backend(&sock), None);
    }
}
