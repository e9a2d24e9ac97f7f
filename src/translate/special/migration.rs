//! `migrate` and `migrate_set_parameter`.

use crate::parse::Args;
use crate::translate::exact;
use crate::translate::typing::{Kind, Typing};
use crate::translate::{Plan, QmpRequest};
use serde_json::{json, Map, Value};

/// `migrate [-d] [-r] URI` → `migrate`. Without `-d`, QEMU's HMP (which
/// cannot block a QMP client) continues detached and says so in the words of
/// its own version, so such a line is left to it (see [`Typing::OwnHmp`]).
pub(super) fn migrate(args: &Args) -> Plan {
    let mut arguments = Map::new();
    arguments.insert("uri".into(), json!(args.str("uri")));
    for member in ["blk", "inc"] {
        if args.flag(member) {
            arguments.insert(member.into(), json!(true));
        }
    }
    arguments.insert("resume".into(), json!(args.flag("resume")));
    let request = QmpRequest::new("migrate", Some(Value::Object(arguments)));
    Plan::Qmp(vec![if args.flag("detach") {
        request
    } else {
        request.with_typing(Typing::OwnHmp)
    }])
}

/// `migrate_set_parameter NAME VALUE` → `migrate-set-parameters {NAME: VALUE}`.
/// The value is typed against the connected QEMU's schema when the request
/// is sent (see [`crate::translate::exact::migration_parameter`]); a name or
/// value that HMP reads in its own way goes to QEMU's HMP.
pub(super) fn migrate_set_parameter(args: &Args) -> Plan {
    let name = args.str("parameter").unwrap_or_default();
    let text = args.str("value").unwrap_or_default();
    // Without a live QEMU (`--dry-run`) the value's look stands in for the
    // parameter's type.
    let guess = if exact::plain_integer(text, false).is_some() {
        Kind::Integer
    } else if exact::plain_bool(text).is_some() {
        Kind::Boolean
    } else {
        Kind::Text
    };
    let arguments = exact::migration_parameter(name, Some(guess), text).unwrap_or_else(|_| {
        let mut raw = Map::new();
        raw.insert(name.to_string(), json!(text));
        raw
    });
    Plan::Qmp(vec![QmpRequest::new(
        "migrate-set-parameters",
        Some(Value::Object(arguments)),
    )
    .with_typing(Typing::MigrationParameter {
        name: name.to_string(),
        text: text.to_string(),
    })])
}
