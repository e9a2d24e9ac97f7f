//! Checking a lesson's goals against the simulator (never against what was
//! typed), and the lesson `script:` actions.

use super::lesson::{Goal, Lesson};
use crate::monitor::MonitorError;
use crate::qmp::{Client, Event};
use crate::sim::{Action, Simulator};
use serde_json::{json, Map, Value};

/// The goals that do not hold yet, in lesson order: `event NAME == seen`
/// against the events emitted during the lesson, `sim PATH` against the
/// simulator's state, anything else through its QMP query.
pub async fn unmet<'l>(
    lesson: &'l Lesson,
    client: &Client,
    sim: &Simulator,
    seen: &[Event],
) -> Result<Vec<&'l Goal>, MonitorError> {
    let mut out = Vec::new();
    for goal in &lesson.goals {
        let holds = if goal.query == "sim" {
            goal.holds(&state_view(sim))
        } else if goal.query == "event" {
            let happened = seen.iter().any(|e| e.name == goal.path);
            let mut state = Map::new();
            state.insert(
                goal.path.clone(),
                (if happened { "seen" } else { "unseen" }).into(),
            );
            goal.holds(&Value::Object(state))
        } else {
            match client
                .execute(&goal.query, None)
                .await
                .map_err(MonitorError::Transport)?
            {
                Ok(reply) => goal.holds(&reply),
                Err(_) => false,
            }
        };
        if !holds {
            out.push(goal);
        }
    }
    Ok(out)
}

/// Simulator state that QMP does not show (passwords, link state, viewers,
/// what the firmware booted from), for `goal: sim PATH OP VALUE`.
fn state_view(sim: &Simulator) -> Value {
    sim.with_state(|st| {
        let links: Map<String, Value> = st
            .net
            .netdevs
            .iter()
            .map(|n| (n.id.clone(), Value::Bool(n.link_up)))
            .collect();
        let devices: Map<String, Value> = st
            .devices
            .list
            .iter()
            .filter_map(|d| Some((d.id.clone()?, Value::String(d.driver.clone()))))
            .collect();
        json!({
            "vnc": {
                "password": st.display.vnc_password.value,
                "expires": st.display.vnc_password.expires.is_some(),
                "clients": st.display.vnc_clients.len(),
            },
            "spice": {
                "password": st.display.spice_password.value,
                "expires": st.display.spice_password.expires.is_some(),
                "clients": st.display.spice_clients.len(),
            },
            "links": links,
            "devices": devices,
            "migration": {"status": st.migration.status.as_str()},
            "machine": {
                "status": st.machine.run_state.as_str(),
                "quit": st.quit,
                "boot_order": st.machine.boot_order,
                "booted_from": st.machine.booted_from,
            },
        })
    })
}

/// A lesson `script:` line: `vnc-connect HOST PORT`, `spice-connect HOST
/// PORT`, or `lock-tray DEVICE` (the guest locks a tray, as a mounted
/// cdrom is).
pub fn script_action(line: &str) -> Result<Action, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let endpoint = |w: &[&str]| -> Result<(String, u16), String> {
        match w {
            [host, port] => Ok((
                host.to_string(),
                port.parse().map_err(|_| format!("bad port in '{line}'"))?,
            )),
            _ => Err(format!("expected HOST PORT in '{line}'")),
        }
    };
    match words.split_first() {
        Some((&"vnc-connect", rest)) => {
            endpoint(rest).map(|(host, port)| Action::VncConnect { host, port })
        }
        Some((&"spice-connect", rest)) => {
            endpoint(rest).map(|(host, port)| Action::SpiceConnect { host, port })
        }
        Some((&"lock-tray", [device])) => Ok(Action::GuestLockTray {
            device: device.to_string(),
            locked: true,
        }),
        _ => Err(format!("unknown lesson script action '{line}'")),
    }
}
