//! `qom-list`, `qom-get` and `info qom-tree`.

use crate::parse::Args;
use crate::render::classic::lenient::{
    as_list, as_object, bad_reply, list, opt_text, qnum_to_string, reply_at, text,
};
use crate::render::{RenderError, Reply};
use serde_json::Value;

/// Deepest nesting printed; deeper data is cut off rather than risking the
/// stack (real QOM trees and property values are far shallower).
const MAX_DEPTH: usize = 512;

/// `qom-list [path]`; reply: qom-list (none when no path was given).
pub(super) fn list_properties(replies: &[Reply], args: &Args) -> Result<String, RenderError> {
    const NAME: &str = "qom-list";
    if args.str("path").is_none() {
        return Ok("/\n".to_string());
    }
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = String::new();
    for property in as_list(NAME, value)? {
        out += &format!("{} ({})\n", text(property, "name"), text(property, "type"));
    }
    Ok(out)
}

/// `qom-get path property`; reply: qom-get. The value is printed as
/// QEMU's pretty JSON.
pub(super) fn get(replies: &[Reply]) -> Result<String, RenderError> {
    let value = match reply_at("qom-get", replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = String::new();
    write_pretty(&mut out, value, 0);
    out.push('\n');
    Ok(out)
}

/// QEMU's pretty JSON writer: four spaces per level, `"key": value`,
/// an empty container still broken over two lines.
fn write_pretty(out: &mut String, value: &Value, depth: usize) {
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', level * 4));
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&qnum_to_string(n)),
        Value::String(s) => quote(out, s),
        Value::Array(items) => {
            out.push('[');
            if depth < MAX_DEPTH {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    write_pretty(out, item, depth + 1);
                }
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            if depth < MAX_DEPTH {
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    quote(out, key);
                    out.push_str(": ");
                    write_pretty(out, item, depth + 1);
                }
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

/// A JSON string as QEMU quotes it: everything outside printable ASCII as
/// `\uXXXX` (upper-case hex, surrogate pairs beyond the BMP).
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) > 0xFFFF => {
                let v = c as u32 - 0x10000;
                *out += &format!(
                    "\\u{:04X}\\u{:04X}",
                    0xD800 + (v >> 10),
                    0xDC00 + (v & 0x3FF)
                );
            }
            c if (c as u32) < 0x20 || (c as u32) >= 0x7F => {
                *out += &format!("\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `info qom-tree [path]`; reply: the composition tree a qom-list walk
/// built, `{"path", "name", "type", "children": [{"name", "type",
/// "children"}, …]}` with children in any order.
pub(super) fn tree(replies: &[Reply], args: &Args) -> Result<String, RenderError> {
    const NAME: &str = "qom-tree";
    let root = match replies.first() {
        Some(Ok(value)) => as_object(NAME, value)?,
        Some(Err(_)) => {
            let path = args.str("path").unwrap_or("/machine");
            return Ok(format!("Path '{path}' could not be resolved.\n"));
        }
        None => return Err(bad_reply(NAME, "missing the composition tree")),
    };
    // The root's name is its last path component, empty for the QOM root.
    let name = opt_text(root, "name")
        .map(str::to_string)
        .unwrap_or_else(|| {
            let path = text(root, "path").trim_end_matches('/');
            path.rsplit('/').next().unwrap_or("").to_string()
        });
    let mut out = String::new();
    print_node(&mut out, &name, root, 0);
    Ok(out)
}

fn print_node(out: &mut String, name: &str, node: &Value, depth: usize) {
    *out += &format!(
        "{:indent$}/{name} ({})\n",
        "",
        text(node, "type"),
        indent = depth * 2
    );
    if depth >= MAX_DEPTH {
        return;
    }
    // HMP sorts siblings by strcmp of their names (byte order).
    let mut children: Vec<(&str, &Value)> = list(node, "children")
        .iter()
        .map(|child| (opt_text(child, "name").unwrap_or(""), child))
        .collect();
    children.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (child_name, child) in children {
        print_node(out, child_name, child, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pretty(value: Value) -> String {
        let mut out = String::new();
        write_pretty(&mut out, &value, 0);
        out
    }

    #[test]
    fn pretty_json_follows_qemu_writer() {
        assert_eq!(pretty(json!({})), "{\n}");
        assert_eq!(pretty(json!([])), "[\n]");
        assert_eq!(
            pretty(json!({"a": [1, {"b": null}], "c": {}})),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ],\n    \"c\": {\n    }\n}"
        );
        assert_eq!(pretty(json!(0.1)), "0.10000000000000001");
        assert_eq!(
            pretty(json!("\u{1F600}\u{7f}")),
            "\"\\uD83D\\uDE00\\u007F\""
        );
    }
}
