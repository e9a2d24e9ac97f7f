//! Removable media and display passwords: `change`, `set_password`, `expire_password`.

use super::{refused, single};
use crate::grammar::Entry;
use crate::parse::Args;
use crate::translate::{Plan, QemuFacts, TranslateError};
use serde_json::{json, Map, Value};

/// `change vnc password [PW]` → `change-vnc-password`;
/// `change DEV FILE [FMT [MODE]]` → `blockdev-change-medium`.
pub(super) fn change(
    entry: &Entry,
    args: &Args,
    facts: &QemuFacts,
) -> Result<Plan, TranslateError> {
    let device = args.str("device").unwrap_or_default();
    let target = args.str("target").unwrap_or_default();
    if device == "vnc" {
        // QEMU 7.2 printed these two refusals without the "Error: " prefix.
        let prefix = if facts.version.at_least(8, 0) {
            "Error: "
        } else {
            ""
        };
        if args.get("read-only-mode").is_some() {
            return Err(refused(format!(
                "{prefix}Parameter 'read-only-mode' is invalid for VNC\n"
            )));
        }
        if target != "passwd" && target != "password" {
            return Err(refused(format!(
                "{prefix}Expected 'password' after 'vnc'\n"
            )));
        }
        let Some(password) = args.str("arg") else {
            return Err(refused("terminal does not support password prompting\n"));
        };
        return Ok(single("change-vnc-password", json!({"password": password})));
    }
    let mut arguments = Map::new();
    arguments.insert("device".into(), json!(device));
    arguments.insert("filename".into(), json!(target));
    if let Some(format) = args.str("arg") {
        arguments.insert("format".into(), json!(format));
    }
    // QEMU 5.2's `change` has no -f, nor its QMP command a `force` member.
    if entry.args_type.get(facts.profile()).get("force").is_some() {
        arguments.insert("force".into(), json!(args.flag("force")));
    }
    if let Some(mode) = args.str("read-only-mode") {
        if !matches!(mode, "retain" | "read-only" | "read-write") {
            return Err(refused(format!("Error: invalid parameter value: {mode}\n")));
        }
        arguments.insert("read-only-mode".into(), json!(mode));
    }
    Ok(single("blockdev-change-medium", Value::Object(arguments)))
}

/// `set_password` / `expire_password`: QEMU checks the protocol (and the
/// action when connected) itself, and passes `-d DISPLAY` for VNC only.
pub(super) fn password(args: &Args, command: &str) -> Result<Plan, TranslateError> {
    let protocol = args.str("protocol").unwrap_or_default();
    if !matches!(protocol, "vnc" | "spice") {
        return Err(refused(format!(
            "Error: invalid parameter value: {protocol}\n"
        )));
    }
    let mut out = Map::new();
    out.insert("protocol".into(), json!(protocol));
    if command == "set_password" {
        out.insert("password".into(), json!(args.str("password")));
        if let Some(connected) = args.str("connected") {
            if !matches!(connected, "keep" | "disconnect" | "fail") {
                return Err(refused(format!(
                    "Error: invalid parameter value: {connected}\n"
                )));
            }
            out.insert("connected".into(), json!(connected));
        }
    } else {
        out.insert("time".into(), json!(args.str("time")));
    }
    if let (Some(display), "vnc") = (args.str("display"), protocol) {
        out.insert("display".into(), json!(display));
    }
    Ok(single(command, Value::Object(out)))
}
