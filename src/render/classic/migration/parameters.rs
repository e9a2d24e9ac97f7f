//! `info migrate_parameters`; reply: query-migrate-parameters.
//!
//! QEMU prints a fixed list of parameters, in an order that changed once
//! (10.1 regrouped them: TLS together, the bandwidths together, units on
//! every bandwidth). Each row is printed when the reply carries that member:
//! a release whose QAPI type has a parameter always reports it, and its HMP
//! prints it (5.2 and 7.2 lack `avail-switchover-bandwidth`, `mode`…; 9.1
//! dropped the `compress-*` ones).

use crate::render::classic::lenient::{as_object, flag, has, list, on_off, reply_at, text, uint};
use crate::render::{RenderContext, RenderError, Reply};
use crate::version::QemuVersion;
use serde_json::Value;

/// How one migration parameter is printed.
#[derive(Clone, Copy)]
enum Shape {
    /// `%u`, with a unit suffix (possibly empty).
    Number(&'static str),
    /// `on`/`off`.
    OnOff,
    /// `'%s'`.
    Quoted,
    /// An enum name, `%s`.
    Name,
    /// The node/bitmap alias table.
    BitmapMapping,
    /// `name:` then ` word` per list element.
    Words,
}

use Shape::*;

/// QEMU 5.2 to 10.0, in their (shared) order.
const UNTIL_10_0: &[(&str, Shape)] = &[
    ("announce-initial", Number(" ms")),
    ("announce-max", Number(" ms")),
    ("announce-rounds", Number("")),
    ("announce-step", Number(" ms")),
    ("compress-level", Number("")),
    ("compress-threads", Number("")),
    ("compress-wait-thread", OnOff),
    ("decompress-threads", Number("")),
    ("throttle-trigger-threshold", Number("")),
    ("cpu-throttle-initial", Number("")),
    ("cpu-throttle-increment", Number("")),
    ("cpu-throttle-tailslow", OnOff),
    ("max-cpu-throttle", Number("")),
    ("tls-creds", Quoted),
    ("tls-hostname", Quoted),
    ("max-bandwidth", Number(" bytes/second")),
    ("avail-switchover-bandwidth", Number(" bytes/second")),
    ("downtime-limit", Number(" ms")),
    ("x-checkpoint-delay", Number(" ms")),
    ("block-incremental", OnOff),
    ("multifd-channels", Number("")),
    ("multifd-compression", Name),
    ("zero-page-detection", Name),
    ("xbzrle-cache-size", Number(" bytes")),
    ("max-postcopy-bandwidth", Number("")),
    ("tls-authz", Quoted),
    ("block-bitmap-mapping", BitmapMapping),
    ("x-vcpu-dirty-limit-period", Number(" ms")),
    ("vcpu-dirty-limit", Number(" MB/s")),
    ("mode", Name),
    ("direct-io", OnOff),
];

/// QEMU 10.1 and later (checked on 11.1).
const FROM_10_1: &[(&str, Shape)] = &[
    ("announce-initial", Number(" ms")),
    ("announce-max", Number(" ms")),
    ("announce-rounds", Number("")),
    ("announce-step", Number(" ms")),
    ("throttle-trigger-threshold", Number("")),
    ("cpu-throttle-initial", Number("")),
    ("cpu-throttle-increment", Number("")),
    ("cpu-throttle-tailslow", OnOff),
    ("max-cpu-throttle", Number("")),
    ("tls-creds", Quoted),
    ("tls-hostname", Quoted),
    ("tls-authz", Quoted),
    ("max-bandwidth", Number(" bytes/second")),
    ("avail-switchover-bandwidth", Number(" bytes/second")),
    ("max-postcopy-bandwidth", Number(" bytes/second")),
    ("downtime-limit", Number(" ms")),
    ("x-checkpoint-delay", Number(" ms")),
    ("multifd-channels", Number("")),
    ("multifd-compression", Name),
    ("zero-page-detection", Name),
    ("xbzrle-cache-size", Number(" bytes")),
    ("block-bitmap-mapping", BitmapMapping),
    ("x-vcpu-dirty-limit-period", Number(" ms")),
    ("vcpu-dirty-limit", Number(" MB/s")),
    ("mode", Name),
    ("direct-io", OnOff),
    ("x-rdma-chunk-size", Number(" bytes")),
    ("cpr-exec-command", Words),
];

/// The order QEMU's `info migrate_parameters` prints the parameters in for
/// `version` (the table form follows it too).
pub fn parameter_order(version: &QemuVersion) -> impl Iterator<Item = &'static str> {
    table_for(version).iter().map(|(name, _)| *name)
}

fn table_for(version: &QemuVersion) -> &'static [(&'static str, Shape)] {
    if version.at_least(10, 1) {
        FROM_10_1
    } else {
        UNTIL_10_0
    }
}

pub(super) fn render(ctx: &RenderContext, replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "migrate_parameters";
    let params = match reply_at(NAME, replies, 0)? {
        Ok(value) => as_object(NAME, value)?,
        Err(text) => return Ok(text),
    };
    let table = table_for(&ctx.version);
    let mut out = String::new();
    for &(key, shape) in table.iter().filter(|(key, _)| has(params, key)) {
        match shape {
            Number(unit) => out += &format!("{key}: {}{unit}\n", uint(params, key)),
            OnOff => out += &format!("{key}: {}\n", on_off(flag(params, key))),
            Quoted => out += &format!("{key}: '{}'\n", text(params, key)),
            Name => out += &format!("{key}: {}\n", text(params, key)),
            Words => {
                out += &format!("{key}:");
                for word in list(params, key) {
                    out += &format!(" {}", word.as_str().unwrap_or_default());
                }
                out.push('\n');
            }
            BitmapMapping => bitmap_mapping(&mut out, key, params),
        }
    }
    Ok(out)
}

fn bitmap_mapping(out: &mut String, key: &str, params: &Value) {
    *out += &format!("{key}:\n");
    for node in list(params, key) {
        *out += &format!(
            "  '{}' -> '{}'\n",
            text(node, "node-name"),
            text(node, "alias")
        );
        for bitmap in list(node, "bitmaps") {
            *out += &format!(
                "    '{}' -> '{}'\n",
                text(bitmap, "name"),
                text(bitmap, "alias")
            );
        }
    }
}
