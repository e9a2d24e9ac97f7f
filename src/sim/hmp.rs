//! `human-monitor-command`: the few HMP lines the simulator can answer
//! itself. Everything else gets QEMU's own "unknown command" text, so a
//! client that falls back to HMP sees a clean, recognisable failure and can
//! use the QMP commands instead.
//!
//! Answered: `info status|name|version|kvm|uuid|balloon`, `stop`,
//! `cont`/`c`, `system_reset`, `system_powerdown` (and the empty line).

use super::args::{obj, opt, req, ArgsExt, Obj, Ty};
use super::commands::{self, Cmd};
use super::error::{CmdResult, QmpError};
use super::info::{CPUS, PACKAGE, VERSION};
use super::machine::RunState;
use super::state::State;
use serde_json::{Map, Value};

fn unknown(what: &str) -> String {
    format!("unknown command: '{what}'\r\n")
}

fn info(st: &State, what: &str) -> String {
    match what {
        "status" => {
            let rs = st.machine.run_state;
            match rs {
                RunState::Running => "VM status: running\r\n".into(),
                RunState::Paused => "VM status: paused\r\n".into(),
                other => format!("VM status: paused ({})\r\n", other.as_str()),
            }
        }
        "name" => format!("{}\r\n", st.machine.name),
        "version" => {
            let (a, b, c) = VERSION;
            format!("{a}.{b}.{c}{PACKAGE}\r\n")
        }
        "kvm" => "kvm support: enabled\r\n".into(),
        "uuid" => format!("{}\r\n", st.machine.uuid),
        "balloon" => match &st.balloon {
            Some(b) => format!("balloon: actual={}\r\n", b.actual >> 20),
            None => "Error: No balloon device has been activated\r\n".into(),
        },
        _ => unknown(&format!("info {what}")),
    }
}

/// Run an HMP action through its QMP twin; errors print as HMP does.
fn action(st: &mut State, qmp: &str) -> String {
    let Some(cmd) = commands::find(qmp) else {
        return unknown(qmp);
    };
    match commands::dispatch(st, cmd, &Map::new()) {
        Ok(_) => String::new(),
        Err(e) => format!("Error: {}\r\n", e.desc),
    }
}

fn human_monitor_command(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    if let Some(cpu) = a.int_arg("cpu-index") {
        if !(0..CPUS).contains(&cpu) {
            return Err(QmpError::invalid_value("cpu-index", "a CPU number"));
        }
    }
    let line = a.str_arg("command-line").unwrap_or_default();
    let mut words = line.split_whitespace();
    let out = match (words.next(), words.next()) {
        (None, _) => String::new(),
        (Some("info"), Some(what)) => info(st, what),
        (Some("info"), None) => unknown("info"),
        (Some("stop"), None) => action(st, "stop"),
        (Some("c" | "cont"), None) => action(st, "cont"),
        (Some("system_reset"), None) => action(st, "system_reset"),
        (Some("system_powerdown"), None) => action(st, "system_powerdown"),
        (Some(cmd), _) => unknown(cmd),
    };
    Ok(Value::String(out))
}

const HMC: Obj = obj(&[req("command-line", Ty::Str), opt("cpu-index", Ty::Int)]);

pub(crate) const COMMANDS: &[Cmd] = &[Cmd::new(
    "human-monitor-command",
    &HMC,
    human_monitor_command,
)];
