//! Keyboard: `sendkey`. (`mouse_move` and `mouse_button` are HMP-only:
//! QEMU's HMP injects them even into a paused VM, where `input-send-event`
//! answers "VM not running".)

use super::{refused, single};
use crate::parse::Args;
use crate::translate::{Plan, TranslateError};
use serde_json::json;

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
