//! `info block`, `info blockstats` and `info block-jobs`.

mod image;

use super::lenient::{as_list, bad_reply, flag, int, member, opt_text, reply_at, text, C_NULL};
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use serde_json::Value;

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Option<Result<String, RenderError>> {
    match name {
        "block" => Some(info_block(ctx, replies, args)),
        "blockstats" => Some(blockstats(ctx, replies)),
        "block-jobs" => Some(block_jobs(replies)),
        _ => None,
    }
}

/// `info block [-n] [-v] [device]`; replies: query-block,
/// query-named-block-nodes.
fn info_block(ctx: &RenderContext, replies: &[Reply], args: &Args) -> Result<String, RenderError> {
    const NAME: &str = "block";
    let device = args.str("device");
    let verbose = args.flag("verbose");
    let nodes = args.flag("nodes");
    let mut out = String::new();
    let mut printed = false;

    if !nodes {
        // HMP ignores a failure of query-block: it lists nothing.
        let backends = match replies.first() {
            Some(Ok(value)) => as_list(NAME, value)?,
            Some(Err(_)) => &[],
            None => return Err(bad_reply(NAME, "missing the query-block reply")),
        };
        for (position, info) in backends.iter().enumerate() {
            if device.is_some_and(|d| d != opt_text(info, "device").unwrap_or("")) {
                continue;
            }
            // The separator depends on the list position, not on what was printed.
            if position > 0 {
                out.push('\n');
            }
            print_entry(&mut out, ctx, Some(info), member(info, "inserted"), verbose);
            printed = true;
        }
    }
    if (device.is_none() && !nodes) || printed {
        return Ok(out);
    }

    // With -n, or a device name that is no BlockBackend: the named nodes.
    let named = match replies.get(1) {
        Some(Ok(value)) => as_list(NAME, value)?,
        Some(Err(_)) => &[],
        None => return Err(bad_reply(NAME, "missing the query-named-block-nodes reply")),
    };
    for (position, node) in named.iter().enumerate() {
        if device.is_some_and(|d| d != opt_text(node, "node-name").unwrap_or("")) {
            continue;
        }
        if position > 0 {
            out.push('\n');
        }
        print_entry(&mut out, ctx, None, Some(node), verbose);
    }
    Ok(out)
}

/// One BlockBackend (`info`) and/or the node inserted in it (`inserted`).
fn print_entry(
    out: &mut String,
    ctx: &RenderContext,
    info: Option<&Value>,
    inserted: Option<&Value>,
    verbose: bool,
) {
    let backend_name = info.and_then(|i| opt_text(i, "device")).unwrap_or("");
    if !backend_name.is_empty() {
        out.push_str(backend_name);
        if let Some(node) = inserted.and_then(|n| opt_text(n, "node-name")) {
            *out += &format!(" ({node})");
        }
    } else {
        let name = inserted
            .and_then(|n| opt_text(n, "node-name"))
            .or_else(|| info.and_then(|i| opt_text(i, "qdev")))
            .unwrap_or("<anonymous>");
        out.push_str(name);
    }

    match inserted {
        Some(node) => {
            // `active` exists since 10.0; an inactive node says so.
            let inactive = ctx.version.at_least(10, 0)
                && member(node, "active").and_then(Value::as_bool) == Some(false);
            *out += &format!(
                ": {} ({}{}{}{})\n",
                text(node, "file"),
                text(node, "drv"),
                if flag(node, "ro") { ", read-only" } else { "" },
                if flag(node, "encrypted") {
                    ", encrypted"
                } else {
                    ""
                },
                if inactive { ", inactive" } else { "" },
            );
        }
        None => out.push_str(": [not inserted]\n"),
    }

    if let Some(info) = info {
        if let Some(qdev) = opt_text(info, "qdev") {
            *out += &format!("    Attached to:      {qdev}\n");
        }
        if let Some(status) = opt_text(info, "io-status").filter(|s| *s != "ok") {
            *out += &format!("    I/O status:       {status}\n");
        }
        if flag(info, "removable") {
            *out += &format!(
                "    Removable device: {}locked, tray {}\n",
                if flag(info, "locked") { "" } else { "not " },
                if flag(info, "tray_open") {
                    "open"
                } else {
                    "closed"
                },
            );
        }
    }

    let Some(node) = inserted else { return };
    let null = Value::Null;
    let cache = member(node, "cache").unwrap_or(&null);
    *out += &format!(
        "    Cache mode:       {}{}{}\n",
        if flag(cache, "writeback") {
            "writeback"
        } else {
            "writethrough"
        },
        if flag(cache, "direct") {
            ", direct"
        } else {
            ""
        },
        if flag(cache, "no-flush") {
            ", ignore flushes"
        } else {
            ""
        },
    );
    if let Some(backing) = opt_text(node, "backing_file") {
        *out += &format!(
            "    Backing file:     {backing} (chain depth: {})\n",
            int(node, "backing_file_depth")
        );
    }
    let detect_zeroes = opt_text(node, "detect_zeroes").unwrap_or("off");
    if detect_zeroes != "off" {
        *out += &format!("    Detect zeroes:    {detect_zeroes}\n");
    }
    let limited = ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"]
        .iter()
        .any(|key| int(node, key) != 0);
    if limited {
        out.push_str("    I/O throttling:  ");
        for key in [
            "bps",
            "bps_rd",
            "bps_wr",
            "bps_max",
            "bps_rd_max",
            "bps_wr_max",
            "iops",
            "iops_rd",
            "iops_wr",
            "iops_max",
            "iops_rd_max",
            "iops_wr_max",
            "iops_size",
        ] {
            *out += &format!(" {key}={}", int(node, key));
        }
        *out += &format!(" group={}\n", opt_text(node, "group").unwrap_or(C_NULL));
    }

    if verbose {
        out.push_str("\nImages:\n");
        let mut image = member(node, "image");
        while let Some(current) = image {
            image::dump(out, ctx, current);
            image = member(current, "backing-image");
        }
    }
}

/// `info blockstats`; reply: query-blockstats.
fn blockstats(ctx: &RenderContext, replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "blockstats";
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let null = Value::Null;
    let mut out = String::new();
    for (position, entry) in as_list(NAME, value)?.iter().enumerate() {
        // Entries without a device name (node-level statistics) are skipped.
        let Some(device) = opt_text(entry, "device") else {
            continue;
        };
        let s = member(entry, "stats").unwrap_or(&null);
        if ctx.version.at_least(10, 1) {
            // The tabular layout that replaced the one-line form after 10.0.
            let separator = if position > 0 { "\n" } else { "" };
            out += &format!(
                "{separator}{device}: idle_time_ns={}\n",
                int(s, "idle_time_ns")
            );
            out += &format!(
                "       {:>24} {:>16} {:>24} {:>10}\n",
                "bytes", "operations", "total_time_ns", "merged"
            );
            for (label, prefix) in [("Read: ", "rd"), ("Write:", "wr")] {
                out += &format!(
                    "{label} {:>24} {:>16} {:>24} {:>10}\n",
                    int(s, &format!("{prefix}_bytes")),
                    int(s, &format!("{prefix}_operations")),
                    int(s, &format!("{prefix}_total_time_ns")),
                    int(s, &format!("{prefix}_merged")),
                );
            }
            out += &format!(
                "Flush: {:>24} {:>16} {:>24}\n",
                "",
                int(s, "flush_operations"),
                int(s, "flush_total_time_ns")
            );
        } else {
            out += &format!("{device}:");
            for key in [
                "rd_bytes",
                "wr_bytes",
                "rd_operations",
                "wr_operations",
                "flush_operations",
                "wr_total_time_ns",
                "rd_total_time_ns",
                "flush_total_time_ns",
                "rd_merged",
                "wr_merged",
                "idle_time_ns",
            ] {
                out += &format!(" {key}={}", int(s, key));
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// `info block-jobs`; reply: query-block-jobs.
fn block_jobs(replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "block-jobs";
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let jobs = as_list(NAME, value)?;
    if jobs.is_empty() {
        return Ok("No active jobs\n".to_string());
    }
    let mut out = String::new();
    for job in jobs {
        let progress = format!(
            "Completed {} of {} bytes, speed limit {} bytes/s\n",
            int(job, "offset"),
            int(job, "len"),
            int(job, "speed")
        );
        let kind = text(job, "type");
        let device = text(job, "device");
        if kind == "stream" {
            out += &format!("Streaming device {device}: {progress}");
        } else {
            out += &format!("Type {kind}, device {device}: {progress}");
        }
    }
    Ok(out)
}
