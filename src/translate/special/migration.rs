//! `migrate` and `migrate_set_parameter`.

use super::single;
use crate::parse::Args;
use crate::translate::typing::Typing;
use crate::translate::{Plan, QmpRequest};
use serde_json::{json, Map, Value};

/// `migrate -d [-r] URI` → `migrate`. Without `-d`, QEMU's HMP (which cannot
/// block a QMP client) continues detached and says so in the words of its
/// own version: such a line goes to it.
pub(super) fn migrate(args: &Args, passthrough: impl Fn() -> Plan) -> Plan {
    if !args.flag("detach") {
        return passthrough();
    }
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

/// `migrate_set_parameter NAME VALUE` → `migrate-set-parameters {NAME: VALUE}`.
/// The value is typed against the connected QEMU's schema when the request
/// is sent (see [`crate::translate::exact::migration_parameter`]); a name or
/// value that HMP reads in its own way goes to QEMU's HMP.
pub(super) fn migrate_set_parameter(args: &Args) -> Plan {
    let name = args.str("parameter").unwrap_or_default();
    let text = args.str("value").unwrap_or_default();
    let mut arguments = Map::new();
    arguments.insert(name.to_string(), json!(text));
    Plan::Qmp(vec![QmpRequest::new(
        "migrate-set-parameters",
        Some(Value::Object(arguments)),
    )
    .with_typing(Typing::MigrationParameter {
        name: name.to_string(),
        text: text.to_string(),
    })])
}
