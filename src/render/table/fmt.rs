//! Turning JSON reply values into short cell texts.

use super::out::{Out, Text, Tone};
use serde_json::Value;

/// Joins a number to its unit or a name to its number ("64 MiB", "core 1")
/// so that wrapping never separates them; shown as a plain space.
pub(super) const NBSP: char = '\u{a0}';

/// What a cell shows when the reply has nothing there.
pub(super) const NONE: &str = "-";

/// A member as text: strings as they are, numbers and booleans written out;
/// `None` when absent (or an object/array).
pub(super) fn field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(scalar)
}

/// A member as text, or `-`.
pub(super) fn text(v: &Value, key: &str) -> String {
    field(v, key).unwrap_or_else(|| NONE.into())
}

/// A member as text, `-` when absent or empty.
pub(super) fn text_or_dash(v: &Value, key: &str) -> String {
    field(v, key)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| NONE.into())
}

pub(super) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

pub(super) fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// `yes`/`no` for a boolean member (`-` when absent).
pub(super) fn yes_no(v: &Value, key: &str) -> Text {
    match flag(v, key) {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => NONE.into(),
    }
}

/// A byte count in binary units: exact in the largest unit that divides it
/// (1280 MiB, not 1.2 GiB) while that takes at most five digits, else one
/// decimal in the largest unit.
pub(super) fn size(bytes: i64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let magnitude = bytes.unsigned_abs();
    let sign = if bytes < 0 { "-" } else { "" };
    if magnitude == 0 {
        return format!("0{NBSP}B");
    }
    let exact = (0..UNITS.len())
        .rev()
        .find(|&unit| magnitude.is_multiple_of(1u64 << (10 * unit)));
    if let Some(unit) = exact.filter(|&u| magnitude >> (10 * u) < 100_000) {
        return format!("{sign}{}{NBSP}{}", magnitude >> (10 * unit), UNITS[unit]);
    }
    let mut unit = 0;
    let mut whole = magnitude;
    while whole >= 1024 && unit + 1 < UNITS.len() {
        whole /= 1024;
        unit += 1;
    }
    let scale = 1u64 << (10 * unit);
    if magnitude.is_multiple_of(scale) {
        format!("{sign}{}{NBSP}{}", magnitude / scale, UNITS[unit])
    } else {
        // Precision loss in the cast only matters beyond what one decimal shows.
        format!(
            "{sign}{:.1}{NBSP}{}",
            magnitude as f64 / scale as f64,
            UNITS[unit]
        )
    }
}

/// A duration in nanoseconds, in the largest unit that keeps it readable
/// (`0 ns`, `850 ns`, `12.3 µs`, `4.5 ms`, `2.0 s`).
pub(super) fn duration(ns: i64) -> String {
    let n = ns.unsigned_abs() as f64;
    let sign = if ns < 0 { "-" } else { "" };
    match ns.unsigned_abs() {
        0..1_000 => format!("{ns}{NBSP}ns"),
        1_000..1_000_000 => format!("{sign}{:.1}{NBSP}µs", n / 1e3),
        1_000_000..1_000_000_000 => format!("{sign}{:.1}{NBSP}ms", n / 1e6),
        _ => format!("{sign}{:.1}{NBSP}s", n / 1e9),
    }
}

/// A byte-count member in binary units, or `-`.
pub(super) fn size_of(v: &Value, key: &str) -> String {
    int(v, key).map(size).unwrap_or_else(|| NONE.into())
}

/// A guest-physical or host address in hex.
pub(super) fn hex(v: &Value, key: &str) -> String {
    match v
        .get(key)
        .and_then(Value::as_u64)
        .or_else(|| v.get(key).and_then(Value::as_i64).map(|n| n as u64))
    {
        Some(n) => format!("{n:#x}"),
        None => NONE.into(),
    }
}

/// `host:port` (IPv6 hosts in brackets).
pub(super) fn endpoint(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The names of the members that are `true`, joined by `, `.
pub(super) fn set_flags(v: &Value, names: &[(&str, &str)]) -> String {
    let on: Vec<&str> = names
        .iter()
        .filter(|(key, _)| flag(v, key) == Some(true))
        .map(|(_, name)| *name)
        .collect();
    if on.is_empty() {
        NONE.into()
    } else {
        on.join(", ")
    }
}

/// CPU topology properties (`socket 0, core 1, thread 0`), in a fixed order.
pub(super) fn topology(props: Option<&Value>) -> String {
    const ORDER: [&str; 8] = [
        "drawer", "book", "socket", "die", "cluster", "module", "core", "thread",
    ];
    let Some(Value::Object(map)) = props else {
        return NONE.into();
    };
    let mut parts: Vec<String> = ORDER
        .iter()
        .filter_map(|name| {
            map.get(&format!("{name}-id"))
                .and_then(scalar)
                .map(|id| format!("{name}{NBSP}{id}"))
        })
        .collect();
    // Anything else QEMU may add (node-id is shown but last).
    for (key, value) in map {
        let name = key.trim_end_matches("-id");
        if !ORDER.contains(&name) && name != "node" {
            if let Some(id) = scalar(value) {
                parts.push(format!("{name}{NBSP}{id}"));
            }
        }
    }
    if let Some(node) = map.get("node-id").and_then(scalar) {
        parts.push(format!("node{NBSP}{node}"));
    }
    if parts.is_empty() {
        NONE.into()
    } else {
        parts.join(", ")
    }
}

/// A status word, toned by what it means for the operator.
pub(super) fn status(word: &str) -> Text {
    let tone = match word {
        "running" | "completed" | "active" | "ok" | "ready" | "concluded" => Tone::Good,
        "failed" | "error" | "internal-error" | "io-error" | "guest-panicked" | "nospace" => {
            Tone::Bad
        }
        "none" | "" => Tone::Dim,
        _ => Tone::Warn,
    };
    Text::toned(word, tone)
}

/// The error of a failed call (`{"error": {"class", "desc"}}`), if that is what `reply` is.
pub(super) fn as_error(reply: &Value) -> Option<(String, String)> {
    let error = reply.get("error")?;
    if reply.as_object().map(|o| o.len()) != Some(1) {
        return None;
    }
    Some((
        text(error, "class"),
        field(error, "desc").unwrap_or_else(|| error.to_string()),
    ))
}

/// The reply as a list, or a plain note saying it was not one.
pub(super) fn list<'a>(out: &mut Out, reply: &'a Value) -> Option<&'a [Value]> {
    match reply.as_array() {
        Some(items) => Some(items),
        None => {
            out.note(&format!("Unexpected reply (expected a list): {reply}"));
            None
        }
    }
}

/// The reply as an object, or a plain note saying it was not one.
pub(super) fn object<'a>(out: &mut Out, reply: &'a Value) -> Option<&'a Value> {
    if reply.is_object() {
        Some(reply)
    } else {
        out.note(&format!("Unexpected reply (expected an object): {reply}"));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_are_exact_when_they_divide() {
        let shown = |bytes| size(bytes).replace(NBSP, " ");
        assert_eq!(shown(0), "0 B");
        assert_eq!(shown(1023), "1023 B");
        assert_eq!(shown(64 << 20), "64 MiB");
        assert_eq!(shown(200704), "196 KiB");
        assert_eq!(shown(1536), "1536 B");
        assert_eq!(shown(1_000_000_000), "953.7 MiB");
        assert_eq!(shown(-1), "-1 B");
        assert_eq!(shown(i64::MIN), "-8 EiB");
        assert_eq!(shown(1280 << 20), "1280 MiB");
        assert_eq!(shown(3 << 30), "3 GiB");
        assert_eq!(shown(123_456_789), "117.7 MiB");
        assert_eq!(duration(0).replace(NBSP, " "), "0 ns");
        assert_eq!(duration(4_500_000).replace(NBSP, " "), "4.5 ms");
    }

    #[test]
    fn topology_is_ordered_with_node_last() {
        let props = json!({"node-id": 0, "thread-id": 0, "core-id": 1, "socket-id": 0});
        let shown = topology(Some(&props)).replace(NBSP, " ");
        assert_eq!(shown, "socket 0, core 1, thread 0, node 0");
        assert_eq!(topology(None), "-");
    }

    #[test]
    fn errors_are_recognised_only_alone() {
        let e = json!({"error": {"class": "GenericError", "desc": "nope"}});
        assert_eq!(as_error(&e), Some(("GenericError".into(), "nope".into())));
        assert_eq!(as_error(&json!({"error": 1, "other": 2})), None);
    }
}
