//! Filling a grammar `qmp:` argument template with parsed arguments.
//!
//! Placeholders (see `grammar/README.md`): `"$name"`, `"$name?A:B"`,
//! `"$name|lower"`, `"$name|str"`, `"text${name}text"` and the spread member
//! `"...": "$*"`.

use crate::parse::{ArgValue, Args};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A template that refers to something it cannot fill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown filter '|{filter}' in placeholder '{placeholder}'")]
    UnknownFilter { placeholder: String, filter: String },
    #[error("argument '{name}' must be a string for '|{filter}'")]
    NotAString { name: String, filter: String },
    #[error("unterminated '${{' in template string '{0}'")]
    Unterminated(String),
}

/// Fills `template` from `args`. Members whose placeholder names an absent
/// argument are dropped.
pub fn fill(template: &Value, args: &Args) -> Result<Value, TemplateError> {
    let mut used = HashSet::new();
    collect_names(template, &mut used);
    Ok(fill_value(template, args, &used)?.unwrap_or(Value::Null))
}

/// Argument names a template refers to (for the spread member and checks).
pub fn referenced_names(template: &Value) -> HashSet<String> {
    let mut names = HashSet::new();
    collect_names(template, &mut names);
    names
}

fn collect_names(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(p) = Placeholder::parse(s) {
                out.insert(p.name.to_string());
            }
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let after = &rest[start + 2..];
                match after.find('}') {
                    Some(end) => {
                        out.insert(after[..end].to_string());
                        rest = &after[end + 1..];
                    }
                    None => break,
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_names(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_names(i, out)),
        _ => {}
    }
}

fn fill_value(
    v: &Value,
    args: &Args,
    used: &HashSet<String>,
) -> Result<Option<Value>, TemplateError> {
    match v {
        Value::String(s) => fill_string(s, args),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(x) = fill_value(item, args, used)? {
                    out.push(x);
                }
            }
            Ok(Some(Value::Array(out)))
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                if key == "..." && value == "$*" {
                    for (name, arg) in args.iter() {
                        if !used.contains(name) {
                            out.insert(name.to_string(), arg.to_json());
                        }
                    }
                    continue;
                }
                if let Some(x) = fill_value(value, args, used)? {
                    out.insert(key.clone(), x);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Ok(Some(other.clone())),
    }
}

/// A whole-string placeholder: `$name`, `$name?A:B`, `$name|filter`.
struct Placeholder<'a> {
    name: &'a str,
    choice: Option<(&'a str, Option<&'a str>)>,
    filter: Option<&'a str>,
}

impl<'a> Placeholder<'a> {
    fn parse(s: &'a str) -> Option<Placeholder<'a>> {
        let body = s.strip_prefix('$')?;
        if body.starts_with('{') || body == "*" {
            return None;
        }
        let name_end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(body.len());
        let (name, tail) = body.split_at(name_end);
        if name.is_empty() {
            return None;
        }
        if let Some(choice) = tail.strip_prefix('?') {
            let (yes, no) = match choice.split_once(':') {
                Some((y, n)) => (y, Some(n)),
                None => (choice, None),
            };
            return Some(Placeholder {
                name,
                choice: Some((yes, no)),
                filter: None,
            });
        }
        if let Some(filter) = tail.strip_prefix('|') {
            return Some(Placeholder {
                name,
                choice: None,
                filter: Some(filter),
            });
        }
        tail.is_empty().then_some(Placeholder {
            name,
            choice: None,
            filter: None,
        })
    }
}

fn fill_string(s: &str, args: &Args) -> Result<Option<Value>, TemplateError> {
    if let Some(p) = Placeholder::parse(s) {
        let arg = args.get(p.name);
        if let Some((yes, no)) = p.choice {
            let truthy = !matches!(arg, None | Some(ArgValue::Bool(false)));
            return Ok(match (truthy, no) {
                (true, _) => Some(Value::String(yes.to_string())),
                (false, Some(no)) => Some(Value::String(no.to_string())),
                (false, None) => None,
            });
        }
        if let (None, Some(default)) = (arg, p.filter.and_then(|f| f.strip_prefix("or:"))) {
            return Ok(Some(Value::String(default.to_string())));
        }
        let Some(arg) = arg else { return Ok(None) };
        return match p.filter {
            Some(f) if f.starts_with("or:") => Ok(Some(arg.to_json())),
            None => Ok(Some(arg.to_json())),
            Some("str") => Ok(Some(Value::String(display(arg)))),
            Some("lower") => match arg {
                ArgValue::Str(text) => Ok(Some(Value::String(text.to_lowercase()))),
                _ => Err(TemplateError::NotAString {
                    name: p.name.into(),
                    filter: "lower".into(),
                }),
            },
            Some(other) => Err(TemplateError::UnknownFilter {
                placeholder: s.into(),
                filter: other.into(),
            }),
        };
    }
    if !s.contains("${") {
        return Ok(Some(Value::String(s.to_string())));
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| TemplateError::Unterminated(s.into()))?;
        match args.get(&after[..end]) {
            Some(arg) => out.push_str(&display(arg)),
            None => return Ok(None),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Some(Value::String(out)))
}

fn display(arg: &ArgValue) -> String {
    match arg {
        ArgValue::Str(s) | ArgValue::NeedsVm(s) => s.clone(),
        ArgValue::Int(i) => i.to_string(),
        ArgValue::Bool(b) => b.to_string(),
        ArgValue::Float(f) => f.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args() -> Args {
        let mut a = Args::new();
        a.insert("device", ArgValue::Str("disk0".into()));
        a.insert("size", ArgValue::Int(10 << 30));
        a.insert("force", ArgValue::Bool(true));
        a.insert("action", ArgValue::Str("Pause".into()));
        a.insert("id", ArgValue::Str("n1".into()));
        a
    }

    #[test]
    fn substitutes_typed_values_and_drops_absent_ones() {
        let t = json!({"device": "$device", "size": "$size", "speed": "$speed", "force": "$force"});
        assert_eq!(
            fill(&t, &args()).unwrap(),
            json!({"device": "disk0", "size": 10737418240i64, "force": true})
        );
    }

    #[test]
    fn constants_renames_and_nesting_are_copied() {
        let t = json!({"capabilities": [{"capability": "$device", "state": true}], "mode": "absolute-paths"});
        assert_eq!(
            fill(&t, &args()).unwrap(),
            json!({"capabilities": [{"capability": "disk0", "state": true}], "mode": "absolute-paths"})
        );
    }

    #[test]
    fn choices_filters_and_interpolation() {
        assert_eq!(
            fill(&json!({"n": "$missing|or:*", "d": "$device|or:*"}), &args()).unwrap(),
            json!({"n": "*", "d": "disk0"})
        );
        let t = json!({"mode": "$force?hard:safe", "other": "$missing?x:y", "opt": "$missing?x",
                       "a": "$action|lower", "s": "$size|str", "p": "file:${device}", "q": "file:${missing}"});
        assert_eq!(
            fill(&t, &args()).unwrap(),
            json!({"mode": "hard", "other": "y", "a": "pause", "s": "10737418240", "p": "file:disk0"})
        );
    }

    #[test]
    fn spread_takes_every_argument_not_used_elsewhere() {
        let t = json!({"...": "$*", "name": "$device"});
        let got = fill(&t, &args()).unwrap();
        assert_eq!(got["name"], "disk0");
        assert!(got.get("device").is_none());
        assert_eq!(got["id"], "n1");
        assert_eq!(got["force"], true);
    }

    #[test]
    fn bad_templates_are_errors_not_panics() {
        assert!(fill(&json!({"a": "$device|upper"}), &args()).is_err());
        assert!(fill(&json!({"a": "$size|lower"}), &args()).is_err());
        assert!(fill(&json!({"a": "x${device"}), &args()).is_err());
    }
}
