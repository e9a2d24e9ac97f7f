//! `info virtio*`: the x-query-virtio introspection commands.

use crate::parse::Args;
use crate::render::classic::lenient::{
    as_list, flag, has, int, list, member, opt_text, reply_at, text, true_false, uint, C_NULL,
};
use crate::render::{RenderError, Reply};
use serde_json::Value;

/// The reply, or HMP's error text.
fn reply<'a>(name: &str, replies: &'a [Reply]) -> Result<Result<&'a Value, String>, RenderError> {
    reply_at(name, replies, 0)
}

/// The device path as the operator typed it (HMP echoes its argument).
fn path_arg(args: &Args) -> &str {
    args.str("path").unwrap_or(C_NULL)
}

/// `info virtio`; reply: x-query-virtio.
pub(super) fn devices(replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "virtio";
    let value = match reply(NAME, replies)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let devices = as_list(NAME, value)?;
    if devices.is_empty() {
        return Ok("No VirtIO devices\n".to_string());
    }
    Ok(devices
        .iter()
        .map(|dev| format!("{} [{}]\n", text(dev, "path"), text(dev, "name")))
        .collect())
}

/// Items of a string list, one per line after a tab, joined by commas.
fn tab_list(out: &mut String, items: &[Value]) {
    let lines: Vec<String> = items
        .iter()
        .map(|item| format!("\t{}", item.as_str().unwrap_or(C_NULL)))
        .collect();
    out.push_str(&lines.join(",\n"));
}

fn dump_features(out: &mut String, features: &Value, wide_unknown: bool) {
    tab_list(out, list(features, "transports"));
    out.push('\n');
    let dev = list(features, "dev-features");
    if !dev.is_empty() {
        tab_list(out, dev);
        out.push('\n');
    }
    if has(features, "unknown-dev-features") {
        let low = uint(features, "unknown-dev-features");
        if wide_unknown {
            let high = uint(features, "unknown-dev-features2");
            *out += &format!("  unknown-features(0x{high:016x}{low:016x})\n");
        } else {
            *out += &format!("  unknown-features(0x{low:016x})\n");
        }
    }
}

/// `info virtio-status path`; reply: x-query-virtio-status.
pub(super) fn status(
    replies: &[Reply],
    args: &Args,
    wide_unknown: bool,
) -> Result<String, RenderError> {
    let s = match reply("virtio-status", replies)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let null = Value::Null;
    let vhost = member(s, "vhost-dev");
    // QMP turns QEMU's NULL bus name into "", which HMP prints as (null).
    let bus_name = opt_text(s, "bus-name")
        .filter(|b| !b.is_empty())
        .unwrap_or(C_NULL);
    let mut out = format!("{}:\n", path_arg(args));
    out += &format!(
        "  device_name:             {} {}\n",
        text(s, "name"),
        if vhost.is_some() { "(vhost)" } else { "" }
    );
    out += &format!("  device_id:               {}\n", int(s, "device-id"));
    out += &format!(
        "  vhost_started:           {}\n",
        true_false(flag(s, "vhost-started"))
    );
    out += &format!("  bus_name:                {bus_name}\n");
    for (key, label) in [
        ("broken", "broken:                 "),
        ("disabled", "disabled:               "),
        ("disable-legacy-check", "disable_legacy_check:   "),
        ("started", "started:                "),
        ("use-started", "use_started:            "),
        ("start-on-kick", "start_on_kick:          "),
        ("use-guest-notifier-mask", "use_guest_notifier_mask:"),
        ("vm-running", "vm_running:             "),
    ] {
        out += &format!("  {label} {}\n", true_false(flag(s, key)));
    }
    out += &format!("  num_vqs:                 {}\n", int(s, "num-vqs"));
    out += &format!("  queue_sel:               {}\n", int(s, "queue-sel"));
    out += &format!("  isr:                     {}\n", int(s, "isr"));
    out += &format!("  endianness:              {}\n", text(s, "device-endian"));

    out.push_str("  status:\n");
    let st = member(s, "status").unwrap_or(&null);
    tab_list(&mut out, list(st, "statuses"));
    out.push('\n');
    if has(st, "unknown-statuses") {
        out += &format!(
            "  unknown-statuses(0x{:016x})\n",
            uint(st, "unknown-statuses") as u32
        );
    }
    for (key, label) in [
        ("guest-features", "Guest features"),
        ("host-features", "Host features"),
        ("backend-features", "Backend features"),
    ] {
        out += &format!("  {label}:\n");
        dump_features(&mut out, member(s, key).unwrap_or(&null), wide_unknown);
    }

    if let Some(v) = vhost {
        out.push_str("  VHost:\n");
        for (key, label) in [
            ("nvqs", "nvqs:          "),
            ("vq-index", "vq_index:      "),
            ("max-queues", "max_queues:    "),
            ("n-mem-sections", "n_mem_sections:"),
            ("n-tmp-sections", "n_tmp_sections:"),
            ("backend-cap", "backend_cap:   "),
        ] {
            out += &format!("    {label} {}\n", int(v, key));
        }
        out += &format!(
            "    log_enabled:    {}\n",
            true_false(flag(v, "log-enabled"))
        );
        out += &format!("    log_size:       {}\n", int(v, "log-size"));
        out.push_str("    Features:\n");
        dump_features(
            &mut out,
            member(v, "features").unwrap_or(&null),
            wide_unknown,
        );
        out.push_str("    Acked features:\n");
        dump_features(
            &mut out,
            member(v, "acked-features").unwrap_or(&null),
            wide_unknown,
        );
        out.push_str("    Protocol features:\n");
        let protocols = member(v, "protocol-features").unwrap_or(&null);
        tab_list(&mut out, list(protocols, "protocols"));
        out.push('\n');
        if has(protocols, "unknown-protocols") {
            out += &format!(
                "  unknown-protocols(0x{:016x})\n",
                uint(protocols, "unknown-protocols")
            );
        }
    }
    Ok(out)
}

/// `info virtio-queue-status path queue`; reply: x-query-virtio-queue-status.
pub(super) fn queue_status(replies: &[Reply], args: &Args) -> Result<String, RenderError> {
    let s = match reply("virtio-queue-status", replies)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = format!("{}:\n", path_arg(args));
    out += &format!("  device_name:          {}\n", text(s, "name"));
    out += &format!("  queue_index:          {}\n", int(s, "queue-index"));
    out += &format!("  inuse:                {}\n", int(s, "inuse"));
    out += &format!("  used_idx:             {}\n", int(s, "used-idx"));
    out += &format!("  signalled_used:       {}\n", int(s, "signalled-used"));
    out += &format!(
        "  signalled_used_valid: {}\n",
        true_false(flag(s, "signalled-used-valid"))
    );
    if has(s, "last-avail-idx") {
        out += &format!("  last_avail_idx:       {}\n", int(s, "last-avail-idx"));
    }
    if has(s, "shadow-avail-idx") {
        out += &format!("  shadow_avail_idx:     {}\n", int(s, "shadow-avail-idx"));
    }
    out.push_str("  VRing:\n");
    out += &format!("    num:          {}\n", int(s, "vring-num"));
    out += &format!("    num_default:  {}\n", int(s, "vring-num-default"));
    out += &format!("    align:        {}\n", int(s, "vring-align"));
    out += &format!("    desc:         0x{:016x}\n", uint(s, "vring-desc"));
    out += &format!("    avail:        0x{:016x}\n", uint(s, "vring-avail"));
    out += &format!("    used:         0x{:016x}\n", uint(s, "vring-used"));
    Ok(out)
}

/// `info virtio-vhost-queue-status path queue`; reply:
/// x-query-virtio-vhost-queue-status.
pub(super) fn vhost_queue_status(replies: &[Reply], args: &Args) -> Result<String, RenderError> {
    let s = match reply("virtio-vhost-queue-status", replies)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = format!("{}:\n", path_arg(args));
    out += &format!("  device_name:          {} (vhost)\n", text(s, "name"));
    out += &format!("  kick:                 {}\n", int(s, "kick"));
    out += &format!("  call:                 {}\n", int(s, "call"));
    out.push_str("  VRing:\n");
    out += &format!("    num:         {}\n", int(s, "num"));
    out += &format!("    desc_phys:   0x{:016x}\n", uint(s, "desc-phys"));
    out += &format!("    desc_size:   {}\n", int(s, "desc-size"));
    out += &format!("    avail_phys:  0x{:016x}\n", uint(s, "avail-phys"));
    out += &format!("    avail_size:  {}\n", int(s, "avail-size"));
    out += &format!("    used_phys:   0x{:016x}\n", uint(s, "used-phys"));
    out += &format!("    used_size:   {}\n", int(s, "used-size"));
    Ok(out)
}

/// `info virtio-queue-element path queue [index]`; reply:
/// x-query-virtio-queue-element.
pub(super) fn queue_element(replies: &[Reply], args: &Args) -> Result<String, RenderError> {
    let e = match reply("virtio-queue-element", replies)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let null = Value::Null;
    let mut out = format!("{}:\n", path_arg(args));
    out += &format!("  device_name: {}\n", text(e, "name"));
    out += &format!("  index:   {}\n", int(e, "index"));
    out.push_str("  desc:\n    descs:\n");
    let descs: Vec<String> = list(e, "descs")
        .iter()
        .map(|desc| {
            let mut line = format!(
                "        addr 0x{:x} len {}",
                uint(desc, "addr"),
                int(desc, "len") as i32
            );
            let flags = list(desc, "flags");
            if !flags.is_empty() {
                let names: Vec<&str> = flags.iter().map(|f| f.as_str().unwrap_or(C_NULL)).collect();
                line += &format!(" ({})", names.join(", "));
            }
            line
        })
        .collect();
    out.push_str(&descs.join(",\n"));
    out.push('\n');
    let avail = member(e, "avail").unwrap_or(&null);
    out.push_str("  avail:\n");
    out += &format!("    flags: {}\n", int(avail, "flags"));
    out += &format!("    idx:   {}\n", int(avail, "idx"));
    out += &format!("    ring:  {}\n", int(avail, "ring"));
    let used = member(e, "used").unwrap_or(&null);
    out.push_str("  used:\n");
    out += &format!("    flags: {}\n", int(used, "flags"));
    out += &format!("    idx:   {}\n", int(used, "idx"));
    Ok(out)
}
