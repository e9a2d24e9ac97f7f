//! `migrate` and `migrate_set_parameter`.

use super::single;
use crate::grammar::Entry;
use crate::parse::Args;
use crate::translate::{Plan, TranslateError};
use serde_json::{json, Map, Value};

/// `migrate [-d] [-r] URI` → `migrate`. qhmp never blocks the prompt on a
/// migration: progress is visible with `info migrate` (as with `-d`).
pub(super) fn migrate(args: &Args) -> Plan {
    let mut arguments = Map::new();
    arguments.insert("uri".into(), json!(args.str("uri")));
    for member in ["blk", "inc"] {
        if args.flag(member) {
            arguments.insert(member.into(), json!(true));
        }
    }
    arguments.insert("resume".into(), json!(args.flag("resume")));
    single("migrate", Value::Object(arguments))
}

/// `migrate_set_parameter NAME VALUE` → `migrate-set-parameters {NAME: VALUE}`
/// with VALUE typed as HMP's handler types it: bandwidths are sizes in MiB by
/// default, a few parameters are strings or booleans, the rest integers.
pub(super) fn migrate_set_parameter(entry: &Entry, args: &Args) -> Result<Plan, TranslateError> {
    let name = args.str("parameter").unwrap_or_default();
    let text = args.str("value").unwrap_or_default().trim_end();
    let bad = |what: &str| TranslateError::BadArgument {
        command: entry.primary_name().to_string(),
        message: format!("'{text}' is not {what} for parameter '{name}'"),
    };
    let value = match name {
        "tls-creds"
        | "tls-hostname"
        | "tls-authz"
        | "multifd-compression"
        | "zero-page-detection"
        | "mode" => json!(text),
        "cpu-throttle-tailslow" | "direct-io" | "block-incremental" | "compress-wait-thread" => {
            json!(crate::translate::typing::parse_bool(text).ok_or_else(|| bad("on or off"))?)
        }
        "max-bandwidth" | "max-postcopy-bandwidth" | "avail-switchover-bandwidth" => {
            let bytes = match text.parse::<i64>() {
                Ok(mib) => mib.checked_mul(1 << 20).ok_or_else(|| bad("a size"))?,
                Err(_) => {
                    crate::translate::typing::parse_integer(text).ok_or_else(|| bad("a size"))?
                }
            };
            json!(bytes)
        }
        _ => json!(crate::translate::typing::parse_integer(text).ok_or_else(|| bad("a number"))?),
    };
    let mut arguments = Map::new();
    arguments.insert(name.to_string(), value);
    Ok(single("migrate-set-parameters", Value::Object(arguments)))
}
