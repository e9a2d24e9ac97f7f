//! `info migrate` (+ capabilities and parameters) and `info dump`.

use super::fmt::{field, flag, int, list, object, scalar, size, status, text, NBSP};
use super::out::{Grid, Out, Text, Tone};
use serde_json::{Map, Value};

/// Any reply of `info migrate`, recognised by its shape: a list is the
/// capabilities, an object with parameter names the parameters, any other
/// object the migration status.
pub(super) fn any(out: &mut Out, reply: &Value) {
    match reply {
        Value::Array(_) => capabilities(out, reply),
        Value::Object(map)
            if map.contains_key("downtime-limit") || map.contains_key("max-bandwidth") =>
        {
            parameters(out, reply)
        }
        _ => migrate(out, reply),
    }
}

/// `query-migrate`: status and times, then one table per statistics group.
fn migrate(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    out.heading("Migration");
    let Some(state) = field(info, "status") else {
        out.note("No migration has been started.");
        return;
    };
    let mut facts = Grid::keyed();
    facts.pair("Status", status(&state));
    let mut groups = Vec::new();
    for (key, value) in ordered(info, &TOP_ORDER) {
        match value {
            Value::Object(group) => groups.push((key, group)),
            Value::Array(items) => {
                let lines: Vec<String> = items
                    .iter()
                    .map(|item| scalar(item).unwrap_or_else(|| item.to_string()))
                    .collect();
                facts.pair(&label(key), lines.join("\n"));
            }
            _ if key == "status" => {}
            _ if key == "error-desc" => {
                facts.pair("Error", Text::toned(text(info, key), Tone::Bad))
            }
            _ => facts.pair(&label(key), with_unit(key, value)),
        }
    }
    out.grid(&facts);
    for (key, group) in groups {
        out.heading(&group_title(key));
        out.grid(&keyed_stats(group));
    }
}

fn keyed_stats(group: &Map<String, Value>) -> Grid {
    let mut grid = Grid::keyed();
    for (key, value) in ordered_map(group, &STATS_ORDER) {
        let shown = match value {
            Value::Object(_) | Value::Array(_) => value.to_string(),
            _ => with_unit(key, value),
        };
        grid.pair(&label(key), shown);
    }
    grid
}

fn group_title(key: &str) -> String {
    match key {
        "ram" => "RAM".into(),
        "vfio" => "VFIO".into(),
        "xbzrle-cache" => "XBZRLE cache".into(),
        other => label(other),
    }
}

/// Facts first, in the order an operator reads them; then the rest as QEMU sent them.
const TOP_ORDER: [&str; 6] = [
    "status",
    "total-time",
    "setup-time",
    "downtime",
    "expected-downtime",
    "error-desc",
];
const STATS_ORDER: [&str; 12] = [
    "transferred",
    "remaining",
    "total",
    "mbps",
    "duplicate",
    "normal",
    "normal-bytes",
    "page-size",
    "dirty-sync-count",
    "dirty-pages-rate",
    "pages-per-second",
    "precopy-bytes",
];

fn ordered<'a>(v: &'a Value, first: &[&str]) -> Vec<(&'a String, &'a Value)> {
    v.as_object()
        .map(|map| ordered_map(map, first))
        .unwrap_or_default()
}

fn ordered_map<'a>(map: &'a Map<String, Value>, first: &[&str]) -> Vec<(&'a String, &'a Value)> {
    let rank = |key: &str| first.iter().position(|k| *k == key).unwrap_or(first.len());
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by_key(|(key, _)| rank(key));
    members
}

/// `setup-time` → `Setup time`; a few statistics get clearer names.
fn label(key: &str) -> String {
    match key {
        "mbps" => return "Throughput".into(),
        "duplicate" => return "Zero pages".into(),
        "normal" => return "Normal pages".into(),
        "skipped" => return "Skipped pages".into(),
        _ => {}
    }
    let words = key.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// A statistic with its unit, from what its name says it counts.
fn with_unit(key: &str, value: &Value) -> String {
    let raw = scalar(value).unwrap_or_else(|| value.to_string());
    let number = value.as_i64();
    let is_bytes = key.ends_with("bytes")
        || matches!(
            key,
            "transferred" | "remaining" | "total" | "page-size" | "cache-size" | "compressed-size"
        );
    match (key, number) {
        ("dirty-pages-rate", Some(n)) => format!("{n}{NBSP}pages/s"),
        ("pages-per-second", Some(n)) => format!("{n}{NBSP}pages/s"),
        ("mbps", _) => value
            .as_f64()
            .map(|f| format!("{f:.2}{NBSP}Mbps"))
            .unwrap_or(raw),
        ("cpu-throttle-percentage", Some(n)) => format!("{n}%"),
        (k, Some(n)) if k.ends_with("time") && !k.starts_with("dirty-limit") => {
            format!("{n}{NBSP}ms")
        }
        (k, Some(n)) if k.starts_with("dirty-limit") => format!("{n}{NBSP}us"),
        (_, Some(n)) if is_bytes => size(n),
        _ => match value.as_f64() {
            Some(f) if !value.is_i64() && !value.is_u64() => format!("{f:.2}"),
            _ => raw,
        },
    }
}

/// `query-migrate-capabilities`: each capability on or off.
pub(super) fn capabilities(out: &mut Out, reply: &Value) {
    let Some(caps) = list(out, reply) else { return };
    out.heading("Migration capabilities");
    if caps.is_empty() {
        out.note("No migration capabilities.");
        return;
    }
    let mut grid = Grid::new(&["Capability", "State"]);
    for cap in caps {
        let state = match flag(cap, "state") {
            Some(true) => Text::toned("on", Tone::Good),
            Some(false) => Text::toned("off", Tone::Dim),
            None => text(cap, "state").into(),
        };
        grid.row(vec![text(cap, "capability").into(), state]);
    }
    out.grid(&grid);
}

/// `query-migrate-parameters`: by the names `migrate_set_parameter` takes.
pub(super) fn parameters(out: &mut Out, reply: &Value) {
    let Some(params) = object(out, reply) else {
        return;
    };
    out.heading("Migration parameters");
    // QEMU's order (the reply's own order is a hash table's); parameters
    // this QEMU adds beyond it follow in the reply's order.
    let version = out
        .context()
        .version
        .clone()
        .unwrap_or_else(|| crate::version::QemuVersion::new(10, 0, 0));
    let map = params.as_object().cloned().unwrap_or_default();
    let known: Vec<&str> = crate::render::classic::parameter_order(&version).collect();
    let ordered = known.iter().copied().chain(
        map.keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k)),
    );
    let mut grid = Grid::new(&["Parameter", "Value"]);
    for key in ordered {
        if let Some(value) = map.get(key) {
            grid.row(vec![key.into(), parameter_value(key, value)]);
        }
    }
    out.grid(&grid);
}

fn parameter_value(key: &str, value: &Value) -> Text {
    let Some(n) = value.as_i64() else {
        return match value {
            Value::String(s) if s.is_empty() => Text::toned("(none)", Tone::Dim),
            Value::Bool(true) => "on".into(),
            Value::Bool(false) => "off".into(),
            Value::Object(_) | Value::Array(_) => value.to_string().into(),
            _ => scalar(value).unwrap_or_default().into(),
        };
    };
    let shown = match key {
        "max-bandwidth" | "max-postcopy-bandwidth" | "avail-switchover-bandwidth" => {
            format!("{}/s", size(n))
        }
        "xbzrle-cache-size" => size(n),
        "vcpu-dirty-limit" => format!("{n}{NBSP}MB/s"),
        "downtime-limit" | "x-checkpoint-delay" | "x-vcpu-dirty-limit-period" => {
            format!("{n}{NBSP}ms")
        }
        k if k.starts_with("announce-") && k != "announce-rounds" => format!("{n}{NBSP}ms"),
        k if k.contains("throttle") && !k.ends_with("tailslow") => format!("{n}%"),
        _ => n.to_string(),
    };
    shown.into()
}

/// `query-dump`: the state of the last `dump-guest-memory`.
pub(super) fn dump(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    out.heading("Guest memory dump");
    let state = text(info, "status");
    let mut facts = Grid::keyed();
    let described = if state == "none" {
        "none (no dump started)".to_string()
    } else {
        state.clone()
    };
    facts.pair("Status", status(&state).retext(described));
    if let (Some(done), Some(total)) = (int(info, "completed"), int(info, "total")) {
        if total > 0 {
            facts.pair(
                "Progress",
                format!(
                    "{} of {} ({}%)",
                    size(done),
                    size(total),
                    done.saturating_mul(100) / total
                ),
            );
        }
    }
    out.grid(&facts);
}
