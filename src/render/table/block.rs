//! `info block`, `info blockstats` and `info block-jobs`.

use super::fmt::{
    as_error, duration, field, flag, int, list, size, size_of, status, text, text_or_dash, NONE,
};
use super::out::{Grid, Out, Text, Tone};
use serde_json::Value;

/// `info block [-n] [-v] [device]`; replies: query-block, then (with `-n`
/// or a device name) query-named-block-nodes. Filters as QEMU does: `-n`
/// lists nodes only; a name picks that drive, else the node of that name.
pub(super) fn info_block(out: &mut Out, replies: &[Value]) {
    let args = out.context().args.clone();
    let device = args.str("device");
    let verbose = args.flag("verbose");
    let nodes_only = args.flag("nodes");
    let mut found = false;
    if !nodes_only {
        match replies.first().map(|r| (as_error(r), r)) {
            Some((Some((class, desc)), _)) => out.error(&class, &desc),
            Some((None, reply)) => found = devices(out, reply, device, verbose),
            None => {}
        }
    }
    if !(nodes_only || (device.is_some() && !found)) {
        return;
    }
    match replies.get(1).map(|r| (as_error(r), r)) {
        Some((Some((class, desc)), _)) => out.error(&class, &desc),
        Some((None, reply)) => nodes(out, reply, device, verbose),
        None => {}
    }
}

/// `query-block`: one row per drive (only `device` when given); true when
/// a row was written.
fn devices(out: &mut Out, reply: &Value, device: Option<&str>, verbose: bool) -> bool {
    let Some(devices) = list(out, reply) else {
        return false;
    };
    let chosen: Vec<&Value> = devices
        .iter()
        .filter(|d| device.is_none_or(|name| field(d, "device").as_deref() == Some(name)))
        .collect();
    if device.is_some() && chosen.is_empty() {
        return false;
    }
    out.heading("Block devices");
    if chosen.is_empty() {
        out.note("No block devices.");
        return false;
    }
    let mut header = vec![
        "Device",
        "Medium",
        "Format",
        "Size",
        "Mode",
        "Status",
        "Attached to",
        "Node",
        "Backing file",
    ];
    if verbose {
        header.extend(["On disk", "Cluster size"]);
    }
    let optional: &[usize] = if verbose { &[] } else { &[7, 8, 6, 2, 4] };
    let mut grid = Grid::new(&header).right(&[3]).optional(optional);
    for device in chosen {
        let inserted = device.get("inserted");
        let node = inserted.unwrap_or(&Value::Null);
        let image = node.get("image").unwrap_or(&Value::Null);
        let mut row: Vec<Text> = match inserted {
            Some(node) => vec![
                text_or_dash(device, "device").into(),
                text(node, "file").into(),
                text(node, "drv").into(),
                size_of(image, "virtual-size").into(),
                mode(node).into(),
                device_status(device),
                attached_to(device).into(),
                text(node, "node-name").into(),
                text_or_dash(node, "backing_file").into(),
            ],
            None => vec![
                text_or_dash(device, "device").into(),
                Text::toned("(no medium)", Tone::Dim),
                NONE.into(),
                NONE.into(),
                NONE.into(),
                device_status(device),
                attached_to(device).into(),
                NONE.into(),
                NONE.into(),
            ],
        };
        if verbose {
            row.push(size_of(image, "actual-size").into());
            row.push(size_of(image, "cluster-size").into());
        }
        grid.row(row);
    }
    out.grid(&grid);
    true
}

/// The guest device a drive is attached to: its id for devices the user
/// created with `-device id=…` (whose QOM path is
/// `/machine/peripheral/ID/…`), else the QOM path.
fn attached_to(device: &Value) -> String {
    let qdev = text_or_dash(device, "qdev");
    match qdev
        .strip_prefix("/machine/peripheral/")
        .and_then(|rest| rest.split('/').next())
    {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => qdev,
    }
}

/// `query-named-block-nodes`: one row per node of the graph (only `name`
/// when given).
fn nodes(out: &mut Out, reply: &Value, name: Option<&str>, verbose: bool) {
    let Some(nodes) = list(out, reply) else {
        return;
    };
    let chosen: Vec<&Value> = nodes
        .iter()
        .filter(|n| name.is_none_or(|name| field(n, "node-name").as_deref() == Some(name)))
        .collect();
    out.heading("Block nodes");
    if chosen.is_empty() {
        out.note(match name {
            Some(_) => "No block device or node of that name.",
            None => "No named block nodes.",
        });
        return;
    }
    let mut header = vec![
        "Node",
        "Driver",
        "File",
        "Virtual size",
        "On disk",
        "Mode",
        "Backing file",
    ];
    if verbose {
        header.push("Cluster size");
    }
    let optional: &[usize] = if verbose { &[] } else { &[6, 4] };
    let mut grid = Grid::new(&header).right(&[3, 4]).optional(optional);
    for node in chosen {
        let image = node.get("image").unwrap_or(&Value::Null);
        let mut row: Vec<Text> = vec![
            text(node, "node-name").into(),
            text(node, "drv").into(),
            text(node, "file").into(),
            size_of(image, "virtual-size").into(),
            size_of(image, "actual-size").into(),
            mode(node).into(),
            text_or_dash(node, "backing_file").into(),
        ];
        if verbose {
            row.push(size_of(image, "cluster-size").into());
        }
        grid.row(row);
    }
    out.grid(&grid);
}

/// `rw`/`ro` and the cache mode (`writeback`, `writethrough`, `direct`, `no-flush`).
fn mode(node: &Value) -> String {
    let mut parts = vec![if flag(node, "ro") == Some(true) {
        "ro"
    } else {
        "rw"
    }
    .to_string()];
    if let Some(cache) = node.get("cache") {
        parts.push(
            if flag(cache, "writeback") == Some(false) {
                "writethrough"
            } else {
                "writeback"
            }
            .into(),
        );
        if flag(cache, "direct") == Some(true) {
            parts.push("direct".into());
        }
        if flag(cache, "no-flush") == Some(true) {
            parts.push("no-flush".into());
        }
    }
    if flag(node, "encrypted") == Some(true) {
        parts.push("encrypted".into());
    }
    parts.join(", ")
}

/// I/O status, removable-media state and any I/O limits.
fn device_status(device: &Value) -> Text {
    let io = field(device, "io-status").unwrap_or_else(|| "ok".into());
    let mut parts = vec![io.clone()];
    if flag(device, "removable") == Some(true) {
        parts.push(
            if flag(device, "tray_open") == Some(true) {
                "tray open"
            } else {
                "tray closed"
            }
            .into(),
        );
        if flag(device, "locked") == Some(true) {
            parts.push("locked".into());
        }
    }
    if let Some(node) = device.get("inserted") {
        let limits: Vec<String> = ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"]
            .iter()
            .filter_map(|key| {
                int(node, key)
                    .filter(|n| *n > 0)
                    .map(|n| format!("{key}={n}"))
            })
            .collect();
        if !limits.is_empty() {
            parts.push(format!("limits {}", limits.join(" ")));
        }
    }
    let tone = if io == "ok" { Tone::Plain } else { Tone::Bad };
    Text::toned(parts.join(", "), tone)
}

/// `query-blockstats`: I/O counters per drive (node-level entries, which
/// HMP leaves out too, are skipped).
pub(super) fn stats(out: &mut Out, reply: &Value) {
    let Some(entries) = list(out, reply) else {
        return;
    };
    out.heading("Block I/O statistics");
    let drives: Vec<&Value> = entries
        .iter()
        .filter(|e| e.get("device").is_some())
        .collect();
    if drives.is_empty() {
        out.note("No block devices.");
        return;
    }
    let mut grid = Grid::new(&[
        "Device",
        "Reads",
        "Read bytes",
        "Writes",
        "Written bytes",
        "Flushes",
        "Idle for",
        "Read time",
        "Write time",
        "Flush time",
        "Reads merged",
        "Writes merged",
        "Failed",
        "Invalid",
        "Node",
    ])
    .right(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    .optional(&[14, 13, 12, 11, 10, 9, 8, 7]);
    for entry in drives {
        let stats = entry.get("stats").unwrap_or(&Value::Null);
        let count = |key: &str| int(stats, key).unwrap_or(0);
        let sum = |kind: &str| {
            ["rd", "wr", "flush", "unmap"]
                .iter()
                .map(|op| count(&format!("{kind}_{op}_operations")))
                .sum::<i64>()
        };
        let (failed, invalid) = (sum("failed"), sum("invalid"));
        let device = field(entry, "device")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| text_or_dash(entry, "node-name"));
        let idle = int(stats, "idle_time_ns").map_or_else(|| NONE.into(), duration);
        grid.row(vec![
            device.into(),
            count("rd_operations").to_string().into(),
            size(count("rd_bytes")).into(),
            count("wr_operations").to_string().into(),
            size(count("wr_bytes")).into(),
            count("flush_operations").to_string().into(),
            idle.into(),
            duration(count("rd_total_time_ns")).into(),
            duration(count("wr_total_time_ns")).into(),
            duration(count("flush_total_time_ns")).into(),
            count("rd_merged").to_string().into(),
            count("wr_merged").to_string().into(),
            Text::toned(
                failed.to_string(),
                if failed > 0 { Tone::Bad } else { Tone::Plain },
            ),
            Text::toned(
                invalid.to_string(),
                if invalid > 0 { Tone::Warn } else { Tone::Plain },
            ),
            text_or_dash(entry, "node-name").into(),
        ]);
    }
    out.grid(&grid);
}

/// `query-block-jobs`: one row per running job.
pub(super) fn jobs(out: &mut Out, reply: &Value) {
    let Some(jobs) = list(out, reply) else { return };
    out.heading("Block jobs");
    if jobs.is_empty() {
        out.note("No active block jobs.");
        return;
    }
    let mut grid =
        Grid::new(&["Job", "Type", "Status", "Progress", "Speed limit", "Notes"]).optional(&[5, 4]);
    for job in jobs {
        let progress = match (int(job, "offset"), int(job, "len")) {
            (Some(done), Some(total)) if total > 0 => {
                format!(
                    "{} of {} ({}%)",
                    size(done),
                    size(total),
                    done.saturating_mul(100) / total
                )
            }
            (Some(done), _) => size(done),
            _ => NONE.into(),
        };
        let speed = match int(job, "speed") {
            Some(0) => "unlimited".to_string(),
            Some(bytes) => format!("{}/s", size(bytes)),
            None => NONE.into(),
        };
        let mut notes = Vec::new();
        for (key, word) in [("paused", "paused"), ("ready", "ready"), ("busy", "busy")] {
            if flag(job, key) == Some(true) {
                notes.push(word.to_string());
            }
        }
        if let Some(io) = field(job, "io-status").filter(|s| s != "ok") {
            notes.push(format!("I/O {io}"));
        }
        if let Some(error) = field(job, "error") {
            notes.push(format!("error: {error}"));
        }
        grid.row(vec![
            text(job, "device").into(),
            text(job, "type").into(),
            status(&text(job, "status")),
            progress.into(),
            speed.into(),
            if notes.is_empty() {
                NONE.to_string()
            } else {
                notes.join(", ")
            }
            .into(),
        ]);
    }
    out.grid(&grid);
}
