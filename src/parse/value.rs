//! Typed argument values, keyed by their `args_type` names.

use serde_json::{Map, Value};

/// One parsed argument.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    /// `s F B S`, and `-Xs` flag values.
    Str(String),
    /// `i l M o` (sizes in bytes), and the `/` format's `count` and `size`.
    Int(i64),
    /// `b`, and `-X` flags (always `true` when present).
    Bool(bool),
    /// `T`: seconds.
    Float(f64),
    /// An integer expression that reads a register or monitor variable
    /// (`$pc`): only the VM can evaluate it. Holds the expression text.
    NeedsVm(String),
}

impl ArgValue {
    /// The value as JSON, for QMP argument templates.
    pub fn to_json(&self) -> Value {
        match self {
            ArgValue::Str(s) | ArgValue::NeedsVm(s) => Value::String(s.clone()),
            ArgValue::Int(i) => Value::from(*i),
            ArgValue::Bool(b) => Value::Bool(*b),
            ArgValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            ArgValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            ArgValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Parsed arguments in the order they were parsed; absent optional
/// arguments are simply not present (as in QEMU's QDict).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Args {
    entries: Vec<(String, ArgValue)>,
    /// An `O` argument's items in order (a repeated key once, last value).
    option_items: Vec<(String, String)>,
}

impl Args {
    pub fn new() -> Self {
        Args::default()
    }

    /// Sets `key`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: ArgValue) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&ArgValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(ArgValue::as_str)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(ArgValue::as_int)
    }

    /// True when a flag was given.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(ArgValue::Bool(true)))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ArgValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records an `O` argument's items in order.
    pub fn set_option_items(&mut self, items: Vec<(String, String)>) {
        self.option_items = items;
    }

    /// An `O` argument's items in order.
    pub fn option_items(&self) -> &[(String, String)] {
        &self.option_items
    }

    /// True when some argument can only be evaluated by the VM.
    pub fn needs_vm(&self) -> bool {
        self.entries
            .iter()
            .any(|(_, v)| matches!(v, ArgValue::NeedsVm(_)))
    }

    /// All arguments as a JSON object.
    pub fn to_json(&self) -> Map<String, Value> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect()
    }
}
