//! Keyboard and mouse input (`send-key`, `input-send-event`), the mouse
//! list, and `screendump`.

use super::args::{obj, opt, req, ArgsExt, Obj, Ty, Union};
use super::commands::Cmd;
use super::error::{ok, CmdResult, QmpError};
use super::state::{State, Task};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// What the guest was sent, for lessons to check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputLog {
    /// Key combinations from `send-key`, as qcode names (`0x1e` for
    /// numbers), oldest first (bounded).
    pub key_combos: Vec<Vec<String>>,
    /// Events accepted by `input-send-event`.
    pub events: u64,
    /// Files written by `screendump`.
    pub screendumps: Vec<String>,
}

const LOG_CAP: usize = 100;

/// The guest reboots this long after ctrl-alt-delete.
const CAD_REBOOT_DELAY: Duration = Duration::from_millis(300);

/// QKeyCode values of QEMU 10.0.
#[rustfmt::skip]
pub const QKEYCODES: [&str; 162] = [
    "unmapped", "shift", "shift_r", "alt", "alt_r", "ctrl", "ctrl_r", "menu", "esc", "1", "2", "3",
    "4", "5", "6", "7", "8", "9", "0", "minus", "equal", "backspace", "tab", "q", "w", "e", "r",
    "t", "y", "u", "i", "o", "p", "bracket_left", "bracket_right", "ret", "a", "s", "d", "f", "g",
    "h", "j", "k", "l", "semicolon", "apostrophe", "grave_accent", "backslash", "z", "x", "c", "v",
    "b", "n", "m", "comma", "dot", "slash", "asterisk", "spc", "caps_lock", "f1", "f2", "f3", "f4",
    "f5", "f6", "f7", "f8", "f9", "f10", "num_lock", "scroll_lock", "kp_divide", "kp_multiply",
    "kp_subtract", "kp_add", "kp_enter", "kp_decimal", "sysrq", "kp_0", "kp_1", "kp_2", "kp_3",
    "kp_4", "kp_5", "kp_6", "kp_7", "kp_8", "kp_9", "less", "f11", "f12", "print", "home", "pgup",
    "pgdn", "end", "left", "up", "down", "right", "insert", "delete", "stop", "again", "props",
    "undo", "front", "copy", "open", "paste", "find", "cut", "lf", "help", "meta_l", "meta_r",
    "compose", "pause", "ro", "hiragana", "henkan", "yen", "muhenkan", "katakanahiragana",
    "kp_comma", "kp_equals", "power", "sleep", "wake", "audionext", "audioprev", "audiostop",
    "audioplay", "audiomute", "volumeup", "volumedown", "mediaselect", "mail", "calculator",
    "computer", "ac_home", "ac_back", "ac_forward", "ac_refresh", "ac_bookmarks", "lang1", "lang2",
    "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24",
];

fn key_name(k: &Value) -> String {
    match k.get("data") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => format!("{:#x}", n.as_i64().unwrap_or(0)),
        _ => String::new(),
    }
}

fn is_ctrl_alt_delete(keys: &[String]) -> bool {
    let has = |names: &[&str]| keys.iter().any(|k| names.contains(&k.as_str()));
    has(&["ctrl", "ctrl_r"]) && has(&["alt", "alt_r"]) && has(&["delete", "kp_decimal"])
}

fn send_key(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let keys: Vec<String> = a
        .get("keys")
        .and_then(Value::as_array)
        .map(|ks| ks.iter().map(key_name).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return ok();
    }
    if is_ctrl_alt_delete(&keys) && st.machine.firmware_ran {
        st.after_guest(CAD_REBOOT_DELAY, Task::GuestReset);
    }
    let log = &mut st.input.key_combos;
    if log.len() >= LOG_CAP {
        log.remove(0);
    }
    log.push(keys);
    ok()
}

/// Only the default display exists; QEMU names consoles by device id.
fn check_console(a: &Map<String, Value>) -> Result<(), QmpError> {
    if let Some(dev) = a.str_arg("device") {
        if dev != "video0" {
            return Err(QmpError::device_not_found(dev));
        }
    }
    match a.int_arg("head") {
        Some(h) if h != 0 => Err(QmpError::generic(format!(
            "Device '{}' (head {h}) is not a graphic console",
            a.str_arg("device").unwrap_or("video0")
        ))),
        _ => Ok(()),
    }
}

fn input_send_event(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    check_console(a)?;
    if !st.machine.run_state.is_running() {
        return Err(QmpError::generic("VM not running"));
    }
    let events = a
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in &events {
        // A PS/2 keyboard and mouse: no absolute pointer, no touch.
        let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "abs" || kind == "mtt" {
            return Err(QmpError::generic(format!(
                "Input handler not found for event type {kind}"
            )));
        }
    }
    st.input.events += events.len() as u64;
    ok()
}

fn query_mice(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!([{"name": "QEMU PS/2 Mouse", "index": 2, "current": true, "absolute": false}]))
}

fn screendump(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    check_console(a)?;
    let filename = a.str_arg("filename").unwrap_or_default();
    let png = a.str_arg("format") == Some("png");
    let image = super::screendump::render(st);
    let bytes = if png { image.to_png() } else { image.to_ppm() };
    std::fs::write(filename, bytes).map_err(|e| {
        QmpError::generic(format!(
            "failed to open file '{filename}': {}",
            super::screendump::os_error_text(&e)
        ))
    })?;
    let log = &mut st.input.screendumps;
    if log.len() >= LOG_CAP {
        log.remove(0);
    }
    log.push(filename.to_string());
    ok()
}

const KEY_NUMBER: Obj = obj(&[req("data", Ty::Int)]);
const KEY_QCODE: Obj = obj(&[req("data", Ty::Enum(&QKEYCODES))]);
const KEY_VALUE: Obj = Obj {
    members: &[req("type", Ty::Enum(&["number", "qcode"]))],
    union: Some(Union {
        tag: "type",
        cases: &[("number", &KEY_NUMBER), ("qcode", &KEY_QCODE)],
        open_cases: false,
    }),
};
const SEND_KEY: Obj = obj(&[
    req("keys", Ty::List(&Ty::Obj(&KEY_VALUE))),
    opt("hold-time", Ty::Int),
]);
const AXIS: Ty = Ty::Enum(&["x", "y"]);
const BUTTONS: Ty = Ty::Enum(&[
    "left",
    "middle",
    "right",
    "wheel-up",
    "wheel-down",
    "side",
    "extra",
    "wheel-left",
    "wheel-right",
    "touch",
]);
const KEY_EVENT: Obj = obj(&[req("key", Ty::Obj(&KEY_VALUE)), req("down", Ty::Bool)]);
const BTN_EVENT: Obj = obj(&[req("button", BUTTONS), req("down", Ty::Bool)]);
const MOVE_EVENT: Obj = obj(&[req("axis", AXIS), req("value", Ty::Int)]);
const MTT_EVENT: Obj = obj(&[
    req(
        "type",
        Ty::Enum(&["begin", "update", "end", "cancel", "data"]),
    ),
    req("slot", Ty::Int),
    req("tracking-id", Ty::Int),
    req("axis", AXIS),
    req("value", Ty::Int),
]);
const KEY_WRAP: Obj = obj(&[req("data", Ty::Obj(&KEY_EVENT))]);
const BTN_WRAP: Obj = obj(&[req("data", Ty::Obj(&BTN_EVENT))]);
const MOVE_WRAP: Obj = obj(&[req("data", Ty::Obj(&MOVE_EVENT))]);
const MTT_WRAP: Obj = obj(&[req("data", Ty::Obj(&MTT_EVENT))]);
const INPUT_EVENT: Obj = Obj {
    members: &[req("type", Ty::Enum(&["key", "btn", "rel", "abs", "mtt"]))],
    union: Some(Union {
        tag: "type",
        cases: &[
            ("key", &KEY_WRAP),
            ("btn", &BTN_WRAP),
            ("rel", &MOVE_WRAP),
            ("abs", &MOVE_WRAP),
            ("mtt", &MTT_WRAP),
        ],
        open_cases: false,
    }),
};
const INPUT_SEND_EVENT: Obj = obj(&[
    opt("device", Ty::Str),
    opt("head", Ty::Int),
    req("events", Ty::List(&Ty::Obj(&INPUT_EVENT))),
]);
const SCREENDUMP: Obj = obj(&[
    req("filename", Ty::Str),
    opt("device", Ty::Str),
    opt("head", Ty::Int),
    opt("format", Ty::Enum(&["ppm", "png"])),
]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("send-key", &SEND_KEY, send_key),
    Cmd::new("input-send-event", &INPUT_SEND_EVENT, input_send_event),
    Cmd::new("query-mice", &super::args::NONE, query_mice),
    Cmd::new("screendump", &SCREENDUMP, screendump),
];
