//! Option strings that become typed QMP arguments: `device_add`, `netdev_add`,
//! `object_add`, `qom-set`, `chardev-add`/`chardev-change`.

use super::single;
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
    let options = args.option_items().to_vec();
    let typing = if command == "device_add" {
        Typing::DeviceProperties {
            driver: kind.to_string(),
            options,
        }
    } else {
        Typing::Schema {
            command: command.to_string(),
            options,
        }
    };
    Some(Plan::Qmp(vec![
        QmpRequest::new(command, Some(arguments)).with_typing(typing)
    ]))
}

/// True when an option list asks for a help listing (`help`, `TYPE,help`,
/// `?`), which QEMU prints from its own tables.
fn asks_for_help(options: &[(String, String)]) -> bool {
    options
        .iter()
        .any(|(k, v)| matches!(k.as_str(), "help" | "?") || matches!(v.as_str(), "help" | "?"))
}

/// `object_add TYPE,id=ID,…` (or `qom-type=TYPE,…`) → `object-add`; help
/// listings and option strings QEMU refuses go to its own HMP.
pub(super) fn object_add(args: &Args, passthrough: impl Fn() -> Plan) -> Plan {
    let text = args.str("object").unwrap_or_default();
    let Ok(options) = parse::parse_option_items(text, Some("qom-type")) else {
        return passthrough();
    };
    if asks_for_help(&options) {
        return passthrough();
    }
    let arguments: Map<String, Value> = options
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Plan::Qmp(vec![QmpRequest::new(
        "object-add",
        Some(Value::Object(arguments)),
    )
    .with_typing(Typing::Schema {
        command: "object-add".into(),
        options,
    })])
}

/// `qom-set -j PATH PROP JSON` → `qom-set`; without `-j` QEMU parses the
/// value with the property's own string parser, which only HMP can do.
pub(super) fn qom_set(args: &Args, passthrough: impl Fn() -> Plan) -> Result<Plan, TranslateError> {
    if !args.flag("json") {
        return Ok(passthrough());
    }
    let text = args.str("value").unwrap_or_default();
    // QEMU's JSON parser has its own extensions and error texts (and refuses
    // NUL in strings): what serde does not read plainly is QEMU's to judge.
    let value: Value = match serde_json::from_str(text) {
        Ok(value) if !text.contains("\\u0000") => value,
        _ => return Ok(passthrough()),
    };
    Ok(single(
        "qom-set",
        json!({"path": args.str("path"), "property": args.str("property"), "value": value}),
    ))
}

/// `chardev-add ARGS` / `chardev-change ID ARGS` → `chardev-add` /
/// `chardev-change` with a typed backend, when the options map cleanly.
pub(super) fn chardev(
    args: &Args,
    command: &str,
    passthrough: impl Fn() -> Plan,
) -> Result<Plan, TranslateError> {
    let text = args.str("args").unwrap_or_default();
    let Ok(options) = parse::parse_option_string(text, Some("backend")) else {
        return Ok(passthrough());
    };
    let id = match args.str("id") {
        Some(id) => Some(id.to_string()),
        None => options
            .iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.clone()),
    };
    // A pty's path is announced by QEMU's HMP as a line of its own.
    let pty = options.iter().any(|(k, v)| k == "backend" && v == "pty");
    if pty || asks_for_help(&options) {
        return Ok(passthrough());
    }
    let (Some(id), Some(backend)) = (id, crate::translate::chardev::backend(&options)) else {
        return Ok(passthrough());
    };
    Ok(single(command, json!({"id": id, "backend": backend})))
}
