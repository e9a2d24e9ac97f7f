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
    if let Some(Err(e)) = replies.first() {
        if let Some(text) = qemu_error_text(name, &e.desc, args) {
            return Some(Ok(text));
        }
    }
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
        "set_password" | "migrate_set_capability" => String::new(),
        _ => return None,
    };
    Some(Ok(text))
}

/// Where QEMU's HMP handler words a failure differently from QMP's error.
fn qemu_error_text(name: &str, desc: &str, args: &Args) -> Option<String> {
    match name {
        // HMP checks the capability name itself before calling QMP.
        "migrate_set_capability" => {
            // QAPI's wording until 6.0: "Invalid parameter 'NAME'".
            let value = desc
                .strip_prefix("Parameter 'capability' does not accept value '")
                .or_else(|| desc.strip_prefix("Invalid parameter '"))?
                .strip_suffix('\'')?;
            Some(format!("Error: invalid parameter value: {value}\n"))
        }
        // QEMU's VNC code adds advice to the monitor before the error itself.
        "set_password" if args.str("protocol") == Some("vnc") && desc == "Could not set password" => Some(format!(
            "If you want use passwords please enable password auth using '-vnc ${{dpy}},password'.\n{}",
            super::hmp_error(desc)
        )),
        // QEMU 10.1+ adds a hint to the error, without a final newline.
        "set_password" if desc == "VNC password authentication is disabled" => Some(format!(
            "{}To enable it, use '-vnc ...,password-secret=ID'",
            super::hmp_error(desc)
        )),
        "set_password" if desc == "SPICE authentication is disabled" => Some(format!(
            "{}To enable it use '-spice ...,password-secret=ID'",
            super::hmp_error(desc)
        )),
        _ => None,
    }
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
