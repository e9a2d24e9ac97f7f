//! `info migrate`, `info migrate_capabilities`, `info migrate_parameters`.

mod grouped;
mod parameters;

pub use parameters::parameter_order;

use super::lenient::{
    as_list, as_object, flag, float, has, int_ranges, list, member, number_i64, on_off, opt_text,
    reply_at, text, uint, C_NULL,
};
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use crate::version::QemuVersion;
use serde_json::Value;

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Option<Result<String, RenderError>> {
    match name {
        "migrate" => Some(info_migrate(ctx, replies, args)),
        "migrate_capabilities" => Some(capabilities(replies)),
        "migrate_parameters" => Some(parameters::render(ctx, replies)),
        _ => None,
    }
}

/// A setting of the globals block that `info migrate` shows (through 10.0
/// always, later with `-a`): internal migration state that no QMP command
/// reports. It is taken from an optional second reply, an object keyed like
/// the printed names (see [`migrate_globals_from_hmp`]); absent keys show
/// QEMU's defaults for current machine types.
fn global_on_off(globals: Option<&Value>, key: &str, default: bool) -> &'static str {
    on_off(
        globals
            .and_then(|g| member(g, key))
            .and_then(Value::as_bool)
            .unwrap_or(default),
    )
}

/// `clear-bitmap-shift` of the globals block (default 18).
fn global_shift(globals: Option<&Value>) -> u32 {
    globals
        .and_then(|g| member(g, "clear-bitmap-shift"))
        .and_then(number_i64)
        .unwrap_or(18) as u32
}

/// The `globals:` block of the layout used through 10.0.
fn print_globals(out: &mut String, version: &QemuVersion, globals: Option<&Value>) {
    out.push_str("globals:\n");
    let mut settings = vec![
        ("store-global-state", true),
        ("only-migratable", false),
        ("send-configuration", true),
        ("send-section-footer", true),
    ];
    // The fifth setting changed: compression's check went in 9.1, the
    // switchover-start flag came in 10.0.
    if version.at_least(10, 0) {
        settings.push(("send-switchover-start", true));
    } else if !version.at_least(9, 1) {
        settings.push(("decompress-error-check", true));
    }
    for (key, default) in settings {
        *out += &format!("{key}: {}\n", global_on_off(globals, key, default));
    }
    *out += &format!("clear-bitmap-shift: {}\n", global_shift(globals));
}

/// Reads the `globals:` block out of HMP's own `info migrate` text, for a
/// caller that fetched it through `human-monitor-command`; the result is the
/// optional second reply of the `migrate` renderer.
pub fn migrate_globals_from_hmp(hmp_text: &str) -> Value {
    let mut globals = serde_json::Map::new();
    // `globals:` opens the text through 10.0; `Globals:` (indented
    // entries) follows the RAM block of `info migrate -a` since 10.1.
    let mut lines = hmp_text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .skip_while(|l| *l != "globals:" && *l != "Globals:");
    if lines.next().is_none() {
        return Value::Object(globals);
    }
    for line in lines {
        let Some((key, value)) = line.trim_start().split_once(": ") else {
            break;
        };
        let parsed = match value {
            "on" => Value::Bool(true),
            "off" => Value::Bool(false),
            number => match number.parse::<u64>() {
                Ok(n) => Value::from(n),
                Err(_) => break,
            },
        };
        globals.insert(key.to_string(), parsed);
        if key == "clear-bitmap-shift" {
            break;
        }
    }
    Value::Object(globals)
}

/// `info migrate [-a]`; replies: query-migrate, then optionally the
/// globals object.
fn info_migrate(
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Result<String, RenderError> {
    const NAME: &str = "migrate";
    let info = match reply_at(NAME, replies, 0)? {
        Ok(value) => as_object(NAME, value)?,
        Err(text) => return Ok(text),
    };
    let globals = match replies.get(1) {
        Some(Ok(value)) => Some(value),
        _ => None,
    };
    let version = &ctx.version;
    if version.at_least(10, 1) {
        return Ok(grouped::render(info, args.flag("all"), globals));
    }
    let mut out = String::new();
    print_globals(&mut out, version, globals);

    if let Some(reasons) = member(info, "blocked-reasons").and_then(Value::as_array) {
        out.push_str("Outgoing migration blocked:\n");
        for reason in reasons {
            out += &format!("  {}\n", reason.as_str().unwrap_or(C_NULL));
        }
    }

    if let Some(status) = opt_text(info, "status") {
        out += &format!("Migration status: {status}");
        match opt_text(info, "error-desc") {
            Some(desc) if status == "failed" => out += &format!(" ({desc})\n"),
            _ => out.push('\n'),
        }
        out += &format!("total time: {} ms\n", uint(info, "total-time"));
        for (key, label) in [
            ("expected-downtime", "expected downtime"),
            ("downtime", "downtime"),
            ("setup-time", "setup"),
        ] {
            if has(info, key) {
                out += &format!("{label}: {} ms\n", uint(info, key));
            }
        }
    }

    if let Some(ram) = member(info, "ram") {
        print_ram(&mut out, version, ram);
    }
    if let Some(disk) = member(info, "disk") {
        out += &format!(
            "transferred disk: {} kbytes\n",
            uint(disk, "transferred") >> 10
        );
        out += &format!("remaining disk: {} kbytes\n", uint(disk, "remaining") >> 10);
        out += &format!("total disk: {} kbytes\n", uint(disk, "total") >> 10);
    }
    if let Some(x) = member(info, "xbzrle-cache") {
        out += &format!("cache size: {} bytes\n", uint(x, "cache-size"));
        out += &format!("xbzrle transferred: {} kbytes\n", uint(x, "bytes") >> 10);
        out += &format!("xbzrle pages: {} pages\n", uint(x, "pages"));
        out += &format!("xbzrle cache miss: {} pages\n", uint(x, "cache-miss"));
        out += &format!(
            "xbzrle cache miss rate: {:.2}\n",
            float(x, "cache-miss-rate")
        );
        out += &format!("xbzrle encoding rate: {:.2}\n", float(x, "encoding-rate"));
        out += &format!("xbzrle overflow: {}\n", uint(x, "overflow"));
    }
    if let Some(c) = member(info, "compression") {
        out += &format!("compression pages: {} pages\n", uint(c, "pages"));
        out += &format!("compression busy: {}\n", uint(c, "busy"));
        out += &format!("compression busy rate: {:.2}\n", float(c, "busy-rate"));
        out += &format!(
            "compressed size: {} kbytes\n",
            uint(c, "compressed-size") >> 10
        );
        out += &format!("compression rate: {:.2}\n", float(c, "compression-rate"));
    }
    if has(info, "cpu-throttle-percentage") {
        out += &format!(
            "cpu throttle percentage: {}\n",
            uint(info, "cpu-throttle-percentage")
        );
    }
    if has(info, "dirty-limit-throttle-time-per-round") {
        out += &format!(
            "dirty-limit throttle time: {} us\n",
            uint(info, "dirty-limit-throttle-time-per-round")
        );
    }
    if has(info, "dirty-limit-ring-full-time") {
        out += &format!(
            "dirty-limit ring full time: {} us\n",
            uint(info, "dirty-limit-ring-full-time")
        );
    }
    if has(info, "postcopy-blocktime") {
        out += &format!(
            "postcopy blocktime: {}\n",
            uint(info, "postcopy-blocktime") as u32
        );
    }
    if has(info, "postcopy-vcpu-blocktime") {
        let values: Vec<i64> = list(info, "postcopy-vcpu-blocktime")
            .iter()
            .filter_map(number_i64)
            .collect();
        out += &format!("postcopy vcpu blocktime: {}\n", int_ranges(&values));
    }
    if let Some(addresses) = member(info, "socket-address").and_then(Value::as_array) {
        out.push_str("socket address: [\n");
        for address in addresses {
            out += &format!("\t{}\n", socket_uri(address));
        }
        out.push_str("]\n");
    }
    if let Some(vfio) = member(info, "vfio") {
        out += &format!(
            "vfio device transferred: {} kbytes\n",
            uint(vfio, "transferred") >> 10
        );
    }
    Ok(out)
}

fn print_ram(out: &mut String, version: &QemuVersion, ram: &Value) {
    *out += &format!(
        "transferred ram: {} kbytes\n",
        uint(ram, "transferred") >> 10
    );
    *out += &format!("throughput: {:.2} mbps\n", float(ram, "mbps"));
    *out += &format!("remaining ram: {} kbytes\n", uint(ram, "remaining") >> 10);
    *out += &format!("total ram: {} kbytes\n", uint(ram, "total") >> 10);
    *out += &format!("duplicate: {} pages\n", uint(ram, "duplicate"));
    // `skipped` was dropped in 9.1.
    if !version.at_least(9, 1) {
        *out += &format!("skipped: {} pages\n", uint(ram, "skipped"));
    }
    *out += &format!("normal: {} pages\n", uint(ram, "normal"));
    *out += &format!("normal bytes: {} kbytes\n", uint(ram, "normal-bytes") >> 10);
    *out += &format!("dirty sync count: {}\n", uint(ram, "dirty-sync-count"));
    *out += &format!("page size: {} kbytes\n", uint(ram, "page-size") >> 10);
    *out += &format!(
        "multifd bytes: {} kbytes\n",
        uint(ram, "multifd-bytes") >> 10
    );
    *out += &format!("pages-per-second: {}\n", uint(ram, "pages-per-second"));
    let nonzero = |key: &str| Some(uint(ram, key)).filter(|v| *v != 0);
    if let Some(v) = nonzero("dirty-pages-rate") {
        *out += &format!("dirty pages rate: {v} pages\n");
    }
    if let Some(v) = nonzero("postcopy-requests") {
        *out += &format!("postcopy request count: {v}\n");
    }
    if let Some(v) = nonzero("precopy-bytes") {
        *out += &format!("precopy ram: {} kbytes\n", v >> 10);
    }
    if let Some(v) = nonzero("downtime-bytes") {
        *out += &format!("downtime ram: {} kbytes\n", v >> 10);
    }
    if let Some(v) = nonzero("postcopy-bytes") {
        *out += &format!("postcopy ram: {} kbytes\n", v >> 10);
    }
    if let Some(v) = nonzero("dirty-sync-missed-zero-copy") {
        *out += &format!("Zero-copy-send fallbacks happened: {v} times\n");
    }
}

/// A SocketAddress as QEMU's `socket_uri` spells it.
pub(crate) fn socket_uri(address: &Value) -> String {
    match opt_text(address, "type") {
        Some("inet") => {
            let host = text(address, "host");
            let port = text(address, "port");
            if flag(address, "ipv6") {
                format!("tcp:[{host}]:{port}")
            } else {
                format!("tcp:{host}:{port}")
            }
        }
        Some("unix") => format!("unix:{}", text(address, "path")),
        Some("fd") => format!("fd:{}", text(address, "str")),
        Some("vsock") => format!("vsock:{}:{}", text(address, "cid"), text(address, "port")),
        _ => "unknown address type".to_string(),
    }
}

/// `info migrate_capabilities`; reply: query-migrate-capabilities.
fn capabilities(replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "migrate_capabilities";
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = String::new();
    for cap in as_list(NAME, value)? {
        out += &format!(
            "{}: {}\n",
            text(cap, "capability"),
            on_off(flag(cap, "state"))
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globals_round_trip_through_hmp_text() {
        let text = "globals:\r\nstore-global-state: off\r\nonly-migratable: on\r\n\
                    send-configuration: on\r\nsend-section-footer: off\r\n\
                    decompress-error-check: on\r\nclear-bitmap-shift: 20\r\n\
                    Migration status: active\r\n";
        let globals = migrate_globals_from_hmp(text);
        let mut out = String::new();
        print_globals(&mut out, &QemuVersion::new(7, 2, 0), Some(&globals));
        assert_eq!(
            out,
            "globals:\nstore-global-state: off\nonly-migratable: on\n\
             send-configuration: on\nsend-section-footer: off\n\
             decompress-error-check: on\nclear-bitmap-shift: 20\n"
        );

        let newest = "Status: \t\tactive\r\nGlobals:\r\n  store-global-state: on\r\n\
                      \x20 send-switchover-start: off\r\n  clear-bitmap-shift: 19\r\nXBZRLE: size=1\r\n";
        let globals = migrate_globals_from_hmp(newest);
        assert_eq!(
            globals,
            serde_json::json!({"store-global-state": true, "send-switchover-start": false,
                               "clear-bitmap-shift": 19})
        );
        assert_eq!(
            migrate_globals_from_hmp("Status: none\r\n"),
            serde_json::json!({})
        );
    }

    #[test]
    fn socket_addresses_use_uri_spelling() {
        let inet6 =
            serde_json::json!({"type": "inet", "host": "::1", "port": "4444", "ipv6": true});
        assert_eq!(socket_uri(&inet6), "tcp:[::1]:4444");
        let fd = serde_json::json!({"type": "fd", "str": "3"});
        assert_eq!(socket_uri(&fd), "fd:3");
        assert_eq!(socket_uri(&serde_json::json!({})), "unknown address type");
    }
}
