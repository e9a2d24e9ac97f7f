//! Translations no argument template can express; each mirrors what QEMU's
//! own HMP handler sends.

use super::typing::Typing;
use super::{Plan, QemuFacts, QmpRequest, TranslateError};
use crate::grammar::Entry;
use crate::parse::{self, Args};
use serde_json::{json, Map, Value};

/// Special translations that need `query-qmp-schema` to type their values.
pub fn needs_schema(name: &str) -> bool {
    matches!(name, "object_add" | "netdev_add" | "migrate_set_parameter")
}

/// Every routine a grammar entry may name with `qmp: special NAME`.
pub const ROUTINES: &[&str] = &[
    "announce_self",
    "block_set_io_throttle",
    "calc_dirty_rate",
    "change",
    "chardev_add",
    "chardev_change",
    "device_add",
    "dump_guest_memory",
    "expire_password",
    "memsave",
    "migrate",
    "migrate_set_parameter",
    "mouse_button",
    "mouse_move",
    "nbd_server_start",
    "netdev_add",
    "object_add",
    "qom_list",
    "qom_set",
    "qom_tree",
    "sendkey",
    "set_password",
];

pub fn translate(
    name: &str,
    entry: &Entry,
    args: &Args,
    line: &str,
    facts: &QemuFacts,
) -> Result<Plan, TranslateError> {
    let passthrough = || Plan::Hmp {
        command_line: line.trim_start().to_string(),
    };
    match name {
        "qom_tree" => Ok(walk(
            name,
            vec![QmpRequest::new(
                "qom-list",
                Some(json!({"path": args.str("path").unwrap_or("/machine")})),
            )],
        )),
        "qom_list" => Ok(match args.str("path") {
            // QEMU answers a bare `qom-list` with the root path itself.
            None => Plan::Qmp(Vec::new()),
            Some(path) => single("qom-list", json!({"path": path})),
        }),
        "memsave" => Ok(walk(
            name,
            vec![QmpRequest::new("memsave", Some(memsave_args(args, 0)))],
        )),
        "announce_self" => Ok(walk(
            name,
            vec![QmpRequest::new(
                "announce-self",
                Some(announce_args(args, None)),
            )],
        )),
        "block_set_io_throttle" => Ok(walk(
            name,
            vec![QmpRequest::new(
                "block_set_io_throttle",
                Some(throttle_args(args, "device")),
            )],
        )),
        "calc_dirty_rate" => calc_dirty_rate(args),
        "set_password" => password(args, "set_password"),
        "expire_password" => password(args, "expire_password"),
        "dump_guest_memory" => dump_guest_memory(args),
        "change" => change(args, facts),
        "sendkey" => sendkey(args),
        "mouse_move" => Ok(mouse_move(args)),
        "mouse_button" => Ok(mouse_button(args)),
        "device_add" => {
            Ok(option_command(args, "device_add", "driver").unwrap_or_else(passthrough))
        }
        "netdev_add" => Ok(option_command(args, "netdev_add", "type").unwrap_or_else(passthrough)),
        "object_add" => object_add(entry, args),
        "qom_set" => qom_set(entry, args, passthrough),
        "migrate" => Ok(migrate(args)),
        "migrate_set_parameter" => migrate_set_parameter(entry, args),
        "nbd_server_start" => nbd_server_start(entry, args, passthrough),
        "chardev_add" => chardev(entry, args, "chardev-add", passthrough),
        "chardev_change" => chardev(entry, args, "chardev-change", passthrough),
        _ => Err(TranslateError::UnknownSpecial {
            command: entry.name.clone(),
            name: name.to_string(),
        }),
    }
}

fn walk(routine: &str, assumed: Vec<QmpRequest>) -> Plan {
    Plan::Walk {
        routine: routine.to_string(),
        assumed,
    }
}

/// `memsave ADDR SIZE FILE` for the monitor's current CPU.
pub fn memsave_args(args: &Args, cpu_index: i64) -> Value {
    json!({"val": args.int("val"), "size": args.int("size"), "filename": args.str("filename"), "cpu-index": cpu_index})
}

/// QEMU's own announce parameters when none are known (its defaults).
const ANNOUNCE_DEFAULTS: [(&str, i64); 4] =
    [("initial", 50), ("max", 550), ("rounds", 5), ("step", 100)];

/// `announce_self [interfaces] [id]`: the timing comes from the migration
/// parameters (`query-migrate-parameters`, `announce-*`), as in QEMU.
pub fn announce_args(args: &Args, params: Option<&Value>) -> Value {
    let mut out = Map::new();
    for (key, default) in ANNOUNCE_DEFAULTS {
        let value = params
            .and_then(|p| p.get(format!("announce-{key}")))
            .and_then(Value::as_i64)
            .unwrap_or(default);
        out.insert(key.into(), json!(value));
    }
    if let Some(list) = args.str("interfaces") {
        let names: Vec<&str> = list.split(',').collect();
        out.insert("interfaces".into(), json!(names));
    }
    if let Some(id) = args.str("id") {
        out.insert("id".into(), json!(id));
    }
    Value::Object(out)
}

/// `block_set_io_throttle NAME …` addressed as `device` (a BlockBackend
/// name) or `id` (a qdev id), as QEMU decides by looking the name up.
pub fn throttle_args(args: &Args, key: &str) -> Value {
    let mut out = Map::new();
    out.insert(key.into(), json!(args.str("device")));
    for limit in ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"] {
        out.insert(limit.into(), json!(args.int(limit).unwrap_or(0)));
    }
    Value::Object(out)
}

/// `set_password` / `expire_password`: QEMU checks the protocol (and the
/// action when connected) itself, and passes `-d DISPLAY` for VNC only.
fn password(args: &Args, command: &str) -> Result<Plan, TranslateError> {
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

fn calc_dirty_rate(args: &Args) -> Result<Plan, TranslateError> {
    let seconds = args.int("second").unwrap_or(0);
    if seconds == 0 {
        return Err(refused("Incorrect period length specified!\n"));
    }
    let (ring, bitmap) = (args.flag("dirty_ring"), args.flag("dirty_bitmap"));
    if ring && bitmap {
        return Err(refused(
            "Either dirty ring or dirty bitmap can be specified!\n",
        ));
    }
    let mode = if bitmap {
        "dirty-bitmap"
    } else if ring {
        "dirty-ring"
    } else {
        "page-sampling"
    };
    let mut out = json!({"calc-time": seconds, "mode": mode});
    if let Some(pages) = args.int("sample_pages_per_GB").filter(|p| *p != -1) {
        out["sample-pages"] = json!(pages);
    }
    Ok(single("calc-dirty-rate", out))
}

fn dump_guest_memory(args: &Args) -> Result<Plan, TranslateError> {
    let chosen: Vec<&str> = [
        ("zlib", "kdump-zlib"),
        ("lzo", "kdump-lzo"),
        ("snappy", "kdump-snappy"),
        ("windmp", "win-dmp"),
    ]
    .iter()
    .filter(|(flag, _)| args.flag(flag))
    .map(|(_, format)| *format)
    .collect();
    if chosen.len() > 1 {
        return Err(refused("Error: only one of '-z|-l|-s|-w' can be set\n"));
    }
    let mut format = chosen.first().copied().unwrap_or("elf").to_string();
    if args.flag("raw") && format.starts_with("kdump-") {
        format = format.replacen("kdump-", "kdump-raw-", 1);
    }
    let mut out = json!({
        "paging": args.flag("paging"),
        "protocol": format!("file:{}", args.str("filename").unwrap_or_default()),
        "detach": args.flag("detach"),
        "format": format,
    });
    if let Some(begin) = args.int("begin") {
        out["begin"] = json!(begin);
    }
    if let Some(length) = args.int("length") {
        out["length"] = json!(length);
    }
    Ok(single("dump-guest-memory", out))
}

fn single(execute: &str, arguments: Value) -> Plan {
    Plan::Qmp(vec![QmpRequest::new(execute, Some(arguments))])
}

fn refused(text: impl Into<String>) -> TranslateError {
    TranslateError::Refused {
        hmp_text: text.into(),
    }
}

/// `change vnc password [PW]` → `change-vnc-password`;
/// `change DEV FILE [FMT [MODE]]` → `blockdev-change-medium`.
fn change(args: &Args, facts: &QemuFacts) -> Result<Plan, TranslateError> {
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
    arguments.insert("force".into(), json!(args.flag("force")));
    if let Some(mode) = args.str("read-only-mode") {
        if !matches!(mode, "retain" | "read-only" | "read-write") {
            return Err(refused(format!("Error: invalid parameter value: {mode}\n")));
        }
        arguments.insert("read-only-mode".into(), json!(mode));
    }
    Ok(single("blockdev-change-medium", Value::Object(arguments)))
}

/// `sendkey ctrl-alt-delete [hold-ms]` → `send-key` with qcodes; `0x…` keys
/// are numbers and `<` means `less`, as in QEMU.
fn sendkey(args: &Args) -> Result<Plan, TranslateError> {
    let keys = args.str("keys").unwrap_or_default();
    let mut list = Vec::new();
    for name in keys.split('-') {
        let name = if name == "<" { "less" } else { name };
        if let Some(hex) = name.strip_prefix("0x") {
            match i32::from_str_radix(hex, 16) {
                Ok(n) => list.push(json!({"type": "number", "data": n})),
                Err(_) => return Err(refused(format!("invalid parameter: {name}\n"))),
            }
        } else if super::qcodes::is_qcode(name) {
            list.push(json!({"type": "qcode", "data": name}));
        } else {
            return Err(refused(format!("invalid parameter: {name}\n")));
        }
    }
    let mut arguments = json!({"keys": list});
    if let Some(hold) = args.int("hold-time") {
        arguments["hold-time"] = json!(hold);
    }
    Ok(single("send-key", arguments))
}

/// Like C's `strtol(s, NULL, 0)`: the longest valid prefix, 0 when none.
fn c_strtol(text: &str) -> i64 {
    let t = text.trim_start();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, hex)
    } else if t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let value = i64::from_str_radix(&digits[..end], radix).unwrap_or(0);
    if negative {
        -value
    } else {
        value
    }
}

/// `mouse_move dx dy [dz]` → relative motion, then a wheel click for `dz`.
fn mouse_move(args: &Args) -> Plan {
    let dx = c_strtol(args.str("dx_str").unwrap_or_default());
    let dy = c_strtol(args.str("dy_str").unwrap_or_default());
    let mut events = vec![
        json!({"type": "rel", "data": {"axis": "x", "value": dx}}),
        json!({"type": "rel", "data": {"axis": "y", "value": dy}}),
    ];
    let dz = args.str("dz_str").map(c_strtol).unwrap_or(0);
    if dz == 0 {
        return single("input-send-event", json!({"events": events}));
    }
    let button = if dz > 0 { "wheel-up" } else { "wheel-down" };
    events.push(json!({"type": "btn", "data": {"down": true, "button": button}}));
    Plan::Qmp(vec![
        QmpRequest::new("input-send-event", Some(json!({"events": events}))),
        QmpRequest::new(
            "input-send-event",
            Some(json!({"events": [{"type": "btn", "data": {"down": false, "button": button}}]})),
        ),
    ])
}

/// `mouse_button STATE` (1 = left, 2 = right, 4 = middle) → button events.
fn mouse_button(args: &Args) -> Plan {
    let state = args.int("button_state").unwrap_or(0);
    let events: Vec<Value> = [("left", 1), ("middle", 4), ("right", 2)]
        .iter()
        .map(|(button, bit)| json!({"type": "btn", "data": {"down": state & bit != 0, "button": button}}))
        .collect();
    single("input-send-event", json!({"events": events}))
}

/// `device_add` / `netdev_add`: the option string's entries become the
/// arguments, typed later against the live QEMU. `help` listings have no QMP
/// form, so they return `None` (passthrough).
fn option_command(args: &Args, command: &str, implied: &str) -> Option<Plan> {
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
fn object_add(entry: &Entry, args: &Args) -> Result<Plan, TranslateError> {
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
fn qom_set(
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

/// `migrate [-d] [-r] URI` → `migrate`. qhmp never blocks the prompt on a
/// migration: progress is visible with `info migrate` (as with `-d`).
fn migrate(args: &Args) -> Plan {
    let mut arguments = Map::new();
    arguments.insert("uri".into(), json!(args.str("uri")));
    for member in ["blk", "inc"] {
        if args.flag(member) {
            arguments.insert(member.into(), json!(true));
        }
    }
    arguments.insert("resume".into(), json!(args.flag("resume")));
    single("migrate", Value::Object(arguments))
}

/// `migrate_set_parameter NAME VALUE` → `migrate-set-parameters {NAME: VALUE}`
/// with VALUE typed as HMP's handler types it: bandwidths are sizes in MiB by
/// default, a few parameters are strings or booleans, the rest integers.
fn migrate_set_parameter(entry: &Entry, args: &Args) -> Result<Plan, TranslateError> {
    let name = args.str("parameter").unwrap_or_default();
    let text = args.str("value").unwrap_or_default().trim_end();
    let bad = |what: &str| TranslateError::BadArgument {
        command: entry.primary_name().to_string(),
        message: format!("'{text}' is not {what} for parameter '{name}'"),
    };
    let value = match name {
        "tls-creds"
        | "tls-hostname"
        | "tls-authz"
        | "multifd-compression"
        | "zero-page-detection"
        | "mode" => json!(text),
        "cpu-throttle-tailslow" | "direct-io" | "block-incremental" | "compress-wait-thread" => {
            json!(super::typing::parse_bool(text).ok_or_else(|| bad("on or off"))?)
        }
        "max-bandwidth" | "max-postcopy-bandwidth" | "avail-switchover-bandwidth" => {
            let bytes = match text.parse::<i64>() {
                Ok(mib) => mib.checked_mul(1 << 20).ok_or_else(|| bad("a size"))?,
                Err(_) => super::typing::parse_integer(text).ok_or_else(|| bad("a size"))?,
            };
            json!(bytes)
        }
        _ => json!(super::typing::parse_integer(text).ok_or_else(|| bad("a number"))?),
    };
    let mut arguments = Map::new();
    arguments.insert(name.to_string(), value);
    Ok(single("migrate-set-parameters", Value::Object(arguments)))
}

/// `nbd_server_start [-w] HOST:PORT` → `nbd-server-start`. With `-a` QEMU
/// also exports every inserted device, which HMP does itself.
fn nbd_server_start(
    entry: &Entry,
    args: &Args,
    passthrough: impl Fn() -> Plan,
) -> Result<Plan, TranslateError> {
    if args.flag("writable") && !args.flag("all") {
        return Err(refused("Error: -w only valid together with -a\n"));
    }
    let _ = &passthrough;
    let start = nbd_start_args(args).map_err(|message| TranslateError::BadArgument {
        command: entry.primary_name().to_string(),
        message,
    })?;
    let start = QmpRequest::new("nbd-server-start", Some(start));
    if args.flag("all") {
        // Every inserted drive is exported too, which needs `query-block`.
        return Ok(walk("nbd_server_start_all", vec![start]));
    }
    Ok(Plan::Qmp(vec![start]))
}

/// `chardev-add ARGS` / `chardev-change ID ARGS` → `chardev-add` /
/// `chardev-change` with a typed backend, when the options map cleanly.
fn chardev(
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
    let (Some(id), Some(backend)) = (id, super::chardev::backend(&options)) else {
        return Ok(passthrough());
    };
    Ok(single(command, json!({"id": id, "backend": backend})))
}

/// The `nbd-server-start` arguments for an HMP address: `unix:PATH`,
/// `fd:NAME`, `vsock:CID:PORT`, `tcp:HOST:PORT` or plain `HOST:PORT`.
pub fn nbd_start_args(args: &Args) -> Result<Value, String> {
    let uri = args.str("uri").unwrap_or_default();
    let addr = if let Some(path) = uri.strip_prefix("unix:") {
        json!({"type": "unix", "data": {"path": path}})
    } else if let Some(name) = uri.strip_prefix("fd:") {
        json!({"type": "fd", "data": {"str": name}})
    } else if let Some((cid, port)) = uri.strip_prefix("vsock:").and_then(|r| r.split_once(':')) {
        json!({"type": "vsock", "data": {"cid": cid, "port": port}})
    } else {
        let inet = uri.strip_prefix("tcp:").unwrap_or(uri);
        let (host, port) = inet
            .rsplit_once(':')
            .ok_or_else(|| format!("error parsing address '{uri}'"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        json!({"type": "inet", "data": {"host": host, "port": port}})
    };
    Ok(json!({"addr": addr}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_takes_the_valid_prefix() {
        assert_eq!(c_strtol("10"), 10);
        assert_eq!(c_strtol("-5"), -5);
        assert_eq!(c_strtol("0x1f"), 31);
        assert_eq!(c_strtol("010"), 8);
        assert_eq!(c_strtol("12abc"), 12);
        assert_eq!(c_strtol("abc"), 0);
    }
}
