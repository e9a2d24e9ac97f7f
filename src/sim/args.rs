//! Argument specs for simulated commands, checked the way QEMU's QAPI input
//! visitor checks them: members in declaration order, first missing or
//! mistyped member wins, then the first member nobody asked for.
//!
//! The same specs are compared against the live `query-qmp-schema` by
//! `tests/sim_schema.rs`, so they cannot drift from real QEMU unnoticed.

use super::error::QmpError;
use serde_json::{Map, Value};

/// The JSON shapes QAPI knows.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Int,
    Bool,
    Num,
    /// QAPI `any`: whatever JSON.
    Any,
    Enum(&'static [&'static str]),
    List(&'static Ty),
    Obj(&'static Obj),
    /// The `StrOrNull` alternate (`tls-creds` and friends).
    StrOrNull,
}

/// A QAPI struct, or a flat union when `union` is set.
#[derive(Debug)]
pub struct Obj {
    pub members: &'static [M],
    pub union: Option<Union>,
}

/// Extra members chosen by the value of an enum member (`tag`). A case
/// may itself be a union (QAPI nests them, e.g. `MigrationAddress`).
#[derive(Debug, Clone, Copy)]
pub struct Union {
    pub tag: &'static str,
    pub cases: &'static [(&'static str, &'static Obj)],
    /// Tag values not listed in `cases` accept any further members (the
    /// simulator does not model their options).
    pub open_cases: bool,
}

/// One member of an object.
#[derive(Debug, Clone, Copy)]
pub struct M {
    pub name: &'static str,
    pub ty: Ty,
    pub optional: bool,
}

/// A required member.
pub const fn req(name: &'static str, ty: Ty) -> M {
    M {
        name,
        ty,
        optional: false,
    }
}

/// An optional member.
pub const fn opt(name: &'static str, ty: Ty) -> M {
    M {
        name,
        ty,
        optional: true,
    }
}

/// A plain struct spec.
pub const fn obj(members: &'static [M]) -> Obj {
    Obj {
        members,
        union: None,
    }
}

/// No arguments at all.
pub const NONE: Obj = obj(&[]);

/// Check `args` (the `arguments` member, or an empty object) against `spec`.
pub fn check(spec: &Obj, args: &Map<String, Value>) -> Result<(), QmpError> {
    check_obj(spec, args, "", false)
}

/// Like [`check`], but tolerate members the spec does not name (for
/// `device_add`, whose properties depend on the driver).
pub fn check_open(spec: &Obj, args: &Map<String, Value>) -> Result<(), QmpError> {
    check_obj(spec, args, "", true)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn check_obj(
    spec: &Obj,
    map: &Map<String, Value>,
    prefix: &str,
    open: bool,
) -> Result<(), QmpError> {
    let mut seen: Vec<&str> = Vec::new();
    let open = visit_obj(spec, map, prefix, &mut seen)? || open;
    if !open {
        if let Some(extra) = map.keys().find(|k| !seen.contains(&k.as_str())) {
            return Err(QmpError::generic(format!(
                "Parameter '{}' is unexpected",
                join(prefix, extra)
            )));
        }
    }
    Ok(())
}

/// Visit the members of `spec` and of the union case chosen by its tag.
/// Returns true when an open case means extra members are fine.
fn visit_obj<'a>(
    spec: &'a Obj,
    map: &Map<String, Value>,
    prefix: &str,
    seen: &mut Vec<&'a str>,
) -> Result<bool, QmpError> {
    visit_members(spec.members, map, prefix, seen)?;
    let Some(u) = &spec.union else {
        return Ok(false);
    };
    // The tag is an enum member already checked above (or missing and
    // reported); pick the case that matches its value.
    let tag = map.get(u.tag).and_then(Value::as_str).unwrap_or("");
    match u.cases.iter().find(|(case, _)| *case == tag) {
        Some((_, case)) => visit_obj(case, map, prefix, seen),
        None => Ok(u.open_cases),
    }
}

fn visit_members<'a>(
    members: &'a [M],
    map: &Map<String, Value>,
    prefix: &str,
    seen: &mut Vec<&'a str>,
) -> Result<(), QmpError> {
    for m in members {
        seen.push(m.name);
        match map.get(m.name) {
            None if m.optional => {}
            None => return Err(QmpError::missing(&join(prefix, m.name))),
            Some(v) => check_value(&m.ty, v, &join(prefix, m.name), m.name)?,
        }
    }
    Ok(())
}

/// `full` is the dotted path QEMU uses for most messages; `short` is the
/// bare member name it uses for enum errors (`null` for list elements).
fn check_value(ty: &Ty, v: &Value, full: &str, short: &str) -> Result<(), QmpError> {
    let wrong = |expected: &str| {
        QmpError::generic(format!(
            "Invalid parameter type for '{full}', expected: {expected}"
        ))
    };
    match ty {
        Ty::Any => Ok(()),
        Ty::Str => v.as_str().map(|_| ()).ok_or_else(|| wrong("string")),
        Ty::Bool => v.as_bool().map(|_| ()).ok_or_else(|| wrong("boolean")),
        Ty::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
            _ => Err(wrong("integer")),
        },
        Ty::Num => match v {
            Value::Number(_) => Ok(()),
            _ => Err(wrong("number")),
        },
        Ty::StrOrNull => match v {
            Value::String(_) | Value::Null => Ok(()),
            _ => Err(wrong("StrOrNull")),
        },
        Ty::Enum(values) => {
            let s = v.as_str().ok_or_else(|| wrong("string"))?;
            if values.contains(&s) {
                Ok(())
            } else {
                Err(QmpError::generic(format!(
                    "Parameter '{short}' does not accept value '{s}'"
                )))
            }
        }
        Ty::List(elem) => {
            let items = v.as_array().ok_or_else(|| wrong("array"))?;
            for (i, item) in items.iter().enumerate() {
                check_value(elem, item, &format!("{full}[{i}]"), "null")?;
            }
            Ok(())
        }
        Ty::Obj(spec) => {
            let map = v.as_object().ok_or_else(|| wrong("object"))?;
            check_obj(spec, map, full, false)
        }
    }
}

/// Typed getters for arguments that [`check`] already validated.
pub trait ArgsExt {
    fn str_arg(&self, name: &str) -> Option<&str>;
    fn int_arg(&self, name: &str) -> Option<i64>;
    fn bool_arg(&self, name: &str) -> Option<bool>;
}

impl ArgsExt for Map<String, Value> {
    fn str_arg(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Integers beyond `i64` saturate; QEMU would have taken them as u64.
    fn int_arg(&self, name: &str) -> Option<i64> {
        let v = self.get(name)?;
        v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX))
    }

    fn bool_arg(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: Obj = Obj {
        members: &[req("type", Ty::Enum(&["number", "qcode"]))],
        union: Some(Union {
            tag: "type",
            cases: &[
                ("number", &obj(&[req("data", Ty::Int)])),
                ("qcode", &obj(&[req("data", Ty::Enum(&["a", "b"]))])),
            ],
            open_cases: false,
        }),
    };
    const SEND_KEY: Obj = obj(&[
        req("keys", Ty::List(&Ty::Obj(&KEY))),
        opt("hold-time", Ty::Int),
    ]);

    fn err(spec: &Obj, v: Value) -> String {
        let map = v.as_object().cloned().unwrap_or_default();
        match check(spec, &map) {
            Ok(()) => "ok".into(),
            Err(e) => e.desc,
        }
    }

    #[test]
    fn messages_match_qemu_wording() {
        assert_eq!(
            err(&SEND_KEY, json!({"keys": [{"type": "qcode"}]})),
            "Parameter 'keys[0].data' is missing"
        );
        assert_eq!(
            err(&SEND_KEY, json!({"keys": [{"data": "a"}]})),
            "Parameter 'keys[0].type' is missing"
        );
        assert_eq!(
            err(&SEND_KEY, json!({"keys": "a"})),
            "Invalid parameter type for 'keys', expected: array"
        );
        assert_eq!(
            err(
                &SEND_KEY,
                json!({"keys": [{"type": "qcode", "data": "a", "x": 1}]})
            ),
            "Parameter 'keys[0].x' is unexpected"
        );
        assert_eq!(
            err(
                &SEND_KEY,
                json!({"keys": [{"type": "qcode", "data": "zz"}]})
            ),
            "Parameter 'data' does not accept value 'zz'"
        );
        assert_eq!(
            err(&SEND_KEY, json!({"keys": [{"type": "number", "data": 3}]})),
            "ok"
        );
        assert_eq!(
            err(&SEND_KEY, json!({"keys": [], "hold-time": 1.5})),
            "Invalid parameter type for 'hold-time', expected: integer"
        );
    }

    #[test]
    fn enum_list_elements_are_called_null() {
        const CAPS: Obj = obj(&[opt("enable", Ty::List(&Ty::Enum(&["oob"])))]);
        assert_eq!(
            err(&CAPS, json!({"enable": ["foo"]})),
            "Parameter 'null' does not accept value 'foo'"
        );
    }

    #[test]
    fn missing_wins_over_unexpected() {
        const S: Obj = obj(&[req("up", Ty::Bool)]);
        assert_eq!(err(&S, json!({"x": 1})), "Parameter 'up' is missing");
        assert_eq!(
            err(&S, json!({"up": true, "x": 1})),
            "Parameter 'x' is unexpected"
        );
    }
}
