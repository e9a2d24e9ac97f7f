//! Translations no argument template can express; each mirrors what QEMU's
//! own HMP handler sends. One submodule per family of commands.

use super::{Plan, QemuFacts, QmpRequest, TranslateError};
use crate::grammar::Entry;
use crate::parse::Args;
use serde_json::{json, Value};

mod input;
mod machine;
mod media;
mod migration;
mod options;

pub use machine::{announce_args, memsave_args, nbd_start_args, throttle_args};

use input::{mouse_button, mouse_move, sendkey};
use machine::{calc_dirty_rate, dump_guest_memory, nbd_server_start};
use media::{change, password};
use migration::{migrate, migrate_set_parameter};
use options::{chardev, object_add, option_command, qom_set};

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
    "info_block",
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
        // QEMU reads the named nodes only for -n or a device name that is not
        // a drive; asking always would double the command's cost.
        "info_block" => {
            let mut calls = vec![QmpRequest::new("query-block", None)];
            if args.flag("nodes") || args.get("device").is_some() {
                calls.push(QmpRequest::new("query-named-block-nodes", None));
            }
            Ok(Plan::Qmp(calls))
        }
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
        "change" => change(entry, args, facts),
        "sendkey" => sendkey(args),
        "mouse_move" => Ok(mouse_move(args)),
        "mouse_button" => Ok(mouse_button(args)),
        "device_add" => {
            Ok(option_command(args, "device_add", "driver").unwrap_or_else(passthrough))
        }
        // QEMU 5.2's QMP `netdev_add` takes an id that is already in use,
        // which its HMP refuses: there (and on any release older than the
        // oldest seen to check it, 7.2) QEMU's HMP runs the line.
        "netdev_add" => Ok(match option_command(args, "netdev_add", "type") {
            Some(Plan::Qmp(requests)) if !facts.version.at_least(7, 2) => Plan::Qmp(
                requests
                    .into_iter()
                    .map(|r| r.with_typing(crate::translate::typing::Typing::OwnHmp))
                    .collect(),
            ),
            Some(plan) => plan,
            None => passthrough(),
        }),
        "object_add" => Ok(object_add(args, passthrough)),
        "qom_set" => qom_set(args, passthrough),
        "migrate" => Ok(migrate(args)),
        "migrate_set_parameter" => Ok(migrate_set_parameter(args)),
        "nbd_server_start" => nbd_server_start(entry, args, passthrough),
        "chardev_add" => chardev(args, "chardev-add", passthrough),
        "chardev_change" => chardev(args, "chardev-change", passthrough),
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

fn single(execute: &str, arguments: Value) -> Plan {
    Plan::Qmp(vec![QmpRequest::new(execute, Some(arguments))])
}

fn refused(text: impl Into<String>) -> TranslateError {
    TranslateError::Refused {
        hmp_text: text.into(),
    }
}
