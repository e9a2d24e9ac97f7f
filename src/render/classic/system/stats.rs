//! `info stats target [names] [provider]`.
//!
//! Replies, in order: `query-stats-schemas` (with `provider` when given),
//! then `query-stats` with the filter HMP builds (for target `vcpu`, the
//! monitor's current CPU only).

use crate::parse::Args;
use crate::render::classic::fields::{as_int, bad_reply, list_of_objects, reply, Fields};
use crate::render::classic::fmt::{iec_binary_prefix, si_prefix};
use crate::render::{RenderError, Reply};
use crate::version::QemuVersion;
use serde_json::Value;
use std::fmt::Write;

/// StatsTarget and StatsProvider values the given QEMU accepts; HMP
/// rejects anything else before asking QMP.
fn targets(v: &QemuVersion) -> &'static [&'static str] {
    if v.at_least(8, 0) {
        &["vm", "vcpu", "cryptodev"]
    } else {
        &["vm", "vcpu"]
    }
}

fn providers(v: &QemuVersion) -> &'static [&'static str] {
    if v.at_least(8, 0) {
        &["kvm", "cryptodev"]
    } else {
        &["kvm"]
    }
}

pub fn render(
    name: &str,
    v: &QemuVersion,
    replies: &[Reply],
    args: &Args,
) -> Result<String, RenderError> {
    let target = args
        .str("target")
        .ok_or_else(|| bad_reply(name, "argument 'target' is missing"))?;
    if !targets(v).contains(&target) {
        return Ok(format!("invalid stats target {target}\n"));
    }
    let provider = args.str("provider");
    if let Some(p) = provider {
        if !providers(v).contains(&p) {
            return Ok(format!("invalid stats provider {p}\n"));
        }
    }
    // Failures print the bare QMP message.
    let schemas = match reply(name, replies, 0)? {
        Ok(s) => list_of_objects(name, s)?,
        Err(e) => return Ok(format!("{}\n", e.desc)),
    };
    let results = match reply(name, replies, 1)? {
        Ok(r) => list_of_objects(name, r)?,
        Err(e) => return Ok(format!("{}\n", e.desc)),
    };
    let mut out = String::new();
    for result in results {
        print_result(&mut out, target, provider.is_none(), &result, &schemas)?;
    }
    Ok(out)
}

fn print_result(
    out: &mut String,
    target: &str,
    show_provider: bool,
    result: &Fields,
    schemas: &[Fields],
) -> Result<(), RenderError> {
    let provider = result.str("provider")?;
    let mut schema = None;
    for s in schemas {
        if s.str("provider")? == provider && s.str("target")? == target {
            schema = Some(s.objects("stats")?);
            break;
        }
    }
    let Some(schema) = schema else {
        let _ = writeln!(out, "failed to find schema list for {provider}");
        return Ok(());
    };
    if show_provider {
        let _ = writeln!(out, "provider: {provider}");
    }
    // Results come in schema order; each search resumes where the last
    // one matched, moving past it afterwards.
    let mut at = 0;
    for stat in result.objects("stats")? {
        let stat_name = stat.str("name")?;
        loop {
            match schema.get(at) {
                Some(entry) if entry.str("name")? == stat_name => break,
                Some(_) if at + 1 < schema.len() => at += 1,
                _ => {
                    let _ = writeln!(out, "failed to find schema entry for {stat_name}");
                    return Ok(());
                }
            }
        }
        if let Some(entry) = schema.get(at) {
            print_schema_value(out, entry)?;
        }
        print_value(out, result.renderer(), stat_name, &stat)?;
        at += 1;
    }
    Ok(())
}

/// `    name (type[, unit])`, the unit with an SI or IEC prefix when one
/// fits the exponent, else spelled out as `* base^exponent`.
fn print_schema_value(out: &mut String, entry: &Fields) -> Result<(), RenderError> {
    let unit_name = entry.opt_str("unit")?;
    let exponent = entry.int("exponent")?;
    let base = entry.opt_int("base")?.unwrap_or(0);
    let _ = write!(
        out,
        "    {} ({}{}",
        entry.str("name")?,
        entry.str("type")?,
        if unit_name.is_some() || exponent != 0 {
            ", "
        } else {
            ""
        }
    );
    let mut unit = match unit_name {
        Some("seconds") => Some("s"),
        Some("bytes") => Some("B"),
        _ => None,
    };
    let si = si_prefix(exponent).filter(|_| unit.is_some() && base == 10);
    let iec = iec_binary_prefix(exponent).filter(|_| unit.is_some() && base == 2);
    if let Some(prefix) = si.or(iec) {
        out.push_str(prefix);
    } else if exponent != 0 {
        let space = if unit_name.is_some() { " " } else { "" };
        let _ = write!(out, "* {base}^{exponent}{space}");
        unit = None;
    }
    if let Some(long_name) = unit_name {
        out.push_str(unit.unwrap_or(long_name));
    }
    if entry.str("type")? == "linear-histogram" {
        if let Some(bucket) = entry.opt_int("bucket-size")? {
            let _ = write!(out, ", bucket size={}", bucket as i32);
        }
    }
    out.push(')');
    Ok(())
}

fn print_value(
    out: &mut String,
    renderer: &str,
    name: &str,
    stat: &Fields,
) -> Result<(), RenderError> {
    let not_integer = || bad_reply(renderer, format!("stat '{name}' holds a non-integer"));
    match stat.raw("value") {
        Some(Value::Bool(b)) => {
            let _ = writeln!(out, ": {}", if *b { "yes" } else { "no" });
        }
        Some(Value::Array(buckets)) => {
            out.push_str(": ");
            for (i, bucket) in buckets.iter().enumerate() {
                let n = as_int(bucket).ok_or_else(not_integer)?;
                let _ = write!(out, "[{}]={n} ", i + 1);
            }
            out.push('\n');
        }
        Some(number @ Value::Number(_)) => {
            let n = as_int(number).ok_or_else(not_integer)?;
            let _ = writeln!(out, ": {n}");
        }
        // Any other kind of value: HMP prints nothing after the name.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Unit spellings the live KVM statistics do not use; expectations
    //! follow QEMU's format.
    use super::*;
    use crate::parse::ArgValue;
    use serde_json::json;

    fn schema_line(entry: Value) -> String {
        let mut out = String::new();
        print_schema_value(&mut out, &Fields::new("stats", &entry).unwrap()).unwrap();
        out
    }

    #[test]
    fn units_and_exponents() {
        let cases = [
            (
                json!({"name": "a", "type": "instant", "unit": "bytes", "base": 2, "exponent": 20}),
                "    a (instant, MiB)",
            ),
            (
                json!({"name": "b", "type": "cumulative", "unit": "cycles", "base": 10, "exponent": 3}),
                "    b (cumulative, * 10^3 cycles)",
            ),
            (
                json!({"name": "c", "type": "peak", "base": 10, "exponent": -3}),
                "    c (peak, * 10^-3)",
            ),
            (
                json!({"name": "d", "type": "instant", "unit": "seconds", "base": 10, "exponent": 2}),
                "    d (instant, * 10^2 seconds)",
            ),
            (
                json!({"name": "e", "type": "linear-histogram", "exponent": 0, "bucket-size": 5}),
                "    e (linear-histogram, bucket size=5)",
            ),
            (
                json!({"name": "f", "type": "instant", "unit": "seconds", "base": 10, "exponent": 0}),
                "    f (instant, s)",
            ),
        ];
        for (entry, want) in cases {
            assert_eq!(schema_line(entry), want);
        }
    }

    #[test]
    fn schema_mismatches_are_reported() {
        let mut args = Args::new();
        args.insert("target", ArgValue::Str("vm".into()));
        let schemas = json!([{"provider": "kvm", "target": "vm", "stats": [
            {"name": "x", "type": "cumulative", "exponent": 0}]}]);
        let v = QemuVersion::new(10, 0, 0);
        let results = json!([{"provider": "kvm", "stats": [
            {"name": "x", "value": 1}, {"name": "y", "value": 2}]}]);
        let out = render("stats", &v, &[Ok(schemas.clone()), Ok(results)], &args).unwrap();
        assert_eq!(
            out,
            "provider: kvm\n    x (cumulative): 1\nfailed to find schema entry for y\n"
        );
        let results = json!([{"provider": "cryptodev", "stats": []}]);
        let out = render("stats", &v, &[Ok(schemas), Ok(results)], &args).unwrap();
        assert_eq!(out, "failed to find schema list for cryptodev\n");
    }
}
