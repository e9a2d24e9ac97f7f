//! The grouped, tab-aligned `info migrate [-a]` layout QEMU uses since 10.1
//! (written from QEMU's source; no live 10.1 was available to compare).

use super::{global_on_off, global_shift};
use crate::render::classic::lenient::{
    float, has, list, member, number_u64, opt_text, size_to_str, uint, C_NULL,
};
use serde_json::Value;

/// Renders `info` (a query-migrate reply); `all` is `-a`, which adds the
/// globals block (see [`super::global_on_off`]) and the detailed counters.
pub(super) fn render(info: &Value, all: bool, globals: Option<&Value>) -> String {
    let mut out = String::new();
    if let Some(reasons) = member(info, "blocked-reasons").and_then(Value::as_array) {
        out.push_str("Outgoing migration blocked:\n");
        for reason in reasons {
            out += &format!("  {}\n", reason.as_str().unwrap_or(C_NULL));
        }
    }

    if let Some(status) = opt_text(info, "status") {
        out += &format!("Status: \t\t{status}");
        match opt_text(info, "error-desc") {
            Some(desc) if status == "failed" || status == "postcopy-paused" => {
                out += &format!(" ({desc})\n");
            }
            _ => out.push('\n'),
        }
        let total = uint(info, "total-time");
        if total != 0 {
            out += &format!("Time (ms): \t\ttotal={total}");
            for (key, label) in [
                ("setup-time", "setup"),
                ("expected-downtime", "exp_down"),
                ("downtime", "down"),
            ] {
                if has(info, key) {
                    out += &format!(", {label}={}", uint(info, key));
                }
            }
            out.push('\n');
        }
    }
    if has(info, "remaining") {
        out += &format!("Remaining: \t\t{}\n", size_to_str(uint(info, "remaining")));
    }
    if let Some(addresses) = member(info, "socket-address").and_then(Value::as_array) {
        out.push_str("Sockets: [\n");
        for address in addresses {
            out += &format!("\t{}\n", super::socket_uri(address));
        }
        out.push_str("]\n");
    }
    if let Some(ram) = member(info, "ram") {
        let size = |key: &str| size_to_str(uint(ram, key));
        out.push_str("RAM info:\n");
        out += &format!("  Throughput (Mbps): \t{:.2}\n", float(ram, "mbps"));
        out += &format!(
            "  Sizes: \t\tpagesize={}, total={}\n",
            size("page-size"),
            size("total")
        );
        out += &format!(
            "  Transfers: \t\ttransferred={}, remain={}\n",
            size("transferred"),
            size("remaining")
        );
        out += &format!(
            "    Channels: \t\tprecopy={}, multifd={}, postcopy={}",
            size("precopy-bytes"),
            size("multifd-bytes"),
            size("postcopy-bytes")
        );
        if let Some(vfio) = member(info, "vfio") {
            out += &format!(", vfio={}", size_to_str(uint(vfio, "transferred")));
        }
        out.push('\n');
        out += &format!(
            "    Page Types: \tnormal={}, zero={}\n",
            uint(ram, "normal"),
            uint(ram, "duplicate")
        );
        out += &format!(
            "  Page Rates (pps): \ttransfer={}",
            uint(ram, "pages-per-second")
        );
        if uint(ram, "dirty-pages-rate") != 0 {
            out += &format!(", dirty={}", uint(ram, "dirty-pages-rate"));
        }
        out.push('\n');
        out += &format!(
            "  Others: \t\tdirty_syncs={}",
            uint(ram, "dirty-sync-count")
        );
        for (key, label) in [
            ("postcopy-requests", "postcopy_req"),
            ("downtime-bytes", "downtime_bytes"),
            ("dirty-sync-missed-zero-copy", "zerocopy_fallbacks"),
        ] {
            if uint(ram, key) != 0 {
                out += &format!(", {label}={}", uint(ram, key));
            }
        }
        out.push('\n');
    }
    if !all {
        return out;
    }

    out.push_str("Globals:\n");
    for (key, default) in [
        ("store-global-state", true),
        ("only-migratable", false),
        ("send-configuration", true),
        ("send-section-footer", true),
        ("send-switchover-start", true),
    ] {
        out += &format!("  {key}: {}\n", global_on_off(globals, key, default));
    }
    out += &format!("  clear-bitmap-shift: {}\n", global_shift(globals));

    if let Some(x) = member(info, "xbzrle-cache") {
        out += &format!(
            "XBZRLE: size={}, transferred={}, pages={}, miss={}\n  miss_rate={:.2}, encode_rate={:.2}, overflow={}\n",
            uint(x, "cache-size"),
            uint(x, "bytes"),
            uint(x, "pages"),
            uint(x, "cache-miss"),
            float(x, "cache-miss-rate"),
            float(x, "encoding-rate"),
            uint(x, "overflow")
        );
    }
    for (key, label) in [
        ("cpu-throttle-percentage", "CPU Throttle (%)"),
        (
            "dirty-limit-throttle-time-per-round",
            "Dirty-limit Throttle (us)",
        ),
        ("dirty-limit-ring-full-time", "Dirty-limit Ring Full (us)"),
    ] {
        if has(info, key) {
            out += &format!("{label}: {}\n", uint(info, key));
        }
    }
    if has(info, "postcopy-blocktime") {
        out += &format!(
            "Postcopy Blocktime (ms): {}\n",
            uint(info, "postcopy-blocktime") as u32
        );
    }
    if has(info, "postcopy-vcpu-blocktime") {
        out.push_str("Postcopy vCPU Blocktime (ms):\n [");
        out += &ten_per_line(list(info, "postcopy-vcpu-blocktime"), true);
        out.push_str("]\n");
    }
    if has(info, "postcopy-latency") {
        out += &format!(
            "Postcopy Latency (ns): {}\n",
            uint(info, "postcopy-latency")
        );
    }
    if has(info, "postcopy-non-vcpu-latency") {
        out += &format!(
            "Postcopy non-vCPU Latency (ns): {}\n",
            uint(info, "postcopy-non-vcpu-latency")
        );
    }
    if has(info, "postcopy-vcpu-latency") {
        out.push_str("Postcopy vCPU Latencies (ns):\n [");
        out += &ten_per_line(list(info, "postcopy-vcpu-latency"), false);
        out.push_str("]\n");
    }
    if has(info, "postcopy-latency-dist") {
        out.push_str("Postcopy Latency Distribution:\n");
        for (bucket, count) in list(info, "postcopy-latency-dist").iter().enumerate() {
            let from = time_str(1u64.checked_shl(bucket as u32).unwrap_or(0));
            let to = time_str(1u64.checked_shl(bucket as u32 + 1).unwrap_or(0));
            out += &format!(
                "  [ {from:>8} - {to:>8} ]: {:>10}\n",
                number_u64(count).unwrap_or(0)
            );
        }
    }
    out
}

/// Values separated by `, `, wrapping after every tenth.
fn ten_per_line(items: &[Value], thirty_two_bit: bool) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i % 10 == 0 { ",\n  " } else { ", " });
        }
        let value = number_u64(item).unwrap_or(0);
        let value = if thirty_two_bit {
            u64::from(value as u32)
        } else {
            value
        };
        out += &value.to_string();
    }
    out
}

/// Microseconds in the largest of us/ms/sec that keeps the value below 1000.
fn time_str(mut us: u64) -> String {
    let units = ["us", "ms", "sec"];
    let mut index = 0;
    while us >= 1000 && index + 1 < units.len() {
        us /= 1000;
        index += 1;
    }
    format!("{us} {}", units[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_units_step_by_thousands() {
        assert_eq!(time_str(1), "1 us");
        assert_eq!(time_str(999), "999 us");
        assert_eq!(time_str(1024), "1 ms");
        assert_eq!(time_str(2_000_000_000), "2000 sec");
    }

    #[test]
    fn lists_wrap_after_ten_values() {
        let items: Vec<Value> = (1..=12).map(Value::from).collect();
        assert_eq!(
            ten_per_line(&items, true),
            "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,\n  11, 12"
        );
        assert_eq!(ten_per_line(&[], false), "");
    }
}
