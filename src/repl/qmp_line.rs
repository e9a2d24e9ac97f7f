//! QMP at the prompt: a line starting with `{` is a QMP request as it is;
//! `\qmp NAME key=value …` is qmp-shell's syntax, with values typed from
//! the connected QEMU's schema. Replies are printed as indented JSON.

use crate::translate::typing::{self, Schema};
use serde_json::{Map, Value};

/// A QMP request typed at the prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum QmpLine {
    /// A request object, sent as written.
    Raw(Map<String, Value>),
    /// `\qmp NAME key=value …`: the command and its (string-valued where
    /// not JSON) arguments, still to be typed from the schema.
    Shell {
        command: String,
        arguments: Map<String, Value>,
    },
}

/// The QMP request on `line`, if the line is one; `Err` says what is wrong
/// with it (nothing is sent then).
pub fn parse(line: &str) -> Option<Result<QmpLine, String>> {
    let trimmed = line.trim();
    if trimmed.starts_with('{') {
        return Some(parse_raw(trimmed));
    }
    let rest = trimmed.strip_prefix("\\qmp")?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    Some(parse_shell(rest))
}

fn parse_raw(text: &str) -> Result<QmpLine, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let Value::Object(request) = value else {
        return Err("a QMP request is a JSON object".into());
    };
    match request.get("execute").or_else(|| request.get("exec-oob")) {
        Some(Value::String(_)) => Ok(QmpLine::Raw(request)),
        _ => Err(r#"a QMP request needs "execute": "COMMAND""#.into()),
    }
}

fn parse_shell(rest: &str) -> Result<QmpLine, String> {
    let mut words = split(rest)?.into_iter();
    let command = words
        .next()
        .ok_or("usage: \\qmp COMMAND [key=value …] (Tab completes both)")?;
    let mut arguments = Map::new();
    for word in words {
        let (key, text) = word
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got '{word}'"))?;
        if key.is_empty() {
            return Err(format!("expected a key before '=' in '{word}'"));
        }
        // JSON where it is JSON-shaped, as qmp-shell reads it.
        let value = if text.starts_with(['{', '[']) {
            serde_json::from_str(text).map_err(|e| format!("{key}: not JSON: {e}"))?
        } else {
            Value::String(text.to_string())
        };
        insert_dotted(&mut arguments, key, value)?;
    }
    Ok(QmpLine::Shell { command, arguments })
}

/// Words separated by blanks; single or double quotes keep blanks inside.
fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `a.b=1` nests as `{"a": {"b": 1}}`, as in qmp-shell.
fn insert_dotted(map: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), String> {
    match key.split_once('.') {
        None => {
            if map.contains_key(key) {
                return Err(format!("'{key}' is given twice"));
            }
            map.insert(key.to_string(), value);
            Ok(())
        }
        Some((head, tail)) => {
            let inner = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            match inner {
                Value::Object(inner) => insert_dotted(inner, tail, value),
                _ => Err(format!("'{head}' is both a value and an object")),
            }
        }
    }
}

impl QmpLine {
    /// The request object to send; qmp-shell values get the JSON types the
    /// schema gives the command's arguments (`size=1024` an integer,
    /// `force=true` a boolean, `id=123` stays a string where it is one).
    pub fn request(self, schema: &Schema) -> Map<String, Value> {
        match self {
            QmpLine::Raw(request) => request,
            QmpLine::Shell {
                command,
                mut arguments,
            } => {
                let kinds = schema.argument_kinds(&command, &arguments);
                typing::apply(&mut arguments, |k| kinds.get(k).copied());
                let mut request = Map::new();
                request.insert("execute".into(), Value::String(command));
                if !arguments.is_empty() {
                    request.insert("arguments".into(), Value::Object(arguments));
                }
                request
            }
        }
    }
}

/// A reply as qmp-shell shows it: indented JSON.
pub fn pretty(reply: &Value) -> String {
    serde_json::to_string_pretty(reply).unwrap_or_else(|_| reply.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_introspection(&json!([
            {"name": "block_resize", "meta-type": "command", "arg-type": "0"},
            {"name": "0", "meta-type": "object", "members": [
                {"name": "device", "type": "str"}, {"name": "size", "type": "int"}]},
            {"name": "int", "meta-type": "builtin", "json-type": "int"},
            {"name": "str", "meta-type": "builtin", "json-type": "string"},
        ]))
    }

    fn request(line: &str) -> Value {
        let parsed = parse(line).expect("a QMP line").expect("valid");
        Value::Object(parsed.request(&schema()))
    }

    #[test]
    fn shell_values_are_typed_from_the_schema() {
        assert_eq!(
            request("\\qmp block_resize device=123 size=1024"),
            json!({"execute": "block_resize", "arguments": {"device": "123", "size": 1024}})
        );
        assert_eq!(
            request(r#"\qmp x a.b=1 c=[1,2] d='two words'"#),
            json!({"execute": "x", "arguments": {"a": {"b": "1"}, "c": [1, 2], "d": "two words"}})
        );
        assert_eq!(
            request("\\qmp query-status"),
            json!({"execute": "query-status"})
        );
    }

    #[test]
    fn raw_requests_go_as_written() {
        assert_eq!(
            request(r#" {"execute": "query-name", "arguments": {}} "#),
            json!({"execute": "query-name", "arguments": {}})
        );
    }

    #[test]
    fn bad_lines_are_refused_with_a_reason() {
        for line in [
            "{",
            r#"{"arguments": {}}"#,
            "\\qmp",
            "\\qmp x novalue",
            "\\qmp x =1",
            "\\qmp x a=1 a=2",
            "\\qmp x 'open",
        ] {
            assert!(matches!(parse(line), Some(Err(_))), "{line}");
        }
        assert_eq!(parse("info status"), None);
        assert_eq!(parse("\\qmpx"), None);
    }
}
