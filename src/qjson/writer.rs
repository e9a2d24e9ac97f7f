//! Writes JSON the way QEMU's QMP monitor does, so that a client sees the
//! same bytes through the proxy as from QEMU itself: `": "` and `", "`
//! separators, every character outside printable ASCII as `\uXXXX`,
//! doubles as C's `%.17g`, and object members in QEMU's dictionary order
//! (hash buckets ascending; that is why error replies start with `"id"` and
//! successful ones end with it).

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// The bucket QEMU's dictionary files `key` under (its `tdb_hash` modulo 512).
pub fn qdict_bucket(key: &str) -> usize {
    let bytes = key.as_bytes();
    let mut value = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i * 5) % 24));
    }
    (1_103_515_243u32.wrapping_mul(value).wrapping_add(12345) % 512) as usize
}

/// One QMP message as QEMU would send it, with the `\r\n` line end.
pub fn message_line(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, value);
    out.push_str("\r\n");
    out.into_bytes()
}

/// The JSON text of `value` in QEMU's style (no line end).
pub fn to_qemu_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// QEMU's layout with object members in the order given, for messages built
/// member by member in the order QEMU itself prints them (the simulator's).
pub fn to_qemu_json_in_order(value: &Value) -> String {
    let mut out = String::new();
    write_any(&mut out, value, false);
    out
}

fn write_value(out: &mut String, value: &Value) {
    write_any(out, value, true);
}

/// Writes `value`; `bucket_order` arranges object members as QEMU's QDict
/// iterates them.
fn write_any(out: &mut String, value: &Value, bucket_order: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_any(out, item, bucket_order);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, bucket_order),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>, bucket_order: bool) {
    // A stable sort keeps the order of members sharing a bucket, which for
    // QEMU's own messages is already QEMU's.
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    if bucket_order {
        members.sort_by_key(|(key, _)| qdict_bucket(key));
    }
    out.push('{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_string(out, key);
        out.push_str(": ");
        write_any(out, value, bucket_order);
    }
    out.push('}');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(v) = n.as_u64() {
        let _ = write!(out, "{v}");
    } else if let Some(v) = n.as_i64() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str(&format_g17(n.as_f64().unwrap_or(0.0)));
    }
}

/// C's `printf("%.17g", v)` for a finite double.
pub fn format_g17(v: f64) -> String {
    const PRECISION: i32 = 17;
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, v);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let decimals = (PRECISION - 1 - exponent).max(0) as usize;
        trim_fraction(&format!("{v:.decimals$}")).to_string()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            trim_fraction(mantissa),
            exponent.unsigned_abs()
        )
    }
}

/// Drops trailing zeros of a fraction, and the point if nothing is left.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn doubles_like_printf() {
        let cases = [
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.0, "1"),
            (5e-5, "5.0000000000000002e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (1500.0, "1500"),
            (-1.8446744073709552e19, "-1.8446744073709552e+19"),
            (1.2345678901234568e22, "1.2345678901234568e+22"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g17(v), want, "{v}");
        }
    }

    #[test]
    fn members_in_qemu_order() {
        // As QEMU 10.0 writes them.
        let reply = json!({"return": {"running": false, "status": "prelaunch"}, "id": 3});
        assert_eq!(
            to_qemu_json(&reply),
            r#"{"return": {"status": "prelaunch", "running": false}, "id": 3}"#
        );
        let error = json!({"error": {"desc": "d", "class": "GenericError"}, "id": "u"});
        assert_eq!(
            to_qemu_json(&error),
            r#"{"id": "u", "error": {"class": "GenericError", "desc": "d"}}"#
        );
    }

    #[test]
    fn strings_escape_like_qemu() {
        assert_eq!(
            to_qemu_json(&json!("é😀\u{7f}\0\"\\/\t")),
            r#""\u00E9\uD83D\uDE00\u007F\u0000\"\\/\t""#
        );
        assert_eq!(
            to_qemu_json(&json!([[], {}, [1, null]])),
            "[[], {}, [1, null]]"
        );
    }
}
