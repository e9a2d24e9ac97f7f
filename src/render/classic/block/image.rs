//! The image dump of `info block -v`: one ImageInfo of a backing chain,
//! its internal snapshots and its format-specific data.

use crate::render::classic::lenient::{
    flag, has, int, member, opt_text, qnum_to_string, size_to_str, text, uint, utc_civil,
};
use crate::render::RenderContext;
use serde_json::Value;

/// Dumps one image at the top indentation level.
pub(super) fn dump(out: &mut String, ctx: &RenderContext, info: &Value) {
    let virtual_size = int(info, "virtual-size");
    let disk_size = if has(info, "actual-size") {
        size_to_str(uint(info, "actual-size"))
    } else {
        "unavailable".to_string()
    };
    *out += &format!("image: {}\n", text(info, "filename"));
    *out += &format!("file format: {}\n", text(info, "format"));
    *out += &format!(
        "virtual size: {} ({virtual_size} bytes)\n",
        size_to_str(virtual_size as u64)
    );
    *out += &format!("disk size: {disk_size}\n");
    if flag(info, "encrypted") {
        out.push_str("encrypted: yes\n");
    }
    if has(info, "cluster-size") {
        *out += &format!("cluster_size: {}\n", int(info, "cluster-size"));
    }
    if flag(info, "dirty-flag") {
        out.push_str("cleanly shut down: no\n");
    }
    if let Some(backing) = opt_text(info, "backing-filename") {
        *out += &format!("backing file: {backing}");
        match opt_text(info, "full-backing-filename") {
            None => out.push_str(" (cannot determine actual path)"),
            Some(full) if full != backing => *out += &format!(" (actual path: {full})"),
            Some(_) => {}
        }
        out.push('\n');
        if let Some(format) = opt_text(info, "backing-filename-format") {
            *out += &format!("backing file format: {format}\n");
        }
    }
    if let Some(snapshots) = member(info, "snapshots").and_then(Value::as_array) {
        out.push_str("Snapshot list:\n");
        out.push_str(&snapshot_header(ctx));
        out.push('\n');
        for snapshot in snapshots {
            out.push_str(&snapshot_row(ctx, snapshot));
            out.push('\n');
        }
    }
    // Reported from QEMU 10.1 on; dumped like the format-specific data.
    if let Some(limits) = member(info, "limits") {
        if !is_empty_dump(limits) {
            out.push_str("Block limits:\n");
            dump_value(out, 1, limits);
        }
    }
    if let Some(data) = member(info, "format-specific").and_then(|f| member(f, "data")) {
        if !is_empty_dump(data) {
            out.push_str("Format specific information:\n");
            dump_value(out, 1, data);
        }
    }
}

/// The snapshot table changed its columns in QEMU 9.0.
fn new_snapshot_layout(ctx: &RenderContext) -> bool {
    ctx.version.at_least(9, 0)
}

fn snapshot_header(ctx: &RenderContext) -> String {
    if new_snapshot_layout(ctx) {
        format!(
            "{:<7} {:<16} {:>8} {:>19} {:>15} {:>10}",
            "ID", "TAG", "VM_SIZE", "DATE", "VM_CLOCK", "ICOUNT"
        )
    } else {
        format!(
            "{:<10}{:<17}{:>8}{:>20}{:>13}{:>11}",
            "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT"
        )
    }
}

fn snapshot_row(ctx: &RenderContext, snapshot: &Value) -> String {
    let (year, month, day, hour, minute, second) = utc_civil(int(snapshot, "date-sec"));
    let date = format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
    let clock_ns = uint(snapshot, "vm-clock-sec")
        .wrapping_mul(1_000_000_000)
        .wrapping_add(uint(snapshot, "vm-clock-nsec"));
    let secs = clock_ns / 1_000_000_000;
    // QEMU narrows each part to a C int.
    let (hours, minutes, seconds, millis) = (
        (secs / 3600) as i32,
        (secs / 60 % 60) as i32,
        (secs % 60) as i32,
        (clock_ns / 1_000_000 % 1000) as i32,
    );
    let size = size_to_str(uint(snapshot, "vm-state-size"));
    let id = text(snapshot, "id");
    let tag = text(snapshot, "name");
    let icount = member(snapshot, "icount").map(|_| int(snapshot, "icount"));
    if new_snapshot_layout(ctx) {
        let clock = format!("{hours:04}:{minutes:02}:{seconds:02}.{millis:03}");
        let icount = icount.map_or_else(|| "--".to_string(), |n| n.to_string());
        format!("{id:<7} {tag:<16} {size:>8} {date:>19} {clock:>15} {icount:>10}")
    } else {
        let clock = format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}");
        let icount = icount.map_or_else(String::new, |n| n.to_string());
        format!("{id:<9} {tag:<16} {size:>8}{date:>20}{clock:>13}{icount:>11}")
    }
}

/// True when dumping `value` would print nothing (an empty object or list).
fn is_empty_dump(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// QEMU's generic dump of a QObject: one `key: value` line per member,
/// four spaces per level, dashes in keys shown as spaces, list items `[i]`.
fn dump_value(out: &mut String, level: usize, value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let label = key.replace('-', " ");
                dump_item(out, level, &label, item);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                dump_item(out, level, &format!("[{index}]"), item);
            }
        }
        scalar => out.push_str(&scalar_text(scalar)),
    }
}

fn dump_item(out: &mut String, level: usize, label: &str, item: &Value) {
    let composite = matches!(item, Value::Object(_) | Value::Array(_));
    *out += &format!(
        "{:width$}{label}:{}",
        "",
        if composite { '\n' } else { ' ' },
        width = level * 4
    );
    dump_value(out, level + 1, item);
    if !composite {
        out.push('\n');
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Number(n) => qnum_to_string(n),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        // QEMU has no null (and containers never get here): print JSON's word.
        _ => "null".to_string(),
    }
}
