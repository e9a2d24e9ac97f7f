//! Machine, block and dump commands whose arguments need assembling:
//! `memsave`, `announce_self`, `block_set_io_throttle`, `calc_dirty_rate`,
//! `dump-guest-memory`, `nbd_server_start`.

use super::{refused, single, walk};
use crate::grammar::Entry;
use crate::parse::Args;
use crate::translate::{Plan, QmpRequest, TranslateError};
use serde_json::{json, Map, Value};

/// `memsave ADDR SIZE FILE` for the monitor's current CPU.
pub fn memsave_args(args: &Args, cpu_index: i64) -> Value {
    json!({"val": args.int("val"), "size": args.int("size"), "filename": args.str("filename"), "cpu-index": cpu_index})
}

/// QEMU's own announce parameters when none are known (its defaults).
pub(super) const ANNOUNCE_DEFAULTS: [(&str, i64); 4] =
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

pub(super) fn calc_dirty_rate(args: &Args) -> Result<Plan, TranslateError> {
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

pub(super) fn dump_guest_memory(args: &Args) -> Result<Plan, TranslateError> {
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

/// `nbd_server_start [-w] HOST:PORT` → `nbd-server-start`. With `-a` QEMU
/// also exports every inserted device, which HMP does itself.
pub(super) fn nbd_server_start(
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
