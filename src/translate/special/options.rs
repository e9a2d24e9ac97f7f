//! Option strings that become typed QMP arguments: `device_add`, `netdev_add`,
//! `object_add`, `qom-set`, `chardev-add`/`chardev-change`.

use super::single;
use crate::grammar::Entry;
use crate::parse::{self, Args};
use crate::translate::typing::Typing;
use crate::translate::{Plan, QmpRequest, TranslateError};
use serde_json::{json, Map, Value};

/// `device_add` / `netdev_add`: the option string's entries become the
/// arguments, typed later against the live QEMU. `help` listings have no QMP
/// form, so they return `None` (passthrough).
pub(super) fn option_command(args: &Args, command: &str, implied: &str) -> Option<Plan> {
    let kind = args.str(implied)?;
    if kind == "help"
        || kind == "?"
        || args
            .iter()
            .any(|(_, v)| matches!(v.as_str(), Some("help" | "?")))
    {
        return None;
    }
    let arguments = Value::Object(args.to_json());
    let typing = if command == "device_add" {
        Typing::DeviceProperties {
            driver: kind.to_string(),
        }
    } else {
        Typing::Schema {
            command: command.to_string(),
        }
    };
    Some(Plan::Qmp(vec![
        QmpRequest::new(command, Some(arguments)).with_typing(typing)
    ]))
}

/// `object_add TYPE,id=ID,…` (or `qom-type=TYPE,…`) → `object-add`.
pub(super) fn object_add(entry: &Entry, args: &Args) -> Result<Plan, TranslateError> {
    let text = args.str("object").unwrap_or_default();
    let options = parse::parse_option_string(text, Some("qom-type")).map_err(|message| {
        TranslateError::BadArgument {
            command: entry.primary_name().to_string(),
            message,
        }
    })?;
    let arguments: Map<String, Value> = options
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(Plan::Qmp(vec![QmpRequest::new(
        "object-add",
        Some(Value::Object(arguments)),
    )
    .with_typing(Typing::Schema {
        command: "object-add".into(),
    })]))
}

/// `qom-set -j PATH PROP JSON` → `qom-set`; without `-j` QEMU parses the
/// value with the property's own string parser, which only HMP can do.
pub(super) fn qom_set(
    entry: &Entry,
    args: &Args,
    passthrough: impl Fn() -> Plan,
) -> Result<Plan, TranslateError> {
    if !args.flag("json") {
        return Ok(passthrough());
    }
    let text = args.str("value").unwrap_or_default();
    let value: Value = serde_json::from_str(text).map_err(|e| TranslateError::BadArgument {
        command: entry.primary_name().to_string(),
        message: format!("value is not JSON: {e}"),
    })?;
    Ok(single(
        "qom-set",
        json!({"path": args.str("path"), "property": args.str("property"), "value": value}),
    ))
}

/// `chardev-add ARGS` / `chardev-change ID ARGS` → `chardev-add` /
/// `chardev-change` with a typed backend, when the options map cleanly.
pub(super) fn chardev(
    entry: &Entry,
    args: &Args,
    command: &str,
    passthrough: impl Fn() -> Plan,
) -> Result<Plan, TranslateError> {
    let text = args.str("args").unwrap_or_default();
    let options = parse::parse_option_string(text, Some("backend")).map_err(|message| {
        TranslateError::BadArgument {
            command: entry.primary_name().to_string(),
            message,
        }
    })?;
    let id = match args.str("id") {
        Some(id) => Some(id.to_string()),
        None => options
            .iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.clone()),
    };
    let (Some(id), Some(backend)) = (id, crate::translate::chardev::backend(&options)) else {
        return Ok(passthrough());
    };
    Ok(single(command, json!({"id": id, "backend": backend})))
}
