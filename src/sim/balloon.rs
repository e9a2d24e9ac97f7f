//! The virtio balloon: `balloon` sets a target, the guest driver moves the
//! actual size towards it while the guest runs, and BALLOON_CHANGE reports
//! progress at most once a second (QEMU throttles that event the same way).

use super::args::{obj, req, ArgsExt, Obj, Ty};
use super::commands::Cmd;
use super::error::{ok, CmdResult, ErrorClass, QmpError};
use super::machine::RAM_SIZE;
use super::state::State;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// How fast the guest driver inflates or deflates, per second.
const RATE_PER_SEC: i64 = 128 << 20;
/// QEMU's rate limit for BALLOON_CHANGE.
const EVENT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balloon {
    /// Guest memory not given back to the host, in bytes.
    pub actual: i64,
    pub target: i64,
    last_event: Option<Duration>,
    reported: i64,
}

impl Balloon {
    pub fn new(ram: i64) -> Self {
        Balloon {
            actual: ram,
            target: ram,
            last_event: None,
            reported: ram,
        }
    }
}

fn not_active() -> QmpError {
    QmpError {
        class: ErrorClass::DeviceNotActive,
        desc: "No balloon device has been activated".into(),
    }
}

pub(crate) fn tick(st: &mut State, step: Duration) {
    let now = st.now;
    let guest_up = st.machine.run_state.is_running() && st.machine.firmware_ran;
    let Some(b) = &mut st.balloon else { return };
    if guest_up && b.actual != b.target {
        let delta = RATE_PER_SEC * step.as_millis() as i64 / 1000;
        b.actual = if b.actual > b.target {
            (b.actual - delta).max(b.target)
        } else {
            (b.actual + delta).min(b.target)
        };
    }
    let due = b.last_event.is_none_or(|t| now >= t + EVENT_INTERVAL);
    if b.actual != b.reported && due {
        b.reported = b.actual;
        b.last_event = Some(now);
        let actual = b.actual;
        st.emit("BALLOON_CHANGE", Some(json!({"actual": actual})));
    }
}

fn balloon(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let Some(b) = &mut st.balloon else {
        return Err(not_active());
    };
    let value = a.int_arg("value").unwrap_or(0);
    if value <= 0 {
        return Err(QmpError::invalid_value("value", "a size"));
    }
    b.target = value.min(RAM_SIZE);
    ok()
}

fn query_balloon(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    match &st.balloon {
        Some(b) => Ok(json!({"actual": b.actual})),
        None => Err(not_active()),
    }
}

const BALLOON: Obj = obj(&[req("value", Ty::Int)]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("balloon", &BALLOON, balloon),
    Cmd::new("query-balloon", &super::args::NONE, query_balloon),
];
