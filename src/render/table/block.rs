//! `info block`, `info blockstats` and `info block-jobs`.

use super::fmt::{field, flag, int, list, size, size_of, status, text, text_or_dash, NONE};
use super::out::{Grid, Out, Text, Tone};
use serde_json::Value;

/// `query-block`: one row per drive.
pub(super) fn devices(out: &mut Out, reply: &Value) {
    let Some(devices) = list(out, reply) else {
        return;
    };
    out.heading("Block devices");
    if devices.is_empty() {
        out.note("No block devices.");
        return;
    }
    let mut grid = Grid::new(&[
        "Device",
        "Node",
        "Attached to",
        "Medium (format)",
        "Size",
        "Mode",
        "Status",
    ]);
    for device in devices {
        let (node, medium, virtual_size, mode) = match device.get("inserted") {
            Some(node) => (
                text(node, "node-name"),
                file_with_backing(node, Some(text(node, "drv"))),
                node.get("image")
                    .map(|i| size_of(i, "virtual-size"))
                    .unwrap_or_else(|| NONE.into()),
                mode(node),
            ),
            None => (NONE.into(), "(no medium)".into(), NONE.into(), NONE.into()),
        };
        grid.row(vec![
            text_or_dash(device, "device").into(),
            node.into(),
            attached_to(device).into(),
            medium.into(),
            virtual_size.into(),
            mode.into(),
            device_status(device),
        ]);
    }
    out.grid(&grid);
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

/// `query-named-block-nodes`: one row per node of the graph.
pub(super) fn nodes(out: &mut Out, reply: &Value) {
    let Some(nodes) = list(out, reply) else {
        return;
    };
    out.heading("Block nodes");
    if nodes.is_empty() {
        out.note("No named block nodes.");
        return;
    }
    let mut grid =
        Grid::new(&["Node", "Driver", "File", "Virtual size", "On disk", "Mode"]).right(&[3, 4]);
    for node in nodes {
        let image = node.get("image").unwrap_or(&Value::Null);
        grid.row(vec![
            text(node, "node-name").into(),
            text(node, "drv").into(),
            file_with_backing(node, None).into(),
            size_of(image, "virtual-size").into(),
            size_of(image, "actual-size").into(),
            mode(node).into(),
        ]);
    }
    out.grid(&grid);
}

/// The image file (with its format, when given), and the backing file
/// below it if any.
fn file_with_backing(node: &Value, format: Option<String>) -> String {
    let mut file = text(node, "file");
    if let Some(format) = format {
        file.push_str(&format!(" ({format})"));
    }
    if let Some(backing) = field(node, "backing_file") {
        file.push_str(&format!("\nbacking: {backing}"));
    }
    file
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

/// `query-blockstats`: I/O counters per device, with the nodes below it.
pub(super) fn stats(out: &mut Out, reply: &Value) {
    let Some(entries) = list(out, reply) else {
        return;
    };
    out.heading("Block I/O statistics");
    if entries.is_empty() {
        out.note("No block devices.");
        return;
    }
    let mut grid = Grid::new(&[
        "Device",
        "Node",
        "Read ops",
        "Read bytes",
        "Write ops",
        "Write bytes",
        "Flush ops",
        "Failed ops",
        "Invalid ops",
    ])
    .right(&[2, 3, 4, 5, 6, 7, 8]);
    for entry in entries {
        stats_rows(&mut grid, entry, text_or_dash(entry, "device"), "");
    }
    out.grid(&grid);
}

/// A row for `entry`, then rows for its `parent` (file) and `backing` nodes.
fn stats_rows(grid: &mut Grid, entry: &Value, device: String, relation: &str) {
    let stats = entry.get("stats").unwrap_or(&Value::Null);
    let node = text_or_dash(entry, "node-name");
    let node = if relation.is_empty() {
        node
    } else {
        format!("{relation}: {node}")
    };
    let count = |key: &str| int(stats, key).unwrap_or(0);
    let failed = count("failed_rd_operations")
        + count("failed_wr_operations")
        + count("failed_flush_operations")
        + count("failed_unmap_operations");
    let invalid = count("invalid_rd_operations")
        + count("invalid_wr_operations")
        + count("invalid_flush_operations")
        + count("invalid_unmap_operations");
    grid.row(vec![
        device.into(),
        node.into(),
        count("rd_operations").to_string().into(),
        size(count("rd_bytes")).into(),
        count("wr_operations").to_string().into(),
        size(count("wr_bytes")).into(),
        count("flush_operations").to_string().into(),
        Text::toned(
            failed.to_string(),
            if failed > 0 { Tone::Bad } else { Tone::Plain },
        ),
        Text::toned(
            invalid.to_string(),
            if invalid > 0 { Tone::Warn } else { Tone::Plain },
        ),
    ]);
    for (key, relation) in [("parent", "file"), ("backing", "backing")] {
        if let Some(child) = entry.get(key) {
            stats_rows(grid, child, String::new(), relation);
        }
    }
}

/// `query-block-jobs`: one row per running job.
pub(super) fn jobs(out: &mut Out, reply: &Value) {
    let Some(jobs) = list(out, reply) else { return };
    out.heading("Block jobs");
    if jobs.is_empty() {
        out.note("No active block jobs.");
        return;
    }
    let mut grid = Grid::new(&["Job", "Type", "Status", "Progress", "Speed limit", "Notes"]);
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
