//! A small checker for values against QEMU's `query-qmp-schema`
//! (`SchemaInfo` entities): member names known, types right, required
//! members present, union variants followed. Also compares the
//! simulator's argument specs with the schema's argument types.
//!
//! Type names in the schema are meaningless numbers; everything is
//! resolved through the entity graph, never by name.

use super::args::{Obj, Ty};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

pub struct Schema {
    entities: HashMap<String, Value>,
}

/// One member of an object type, variants included.
struct Member<'a> {
    name: &'a str,
    ty: &'a str,
    optional: bool,
}

impl Schema {
    /// From the `return` of `query-qmp-schema`.
    pub fn from_json(v: &Value) -> Result<Schema, String> {
        let list = v.as_array().ok_or("schema is not a JSON array")?;
        let mut entities = HashMap::new();
        for e in list {
            let name = e
                .get("name")
                .and_then(Value::as_str)
                .ok_or("schema entity without a name")?;
            entities.insert(name.to_string(), e.clone());
        }
        Ok(Schema { entities })
    }

    fn entity(&self, name: &str) -> Option<&Value> {
        self.entities.get(name)
    }

    fn meta(&self, name: &str) -> &str {
        self.entity(name)
            .and_then(|e| e.get("meta-type"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn field<'a>(&'a self, entity: &str, key: &str) -> Option<&'a str> {
        self.entity(entity)?.get(key)?.as_str()
    }

    /// Names of all commands.
    pub fn commands(&self) -> BTreeSet<&str> {
        self.entities
            .iter()
            .filter(|(_, e)| e.get("meta-type").and_then(Value::as_str) == Some("command"))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    pub fn has_command(&self, name: &str) -> bool {
        self.meta(name) == "command"
    }

    pub fn allows_oob(&self, command: &str) -> bool {
        self.entity(command)
            .and_then(|e| e.get("allow-oob"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Problems with `value` as the return of `command`.
    pub fn check_return(&self, command: &str, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        match self.field(command, "ret-type") {
            Some(ty) if self.meta(command) == "command" => {
                self.check(ty, value, command, &mut problems)
            }
            _ => problems.push(format!("{command}: not a command in the schema")),
        }
        problems
    }

    /// Problems with the `data` of an event (`None` when it has none).
    pub fn check_event(&self, event: &str, data: Option<&Value>) -> Vec<String> {
        let mut problems = Vec::new();
        if self.meta(event) != "event" {
            problems.push(format!("{event}: not an event in the schema"));
            return problems;
        }
        match (self.field(event, "arg-type"), data) {
            (Some(ty), Some(d)) => self.check(ty, d, event, &mut problems),
            (Some(ty), None) => {
                if !self.members(ty, &Map::new()).iter().all(|m| m.optional) {
                    problems.push(format!("{event}: data missing"));
                }
            }
            (None, Some(_)) => problems.push(format!("{event}: has data but the schema has none")),
            (None, None) => {}
        }
        problems
    }

    /// Members of an object type for a given value (variants chosen by
    /// the tag value in `obj`).
    fn members<'a>(&'a self, ty: &str, obj: &Map<String, Value>) -> Vec<Member<'a>> {
        let Some(e) = self.entity(ty) else {
            return Vec::new();
        };
        let mut out: Vec<Member<'a>> = e
            .get("members")
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| {
                        Some(Member {
                            name: m.get("name")?.as_str()?,
                            ty: m.get("type")?.as_str()?,
                            optional: m.get("default").is_some(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tag = e.get("tag").and_then(Value::as_str);
        let tag_value = tag.and_then(|t| obj.get(t)).and_then(Value::as_str);
        let variant = e
            .get("variants")
            .and_then(Value::as_array)
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v.get("case").and_then(Value::as_str) == tag_value)
            })
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str);
        if let Some(vt) = variant {
            out.extend(self.members(vt, obj));
        }
        out
    }

    /// Check `v` against type `ty`; `path` names the place for messages.
    pub fn check(&self, ty: &str, v: &Value, path: &str, problems: &mut Vec<String>) {
        let Some(e) = self.entity(ty) else {
            problems.push(format!("{path}: unknown schema type {ty}"));
            return;
        };
        let mut wrong = |what: &str| problems.push(format!("{path}: expected {what}, got {v}"));
        match self.meta(ty) {
            "builtin" => {
                let ok = match e.get("json-type").and_then(Value::as_str).unwrap_or("") {
                    "string" => v.is_string(),
                    "int" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    _ => true,
                };
                if !ok {
                    wrong(ty);
                }
            }
            "enum" => {
                let values = e.get("values").and_then(Value::as_array);
                let ok = v.is_string() && values.is_some_and(|vs| vs.contains(v));
                if !ok {
                    wrong("a value of an enum");
                }
            }
            "array" => match (v.as_array(), self.field(ty, "element-type")) {
                (Some(items), Some(elem)) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(elem, item, &format!("{path}[{i}]"), problems);
                    }
                }
                _ => wrong("an array"),
            },
            "alternate" => {
                let alts = e
                    .get("members")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let fits = alts
                    .iter()
                    .filter_map(|m| m.get("type")?.as_str())
                    .any(|t| {
                        let mut p = Vec::new();
                        self.check(t, v, path, &mut p);
                        p.is_empty()
                    });
                if !fits {
                    wrong("one of an alternate's types");
                }
            }
            "object" => match v.as_object() {
                Some(obj) => self.check_object(ty, obj, path, problems),
                None => wrong("an object"),
            },
            other => problems.push(format!("{path}: cannot check meta-type {other}")),
        }
    }

    fn check_object(
        &self,
        ty: &str,
        obj: &Map<String, Value>,
        path: &str,
        problems: &mut Vec<String>,
    ) {
        let members = self.members(ty, obj);
        for m in &members {
            match obj.get(m.name) {
                Some(val) => self.check(m.ty, val, &format!("{path}.{}", m.name), problems),
                None if m.optional => {}
                None => problems.push(format!("{path}: required member '{}' missing", m.name)),
            }
        }
        for key in obj.keys() {
            if !members.iter().any(|m| m.name == key) {
                problems.push(format!("{path}: unknown member '{key}'"));
            }
        }
    }

    /// Compare a simulator argument spec with the command's `arg-type`.
    pub fn check_arg_spec(&self, command: &str, spec: &Obj, open: bool) -> Vec<String> {
        let mut problems = Vec::new();
        match self.field(command, "arg-type") {
            Some(ty) => self.compare_obj(ty, spec, command, open, &mut problems),
            None => problems.push(format!("{command}: no arg-type in the schema")),
        }
        problems
    }

    fn compare_obj(
        &self,
        ty: &str,
        spec: &Obj,
        path: &str,
        open: bool,
        problems: &mut Vec<String>,
    ) {
        let Some(e) = self.entity(ty) else {
            problems.push(format!("{path}: unknown schema type {ty}"));
            return;
        };
        let plain = self.members(ty, &Map::new());
        for m in &plain {
            match spec.members.iter().find(|s| s.name == m.name) {
                None => problems.push(format!("{path}: spec lacks member '{}'", m.name)),
                Some(s) => {
                    if s.optional != m.optional {
                        problems.push(format!(
                            "{path}.{}: optional is {} in the spec",
                            m.name, s.optional
                        ));
                    }
                    self.compare_ty(m.ty, &s.ty, &format!("{path}.{}", m.name), problems);
                }
            }
        }
        for s in spec.members {
            if !plain.iter().any(|m| m.name == s.name) {
                problems.push(format!(
                    "{path}: spec member '{}' is not in the schema",
                    s.name
                ));
            }
        }
        let tag = e.get("tag").and_then(Value::as_str);
        match (&spec.union, tag) {
            (None, None) => {}
            (Some(u), Some(t)) if u.tag == t => {
                let variants = e
                    .get("variants")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for v in &variants {
                    let case = v.get("case").and_then(Value::as_str).unwrap_or("");
                    let vt = v.get("type").and_then(Value::as_str).unwrap_or("");
                    match u.cases.iter().find(|(c, _)| *c == case) {
                        Some((_, case_spec)) => self.compare_obj(
                            vt,
                            case_spec,
                            &format!("{path}[{case}]"),
                            false,
                            problems,
                        ),
                        None if u.open_cases => {}
                        None if self.members(vt, &Map::new()).is_empty() => {}
                        None => problems.push(format!("{path}: spec lacks union case '{case}'")),
                    }
                }
            }
            _ if open => {}
            _ => problems.push(format!("{path}: union tags differ (spec vs schema)")),
        }
    }

    fn compare_ty(&self, ty: &str, spec: &Ty, path: &str, problems: &mut Vec<String>) {
        let json_type = self.field(ty, "json-type").unwrap_or("");
        let ok = match (self.meta(ty), spec) {
            ("builtin", Ty::Str) => json_type == "string",
            ("builtin", Ty::Int) => json_type == "int",
            ("builtin", Ty::Bool) => json_type == "boolean",
            ("builtin", Ty::Num) => json_type == "number",
            ("builtin", Ty::Any) => json_type == "value",
            ("enum", Ty::Enum(values)) => {
                let schema: BTreeSet<&str> = self
                    .entity(ty)
                    .and_then(|e| e.get("values"))
                    .and_then(Value::as_array)
                    .map(|vs| vs.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                schema == values.iter().copied().collect::<BTreeSet<&str>>()
            }
            ("array", Ty::List(elem)) => {
                if let Some(et) = self.field(ty, "element-type") {
                    self.compare_ty(et, elem, &format!("{path}[]"), problems);
                }
                true
            }
            ("object", Ty::Obj(o)) => {
                self.compare_obj(ty, o, path, false, problems);
                true
            }
            ("alternate", Ty::StrOrNull) => {
                let kinds: BTreeSet<&str> = self
                    .entity(ty)
                    .and_then(|e| e.get("members"))
                    .and_then(Value::as_array)
                    .map(|ms| {
                        ms.iter()
                            .filter_map(|m| m.get("type")?.as_str())
                            .map(|t| self.field(t, "json-type").unwrap_or(""))
                            .collect()
                    })
                    .unwrap_or_default();
                kinds == ["null", "string"].into_iter().collect()
            }
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "{path}: spec type {spec:?} does not match schema type {ty}"
            ));
        }
    }
}
