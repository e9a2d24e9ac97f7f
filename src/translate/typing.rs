//! Giving option-string values (`device_add e1000,bootindex=3`,
//! `object_add memory-backend-ram,size=1G`) the JSON types QMP insists on.
//!
//! HMP parses such options with string visitors; QMP's input is strictly
//! typed, so a value must become an integer or boolean where the QEMU expects
//! one. The types come from the live QEMU: `device-list-properties` for
//! devices and `query-qmp-schema` for everything else.

use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Where the types of a request's option values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typing {
    /// `device-list-properties` of this driver.
    DeviceProperties {
        driver: String,
        /// The option string's entries in order, repeats kept.
        options: Vec<(String, String)>,
    },
    /// The argument type of this QMP command in `query-qmp-schema`.
    Schema {
        command: String,
        options: Vec<(String, String)>,
    },
    /// One `migrate_set_parameter NAME TEXT`, typed by the parameter's
    /// member of `migrate-set-parameters` in `query-qmp-schema`.
    MigrationParameter { name: String, text: String },
    /// Nothing to type: QEMU's own HMP prints something of its own for this
    /// line (a side line), so it runs the line when it knows the command.
    OwnHmp,
}

/// The JSON kind a value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Boolean,
    Number,
    Text,
    /// A list of `{"str": …}` objects (`hostfwd`), from a repeatable key.
    StringList,
}

/// Converts the string members of `args` whose kind is known.
/// A value that does not fit its kind is left as a string, so QEMU reports
/// the problem in its own words.
pub fn apply(args: &mut Map<String, Value>, kind_of: impl Fn(&str) -> Option<Kind>) {
    for (key, value) in args.iter_mut() {
        let Value::String(text) = value else { continue };
        let converted = match kind_of(key) {
            Some(Kind::Integer) => parse_integer(text).map(Value::from),
            Some(Kind::Boolean) => parse_bool(text).map(Value::Bool),
            Some(Kind::Number) => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number),
            Some(Kind::Text | Kind::StringList) | None => None,
        };
        if let Some(v) = converted {
            *value = v;
        }
    }
}

/// Kinds of a device's properties from a `device-list-properties` reply,
/// with the members `device_add` takes besides properties.
pub fn device_property_kinds(reply: &Value) -> HashMap<String, Kind> {
    let mut kinds: HashMap<String, Kind> = ["driver", "id", "bus"]
        .iter()
        .map(|k| (k.to_string(), Kind::Text))
        .collect();
    for prop in reply.as_array().into_iter().flatten() {
        let (Some(name), Some(ty)) = (
            prop.get("name").and_then(Value::as_str),
            prop.get("type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let kind = match ty {
            "bool" => Kind::Boolean,
            "uint8" | "uint16" | "uint32" | "uint64" | "int8" | "int16" | "int32" | "int64"
            | "size" => Kind::Integer,
            _ => Kind::Text,
        };
        kinds.insert(name.to_string(), kind);
    }
    kinds
}

/// `query-qmp-schema`, indexed by entity name.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    entities: HashMap<String, Value>,
}

impl Schema {
    pub fn from_introspection(reply: &Value) -> Schema {
        let entities = reply
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e.get("name")?.as_str()?.to_string(), e.clone())))
            .collect();
        Schema { entities }
    }

    /// True when the schema knows a command.
    pub fn has_command(&self, command: &str) -> bool {
        self.entities
            .get(command)
            .is_some_and(|e| e.get("meta-type").and_then(Value::as_str) == Some("command"))
    }

    /// The kinds of a command's top-level arguments, following the union
    /// branch that `args` selects through its tag member (`qom-type`, `type`).
    pub fn argument_kinds(
        &self,
        command: &str,
        args: &Map<String, Value>,
    ) -> HashMap<String, Kind> {
        let mut kinds = HashMap::new();
        let Some(arg_type) = self
            .entities
            .get(command)
            .and_then(|c| c.get("arg-type"))
            .and_then(Value::as_str)
        else {
            return kinds;
        };
        self.collect_members(arg_type, args, &mut kinds, 0);
        kinds
    }

    fn collect_members(
        &self,
        type_name: &str,
        args: &Map<String, Value>,
        kinds: &mut HashMap<String, Kind>,
        depth: usize,
    ) {
        let Some(object) = self.entities.get(type_name) else {
            return;
        };
        if depth > 8 {
            return;
        }
        for member in object
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(ty)) = (
                member.get("name").and_then(Value::as_str),
                member.get("type").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(kind) = self.kind_of(ty) {
                kinds.insert(name.to_string(), kind);
            }
        }
        let tag = object.get("tag").and_then(Value::as_str);
        let Some(selected) = tag.and_then(|t| args.get(t)).and_then(Value::as_str) else {
            return;
        };
        for variant in object
            .get("variants")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if variant.get("case").and_then(Value::as_str) == Some(selected) {
                if let Some(ty) = variant.get("type").and_then(Value::as_str) {
                    self.collect_members(ty, args, kinds, depth + 1);
                }
            }
        }
    }

    fn kind_of(&self, type_name: &str) -> Option<Kind> {
        let entity = self.entities.get(type_name)?;
        match entity.get("meta-type").and_then(Value::as_str)? {
            "builtin" => match entity.get("json-type").and_then(Value::as_str)? {
                "int" => Some(Kind::Integer),
                "boolean" => Some(Kind::Boolean),
                "number" => Some(Kind::Number),
                "string" => Some(Kind::Text),
                _ => None,
            },
            "enum" => Some(Kind::Text),
            // `['String']` (`hostfwd`): objects with the one member `str`.
            "array" => {
                let element = self.entities.get(entity.get("element-type")?.as_str()?)?;
                let members = element.get("members")?.as_array()?;
                let only_str = members.len() == 1
                    && members[0].get("name").and_then(Value::as_str) == Some("str")
                    && members[0].get("type").and_then(Value::as_str) == Some("str");
                only_str.then_some(Kind::StringList)
            }
            // An alternate accepts its string form unchanged when it has one.
            "alternate" => {
                let members: Vec<Kind> = entity
                    .get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| self.kind_of(m.get("type")?.as_str()?))
                    .collect();
                if members.contains(&Kind::Text) {
                    Some(Kind::Text)
                } else {
                    members.first().copied()
                }
            }
            _ => None,
        }
    }
}

/// Integers as QEMU's option parsers accept them: decimal, `0x` hex,
/// negative, and sizes with a `B K M G T P E` suffix (bytes by default).
pub fn parse_integer(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(u as i64);
    }
    let (digits, suffix) = t.split_at(
        t.find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len()),
    );
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "B" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        "E" => 60,
        _ => return None,
    };
    let value: f64 = digits.parse().ok()?;
    let bytes = value * (1u64 << shift) as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < i64::MAX as f64).then_some(bytes as i64)
}

/// Booleans as QEMU's option parsers accept them.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "on" | "yes" | "true" | "y" => Some(true),
        "off" | "no" | "false" | "n" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_and_sizes() {
        assert_eq!(parse_integer("3"), Some(3));
        assert_eq!(parse_integer("0x10"), Some(16));
        assert_eq!(parse_integer("-1"), Some(-1));
        assert_eq!(parse_integer("1G"), Some(1 << 30));
        assert_eq!(parse_integer("4k"), Some(4096));
        assert_eq!(parse_integer("1.5M"), Some(3 << 19));
        assert_eq!(parse_integer("abc"), None);
        assert_eq!(parse_integer("1Q"), None);
    }

    #[test]
    fn device_properties_type_only_what_they_declare() {
        let reply = json!([{"name": "bootindex", "type": "int32"}, {"name": "addr", "type": "str"},
                           {"name": "deflate-on-oom", "type": "bool"}]);
        let kinds = device_property_kinds(&reply);
        let mut args = json!({"driver": "e1000", "addr": "0x5", "bootindex": "3", "deflate-on-oom": "on", "x": "7"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        apply(&mut args, |k| kinds.get(k).copied());
        assert_eq!(
            Value::Object(args),
            json!({"driver": "e1000", "addr": "0x5", "bootindex": 3, "deflate-on-oom": true, "x": "7"})
        );
    }

    #[test]
    fn schema_follows_the_union_branch_of_the_tag() {
        let schema = Schema::from_introspection(&json!([
            {"name": "object-add", "meta-type": "command", "arg-type": "0"},
            {"name": "0", "meta-type": "object", "tag": "qom-type",
             "members": [{"name": "qom-type", "type": "1"}, {"name": "id", "type": "str"}],
             "variants": [{"case": "memory-backend-ram", "type": "2"}, {"case": "iothread", "type": "3"}]},
            {"name": "1", "meta-type": "enum", "values": ["memory-backend-ram", "iothread"]},
            {"name": "2", "meta-type": "object", "members": [{"name": "size", "type": "int"}, {"name": "share", "type": "bool"}]},
            {"name": "3", "meta-type": "object", "members": [{"name": "poll-max-ns", "type": "int"}]},
            {"name": "int", "meta-type": "builtin", "json-type": "int"},
            {"name": "bool", "meta-type": "builtin", "json-type": "boolean"},
            {"name": "str", "meta-type": "builtin", "json-type": "string"}
        ]));
        assert!(schema.has_command("object-add"));
        let mut args =
            json!({"qom-type": "memory-backend-ram", "id": "m1", "size": "1G", "share": "on"})
                .as_object()
                .cloned()
                .unwrap_or_default();
        let kinds = schema.argument_kinds("object-add", &args);
        assert_eq!(kinds.get("poll-max-ns"), None);
        apply(&mut args, |k| kinds.get(k).copied());
        assert_eq!(
            Value::Object(args),
            json!({"qom-type": "memory-backend-ram", "id": "m1", "size": 1073741824, "share": true})
        );
    }
}
