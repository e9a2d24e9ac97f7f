//! Keyboard and mouse: `sendkey`, `mouse_move`, `mouse_button`.

use super::{refused, single};
use crate::parse::Args;
use crate::translate::{Plan, QmpRequest, TranslateError};
use serde_json::{json, Value};

/// `sendkey ctrl-alt-delete [hold-ms]` → `send-key` with qcodes; `0x…` keys
/// are numbers and `<` means `less`, as in QEMU.
pub(super) fn sendkey(args: &Args) -> Result<Plan, TranslateError> {
    let keys = args.str("keys").unwrap_or_default();
    let mut list = Vec::new();
    for name in keys.split('-') {
        let name = if name == "<" { "less" } else { name };
        if let Some(hex) = name.strip_prefix("0x") {
            match i32::from_str_radix(hex, 16) {
                Ok(n) => list.push(json!({"type": "number", "data": n})),
                Err(_) => return Err(refused(format!("invalid parameter: {name}\n"))),
            }
        } else if crate::translate::qcodes::is_qcode(name) {
            list.push(json!({"type": "qcode", "data": name}));
        } else {
            return Err(refused(format!("invalid parameter: {name}\n")));
        }
    }
    let mut arguments = json!({"keys": list});
    if let Some(hold) = args.int("hold-time") {
        arguments["hold-time"] = json!(hold);
    }
    Ok(single("send-key", arguments))
}

/// Like C's `strtol(s, NULL, 0)`: the longest valid prefix, 0 when none.
pub(super) fn c_strtol(text: &str) -> i64 {
    let t = text.trim_start();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, hex)
    } else if t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let value = i64::from_str_radix(&digits[..end], radix).unwrap_or(0);
    if negative {
        -value
    } else {
        value
    }
}

/// `mouse_move dx dy [dz]` → relative motion, then a wheel click for `dz`.
/// QEMU's HMP injects events into a paused VM too, where `input-send-event`
/// answers "VM not running": the grammar's `errors: hmp` hands such a line
/// to QEMU's HMP.
pub(super) fn mouse_move(args: &Args) -> Plan {
    let dx = c_strtol(args.str("dx_str").unwrap_or_default());
    let dy = c_strtol(args.str("dy_str").unwrap_or_default());
    let mut events = vec![
        json!({"type": "rel", "data": {"axis": "x", "value": dx}}),
        json!({"type": "rel", "data": {"axis": "y", "value": dy}}),
    ];
    let dz = args.str("dz_str").map(c_strtol).unwrap_or(0);
    if dz == 0 {
        return single("input-send-event", json!({"events": events}));
    }
    let button = if dz > 0 { "wheel-up" } else { "wheel-down" };
    events.push(json!({"type": "btn", "data": {"down": true, "button": button}}));
    Plan::Qmp(vec![
        QmpRequest::new("input-send-event", Some(json!({"events": events}))),
        QmpRequest::new(
            "input-send-event",
            Some(json!({"events": [{"type": "btn", "data": {"down": false, "button": button}}]})),
        ),
    ])
}

/// `mouse_button STATE` (1 = left, 2 = right, 4 = middle) → button events.
pub(super) fn mouse_button(args: &Args) -> Plan {
    let state = args.int("button_state").unwrap_or(0);
    let events: Vec<Value> = [("left", 1), ("middle", 4), ("right", 2)]
        .iter()
        .map(|(button, bit)| json!({"type": "btn", "data": {"down": state & bit != 0, "button": button}}))
        .collect();
    single("input-send-event", json!({"events": events}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_takes_the_valid_prefix() {
        assert_eq!(c_strtol("10"), 10);
        assert_eq!(c_strtol("-5"), -5);
        assert_eq!(c_strtol("0x1f"), 31);
        assert_eq!(c_strtol("010"), 8);
        assert_eq!(c_strtol("12abc"), 12);
        assert_eq!(c_strtol("abc"), 0);
    }
}
