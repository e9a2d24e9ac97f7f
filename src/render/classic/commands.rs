//! Classic output of commands (not `info`) that print a fixed message on
//! success.

use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use serde_json::Value;

pub fn render(
    name: &str,
    _ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Option<Result<String, RenderError>> {
    let outcome = match replies.first() {
        Some(Err(e)) => return Some(Ok(super::hmp_error(&e.desc))),
        Some(Ok(v)) => Some(v),
        None => None,
    };
    let text = match name {
        "calc_dirty_rate" => format!(
            "Starting dirty rate measurement with period {} seconds\n[Please use 'info dirty_rate' to check results]\n",
            args.int("second").unwrap_or(0)
        ),
        "cancel_vcpu_dirty_limit" => "[Please use 'info vcpu_dirty_limit' to query dirty limit for virtual CPU]\n".into(),
        "xen-event-list" => xen_event_list(outcome.unwrap_or(&Value::Null)),
        _ => return None,
    };
    Some(Ok(text))
}

/// One line per Xen event channel, as QEMU prints `xen-event-list`: the
/// target in parentheses except for IPIs, with the remote domain when known.
fn xen_event_list(reply: &Value) -> String {
    let mut out = String::new();
    for port in reply.as_array().into_iter().flatten() {
        let num = |k: &str| port.get(k).and_then(Value::as_i64).unwrap_or(0);
        let flag = |k: &str| port.get(k).and_then(Value::as_bool).unwrap_or(false);
        let kind = port.get("type").and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!(
            "port {:4}: vcpu: {} {}",
            num("port"),
            num("vcpu"),
            kind
        ));
        if kind != "ipi" {
            out.push('(');
            if let Some(domain) = port.get("remote-domain").and_then(Value::as_str) {
                out.push_str(domain);
                out.push(':');
            }
            out.push_str(&format!("{})", num("target")));
        }
        if flag("pending") {
            out.push_str(" PENDING");
        }
        if flag("masked") {
            out.push_str(" MASKED");
        }
        out.push('\n');
    }
    out
}
