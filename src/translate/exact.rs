//! Typing option values exactly as QEMU's HMP handler would, or not at all.
//!
//! HMP parses `key=value` options and `migrate_set_parameter` values with
//! string visitors: `-1` may be refused where QMP would take it, `010` is
//! octal, `1.5` is a size in MiB for some parameters. QMP is typed, so a
//! value can go over QMP only when its typed form is certainly what HMP would
//! have made of it. Everything else is left to QEMU's own HMP (the caller
//! falls back to `human-monitor-command`), so the accept set, the effect and
//! the messages are the connected QEMU's by construction.

use super::typing::Kind;
use serde_json::{json, Map, Value};

/// Why a set of options cannot be typed exactly; the caller lets QEMU's HMP
/// handle the line instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotExact(pub String);

/// A plain decimal integer, no sign unless `signed`, no leading zeros, no
/// suffix: the only spelling every HMP integer and size visitor reads the
/// same way as QMP's JSON number.
pub fn plain_integer(text: &str, signed: bool) -> Option<i64> {
    let digits = match text.strip_prefix('-') {
        Some(rest) if signed => rest,
        Some(_) => return None,
        None => text,
    };
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !well_formed {
        return None;
    }
    text.parse::<i64>().ok()
}

/// The boolean spellings every QEMU release's HMP accepts.
pub fn plain_bool(text: &str) -> Option<bool> {
    match text {
        "on" | "yes" | "true" => Some(true),
        "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// One value of a known kind, or `None` when HMP might read it otherwise.
pub fn exact_value(kind: Kind, text: &str) -> Option<Value> {
    match kind {
        // Negative numbers: QEMU crashes on some (`size=-1` over QMP),
        // and HMP reads others its own way; QEMU's HMP takes them all.
        Kind::Integer => plain_integer(text, false).map(Value::from),
        Kind::Boolean => plain_bool(text).map(Value::Bool),
        Kind::Text => Some(Value::String(text.to_string())),
        // Floats and lists of anything but strings: HMP's parsers only.
        Kind::Number | Kind::StringList => None,
    }
}

/// Types `options` (in the order given, repeats kept) with `kind_of`.
/// A key without a known kind, a repeated key that is not a list, or a
/// value HMP might read differently makes the whole set [`NotExact`].
/// List members (`hostfwd`) collect every occurrence, as QEMU's option
/// visitor does for repeated keys.
pub fn type_options(
    options: &[(String, String)],
    kind_of: impl Fn(&str) -> Option<Kind>,
) -> Result<Map<String, Value>, NotExact> {
    let mut out = Map::new();
    for (key, text) in options {
        let kind = kind_of(key).ok_or_else(|| NotExact(format!("unknown key '{key}'")))?;
        if kind == Kind::StringList {
            let list = out.entry(key.clone()).or_insert_with(|| json!([]));
            if let Value::Array(items) = list {
                items.push(json!({ "str": text }));
            }
            continue;
        }
        if out.contains_key(key) {
            return Err(NotExact(format!("'{key}' given twice")));
        }
        let value = exact_value(kind, text)
            .ok_or_else(|| NotExact(format!("'{key}={text}' needs QEMU's own parser")))?;
        out.insert(key.clone(), value);
    }
    Ok(out)
}

/// `migrate_set_parameter NAME TEXT` as `migrate-set-parameters` arguments.
/// `kind` is the parameter's kind in the connected QEMU's schema (`None`:
/// no such parameter there). Bandwidth limits are in MiB unless suffixed;
/// every other integer is a plain unsigned number.
pub fn migration_parameter(
    name: &str,
    kind: Option<Kind>,
    text: &str,
) -> Result<Map<String, Value>, NotExact> {
    let not_exact = || NotExact(format!("'{name} {text}' needs QEMU's own parser"));
    let kind = kind.ok_or_else(not_exact)?;
    let value = match kind {
        Kind::Integer if mebibyte_parameter(name) => {
            let mib = plain_integer(text, false).ok_or_else(not_exact)?;
            Value::from(mib.checked_mul(1 << 20).ok_or_else(not_exact)?)
        }
        Kind::Integer => Value::from(plain_integer(text, false).ok_or_else(not_exact)?),
        other => exact_value(other, text).ok_or_else(not_exact)?,
    };
    let mut out = Map::new();
    out.insert(name.to_string(), value);
    Ok(out)
}

/// Parameters HMP reads in MiB when no suffix is given (QEMU 5.2 – 11.1).
fn mebibyte_parameter(name: &str) -> bool {
    matches!(name, "max-bandwidth" | "avail-switchover-bandwidth")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_plain_decimals_are_integers() {
        assert_eq!(plain_integer("10", false), Some(10));
        assert_eq!(plain_integer("0", false), Some(0));
        assert_eq!(plain_integer("-1", true), Some(-1));
        for odd in [
            "-1",
            "010",
            "0x10",
            "1k",
            "1.5",
            "",
            "+1",
            " 1",
            "99999999999999999999",
        ] {
            assert_eq!(plain_integer(odd, false), None, "{odd}");
        }
        assert_eq!(plain_integer("-0", true), Some(0));
    }

    #[test]
    fn lists_collect_repeats_and_scalars_refuse_them() {
        let kind = |k: &str| match k {
            "hostfwd" => Some(Kind::StringList),
            "id" | "type" => Some(Kind::Text),
            "ipv4" => Some(Kind::Boolean),
            _ => None,
        };
        let typed = type_options(
            &opts(&[
                ("id", "n"),
                ("type", "user"),
                ("hostfwd", "a"),
                ("hostfwd", "b"),
                ("ipv4", "on"),
            ]),
            kind,
        )
        .unwrap();
        assert_eq!(
            Value::Object(typed),
            json!({"id": "n", "type": "user", "hostfwd": [{"str": "a"}, {"str": "b"}], "ipv4": true})
        );
        assert!(type_options(&opts(&[("id", "a"), ("id", "b")]), kind).is_err());
        assert!(type_options(&opts(&[("nosuch", "1")]), kind).is_err());
        assert!(type_options(&opts(&[("ipv4", "maybe")]), kind).is_err());
    }

    #[test]
    fn migration_values() {
        let int = Some(Kind::Integer);
        assert_eq!(
            migration_parameter("max-bandwidth", int, "10").unwrap()["max-bandwidth"],
            json!(10 << 20)
        );
        assert!(migration_parameter("max-bandwidth", int, "-1").is_err());
        assert!(migration_parameter("max-bandwidth", int, "10Q").is_err());
        assert!(migration_parameter("max-bandwidth", int, "9999999999999").is_err());
        assert_eq!(
            migration_parameter("downtime-limit", int, "300").unwrap()["downtime-limit"],
            json!(300)
        );
        assert!(migration_parameter("downtime-limit", int, "-1").is_err());
        assert!(migration_parameter("nosuch", None, "1").is_err());
        assert_eq!(
            migration_parameter("tls-creds", Some(Kind::Text), "a b").unwrap()["tls-creds"],
            json!("a b")
        );
        assert!(migration_parameter("cpu-throttle-tailslow", Some(Kind::Boolean), "y").is_err());
    }
}
