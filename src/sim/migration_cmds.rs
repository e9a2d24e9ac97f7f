//! Migration commands: `migrate`, `migrate_cancel`, capabilities and
//! parameters (with QEMU 10.0's range checks), the out-of-band
//! `migrate-pause`/`migrate-recover`, and `query-yank`/`yank`.

use super::args::{obj, opt, req, ArgsExt, Obj, Ty, Union};
use super::commands::Cmd;
use super::error::{ok, CmdResult, ErrorClass, QmpError};
use super::machine::RunState;
use super::migration::{self, MigStatus, CAPABILITIES};
use super::state::State;
use serde_json::{json, Map, Value};

fn busy() -> QmpError {
    QmpError::generic("There's a migration process in progress")
}

/// Turn a URI into a checked description, or QEMU's error for it.
fn check_uri(uri: &str) -> Result<(), QmpError> {
    let (proto, rest) = uri.split_once(':').unwrap_or((uri, ""));
    match proto {
        "tcp" => match rest.rsplit_once(':') {
            Some((_, port)) if !port.is_empty() => Ok(()),
            _ => Err(QmpError::generic(format!("error parsing address '{rest}'"))),
        },
        "unix" | "exec" | "file" if !rest.is_empty() => Ok(()),
        "fd" => Err(QmpError::generic(format!(
            "File descriptor named '{rest}' has not been found"
        ))),
        "rdma" => Err(QmpError::generic("RDMA ERROR: could not create CM channel")),
        _ => Err(QmpError::generic(format!(
            "unknown migration protocol: {uri}"
        ))),
    }
}

/// A URI for the first channel of a `channels` list.
fn channel_uri(channels: &[Value]) -> Result<String, QmpError> {
    let addr = channels
        .first()
        .and_then(|c| c.get("addr"))
        .ok_or_else(|| QmpError::generic("need either 'uri' or 'channels' argument"))?;
    let s = |k: &str| {
        addr.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Ok(match s("transport").as_str() {
        "exec" => {
            let args = addr
                .get("args")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let words: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
            format!("exec:{}", words.join(" "))
        }
        "file" => format!("file:{}", s("filename")),
        "rdma" => format!("rdma:{}:{}", s("host"), s("port")),
        _ => match s("type").as_str() {
            "inet" => format!("tcp:{}:{}", s("host"), s("port")),
            "unix" => format!("unix:{}", s("path")),
            "vsock" => format!("vsock:{}:{}", s("cid"), s("port")),
            _ => format!("fd:{}", s("str")),
        },
    })
}

fn migrate(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let uri = match (
        a.str_arg("uri"),
        a.get("channels").and_then(Value::as_array),
    ) {
        (Some(uri), _) => uri.to_string(),
        (None, Some(ch)) => channel_uri(ch)?,
        (None, None) => {
            return Err(QmpError::generic(
                "need either 'uri' or 'channels' argument",
            ))
        }
    };
    if a.bool_arg("resume").unwrap_or(false) {
        return Err(QmpError::generic(
            "Cannot resume if there is no paused migration",
        ));
    }
    if st.migration.status.in_progress() {
        return Err(busy());
    }
    if st.machine.run_state == RunState::Postmigrate {
        return Err(QmpError::generic(
            "Can't migrate the vm that was paused due to previous migration",
        ));
    }
    check_uri(&uri)?;
    migration::start(st, uri);
    ok()
}

fn migrate_cancel(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    if st.migration.status.in_progress() && st.migration.status != MigStatus::Cancelling {
        migration::set_status(st, MigStatus::Cancelling);
    }
    ok()
}

fn query_migrate(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(migration::info(st))
}

fn query_capabilities(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(st
        .migration
        .capabilities
        .iter()
        .map(|(c, on)| json!({"capability": c, "state": on}))
        .collect())
}

fn set_capabilities(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    if st.migration.status.in_progress() {
        return Err(busy());
    }
    let mut caps = st.migration.capabilities.clone();
    let list = a
        .get("capabilities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in &list {
        let name = item.get("capability").and_then(Value::as_str).unwrap_or("");
        let on = item.get("state").and_then(Value::as_bool).unwrap_or(false);
        if let Some(c) = caps.iter_mut().find(|(c, _)| *c == name) {
            c.1 = on;
        }
    }
    let has = |n: &str| caps.iter().any(|(c, on)| *c == n && *on);
    if has("postcopy-ram") && has("multifd") {
        return Err(QmpError::generic(
            "Postcopy is not yet compatible with multifd",
        ));
    }
    if has("xbzrle") && has("multifd") {
        return Err(QmpError::generic("Multifd is not compatible with xbzrle"));
    }
    st.migration.capabilities = caps;
    ok()
}

fn query_parameters(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(Value::Object(st.migration.parameters.clone()))
}

/// QEMU's range checks, with its wording (which uses C names).
fn check_parameters(p: &Map<String, Value>) -> Result<(), QmpError> {
    let get = |k: &str| p.get(k).and_then(Value::as_i64);
    let range = |k: &str, lo: i64, hi: i64, msg: &str| match get(k) {
        Some(v) if v < lo || v > hi => Err(QmpError::invalid_value(&k.replace('-', "_"), msg)),
        _ => Ok(()),
    };
    range(
        "throttle-trigger-threshold",
        1,
        100,
        "an integer in the range of 1 to 100",
    )?;
    range(
        "cpu-throttle-initial",
        1,
        99,
        "an integer in the range of 1 to 99",
    )?;
    range(
        "cpu-throttle-increment",
        1,
        99,
        "an integer in the range of 1 to 99",
    )?;
    range(
        "downtime-limit",
        0,
        2_000_000,
        "an integer in the range of 0 to (2000 * 1000) ms",
    )?;
    range("multifd-channels", 1, 255, "a value between 1 and 255")?;
    range("multifd-zlib-level", 0, 9, "a value between 0 and 9")?;
    range("multifd-zstd-level", 0, 20, "a value between 0 and 20")?;
    if let Some(size) = get("xbzrle-cache-size") {
        if size < 4096 || size.count_ones() != 1 {
            return Err(QmpError::invalid_value(
                "xbzrle_cache_size",
                "a power of two no less than the target page size",
            ));
        }
    }
    let initial = get("cpu-throttle-initial").unwrap_or(20);
    range(
        "max-cpu-throttle",
        initial,
        99,
        "an integer in the range of cpu_throttle_initial to 99",
    )?;
    range(
        "announce-initial",
        0,
        100_000,
        "a value between 0 and 100000",
    )?;
    range("announce-max", 0, 100_000, "a value between 0 and 100000")?;
    range("announce-rounds", 0, 1000, "a value between 0 and 1000")?;
    range("announce-step", 0, 10_000, "a value between 0 and 10000")?;
    Ok(())
}

fn set_parameters(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let mut merged = st.migration.parameters.clone();
    for (k, v) in a {
        // StrOrNull: null means "unset", which QEMU shows as "".
        let v = if v.is_null() { json!("") } else { v.clone() };
        merged.insert(k.clone(), v);
    }
    check_parameters(&merged)?;
    st.migration.parameters = merged;
    ok()
}

fn migrate_pause(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic(
        "migrate-pause is currently only supported during postcopy-active or postcopy-recover state",
    ))
}

fn migrate_recover(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic(
        "Migrate recover can only be run when postcopy is paused.",
    ))
}

fn yank_instances(st: &State) -> Vec<Value> {
    let mut v = vec![json!({"type": "chardev", "id": "compat_monitor0"})];
    if st.migration.status.in_progress() {
        v.push(json!({"type": "migration"}));
    }
    v
}

fn query_yank(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(Value::Array(yank_instances(st)))
}

fn yank(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let known = yank_instances(st);
    let wanted = a
        .get("instances")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(_missing) = wanted.iter().find(|w| !known.contains(w)) {
        return Err(QmpError {
            class: ErrorClass::DeviceNotFound,
            desc: "Instance not found".into(),
        });
    }
    if wanted
        .iter()
        .any(|w| w.get("type").and_then(Value::as_str) == Some("migration"))
    {
        migration::fail(st, "Migration yanked");
    }
    ok()
}

const INET: Obj = obj(&[
    req("host", Ty::Str),
    req("port", Ty::Str),
    opt("numeric", Ty::Bool),
    opt("to", Ty::Int),
    opt("ipv4", Ty::Bool),
    opt("ipv6", Ty::Bool),
    opt("keep-alive", Ty::Bool),
    opt("mptcp", Ty::Bool),
]);
const UNIX: Obj = obj(&[
    req("path", Ty::Str),
    opt("abstract", Ty::Bool),
    opt("tight", Ty::Bool),
]);
const VSOCK: Obj = obj(&[req("cid", Ty::Str), req("port", Ty::Str)]);
const FD: Obj = obj(&[req("str", Ty::Str)]);
const SOCKET_ADDRESS: Obj = Obj {
    members: &[req("type", Ty::Enum(&["inet", "unix", "vsock", "fd"]))],
    union: Some(Union {
        tag: "type",
        cases: &[
            ("inet", &INET),
            ("unix", &UNIX),
            ("vsock", &VSOCK),
            ("fd", &FD),
        ],
        open_cases: false,
    }),
};
const EXEC: Obj = obj(&[req("args", Ty::List(&Ty::Str))]);
const FILE: Obj = obj(&[req("filename", Ty::Str), req("offset", Ty::Int)]);
const MIGRATION_ADDRESS: Obj = Obj {
    members: &[req(
        "transport",
        Ty::Enum(&["socket", "exec", "rdma", "file"]),
    )],
    union: Some(Union {
        tag: "transport",
        cases: &[
            ("socket", &SOCKET_ADDRESS),
            ("exec", &EXEC),
            ("rdma", &INET),
            ("file", &FILE),
        ],
        open_cases: false,
    }),
};
const CHANNEL: Obj = obj(&[
    req("channel-type", Ty::Enum(&["main", "cpr"])),
    req("addr", Ty::Obj(&MIGRATION_ADDRESS)),
]);
const MIGRATE: Obj = obj(&[
    opt("uri", Ty::Str),
    opt("channels", Ty::List(&Ty::Obj(&CHANNEL))),
    opt("detach", Ty::Bool),
    opt("resume", Ty::Bool),
]);
const CAPABILITY_STATUS: Obj = obj(&[
    req("capability", Ty::Enum(&CAPABILITIES)),
    req("state", Ty::Bool),
]);
const SET_CAPABILITIES: Obj = obj(&[req("capabilities", Ty::List(&Ty::Obj(&CAPABILITY_STATUS)))]);
const BITMAP_TRANSFORM: Obj = obj(&[opt("persistent", Ty::Bool)]);
const BITMAP: Obj = obj(&[
    req("name", Ty::Str),
    req("alias", Ty::Str),
    opt("transform", Ty::Obj(&BITMAP_TRANSFORM)),
]);
const BITMAP_NODE: Obj = obj(&[
    req("node-name", Ty::Str),
    req("alias", Ty::Str),
    req("bitmaps", Ty::List(&Ty::Obj(&BITMAP))),
]);
const SET_PARAMETERS: Obj = obj(&[
    opt("announce-initial", Ty::Int),
    opt("announce-max", Ty::Int),
    opt("announce-rounds", Ty::Int),
    opt("announce-step", Ty::Int),
    opt("throttle-trigger-threshold", Ty::Int),
    opt("cpu-throttle-initial", Ty::Int),
    opt("cpu-throttle-increment", Ty::Int),
    opt("cpu-throttle-tailslow", Ty::Bool),
    opt("tls-creds", Ty::StrOrNull),
    opt("tls-hostname", Ty::StrOrNull),
    opt("tls-authz", Ty::StrOrNull),
    opt("max-bandwidth", Ty::Int),
    opt("avail-switchover-bandwidth", Ty::Int),
    opt("downtime-limit", Ty::Int),
    opt("x-checkpoint-delay", Ty::Int),
    opt("multifd-channels", Ty::Int),
    opt("xbzrle-cache-size", Ty::Int),
    opt("max-postcopy-bandwidth", Ty::Int),
    opt("max-cpu-throttle", Ty::Int),
    opt("multifd-compression", Ty::Enum(&["none", "zlib", "zstd"])),
    opt("multifd-zlib-level", Ty::Int),
    opt("multifd-qatzip-level", Ty::Int),
    opt("multifd-zstd-level", Ty::Int),
    opt("block-bitmap-mapping", Ty::List(&Ty::Obj(&BITMAP_NODE))),
    opt("x-vcpu-dirty-limit-period", Ty::Int),
    opt("vcpu-dirty-limit", Ty::Int),
    opt("mode", Ty::Enum(&["normal", "cpr-reboot", "cpr-transfer"])),
    opt(
        "zero-page-detection",
        Ty::Enum(&["none", "legacy", "multifd"]),
    ),
    opt("direct-io", Ty::Bool),
]);
const RECOVER: Obj = obj(&[req("uri", Ty::Str)]);
const YANK_INSTANCE: Obj = Obj {
    members: &[req(
        "type",
        Ty::Enum(&["block-node", "chardev", "migration"]),
    )],
    union: Some(Union {
        tag: "type",
        cases: &[
            ("block-node", &obj(&[req("node-name", Ty::Str)])),
            ("chardev", &obj(&[req("id", Ty::Str)])),
            ("migration", &obj(&[])),
        ],
        open_cases: false,
    }),
};
const YANK: Obj = obj(&[req("instances", Ty::List(&Ty::Obj(&YANK_INSTANCE)))]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("migrate", &MIGRATE, migrate),
    Cmd::new("migrate_cancel", &super::args::NONE, migrate_cancel),
    Cmd::new("query-migrate", &super::args::NONE, query_migrate),
    Cmd::new(
        "migrate-set-capabilities",
        &SET_CAPABILITIES,
        set_capabilities,
    ),
    Cmd::new(
        "query-migrate-capabilities",
        &super::args::NONE,
        query_capabilities,
    ),
    Cmd::new("migrate-set-parameters", &SET_PARAMETERS, set_parameters),
    Cmd::new(
        "query-migrate-parameters",
        &super::args::NONE,
        query_parameters,
    ),
    Cmd::new("migrate-pause", &super::args::NONE, migrate_pause).oob(),
    Cmd::new("migrate-recover", &RECOVER, migrate_recover).oob(),
    Cmd::new("query-yank", &super::args::NONE, query_yank).oob(),
    Cmd::new("yank", &YANK, yank).oob(),
];
