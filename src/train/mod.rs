//! `qhmp train`: guided lessons on a fresh simulated QEMU. Each lesson states
//! a situation, checks a goal against the simulator's state (through QMP
//! queries and the events it emitted, never against the typed text), offers
//! hints, and shows after each command the QMP it became.

pub mod lesson;

pub use lesson::{Goal, Lesson};

use crate::monitor::{Monitor, MonitorError};
use crate::qmp::{Client, ClientConfig, Event};
use crate::sim::{Action, SimOptions, Simulator};
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// The lesson files, embedded in the binary.
pub const LESSON_FILES: &[(&str, &str)] = &[
    ("status.lesson", include_str!("lessons/status.lesson")),
    ("pause.lesson", include_str!("lessons/pause.lesson")),
    ("eject.lesson", include_str!("lessons/eject.lesson")),
    (
        "change-medium.lesson",
        include_str!("lessons/change-medium.lesson"),
    ),
    ("resize.lesson", include_str!("lessons/resize.lesson")),
    ("spice.lesson", include_str!("lessons/spice.lesson")),
    (
        "vnc-password.lesson",
        include_str!("lessons/vnc-password.lesson"),
    ),
    ("hotplug.lesson", include_str!("lessons/hotplug.lesson")),
    ("link.lesson", include_str!("lessons/link.lesson")),
    ("balloon.lesson", include_str!("lessons/balloon.lesson")),
    ("migration.lesson", include_str!("lessons/migration.lesson")),
    ("events.lesson", include_str!("lessons/events.lesson")),
];

/// Every lesson, in file order.
pub fn lessons() -> Result<Vec<Lesson>, String> {
    LESSON_FILES
        .iter()
        .map(|(file, text)| lesson::parse(file, text))
        .collect()
}

/// How a lesson ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub solved: bool,
    pub commands: usize,
    pub hints: usize,
}

/// Where a lesson's command lines come from.
pub trait Input {
    /// The next line, or `None` when the student stops.
    fn next_line(&mut self) -> Option<String>;
}

/// How long `--check` waits at the end for goals that need time to pass
/// (a migration finishing).
const SETTLE: Duration = Duration::from_secs(5);

/// Runs a lesson on a fresh simulator, writing the conversation to `out`.
pub async fn run(
    lesson: &Lesson,
    input: &mut dyn Input,
    out: &mut dyn Write,
    check: bool,
) -> Result<Outcome, MonitorError> {
    // Real time (migrations progress), but no viewers wandering in unscripted.
    let sim = Simulator::with_options(SimOptions {
        manual_clock: false,
        ambient_clients: false,
        ..SimOptions::default()
    });
    let client = Client::from_stream(sim.connect(), ClientConfig::default())
        .await
        .map_err(MonitorError::Connect)?;
    for action in &lesson.script {
        let action = script_action(action).map_err(MonitorError::Walk)?;
        sim.script(action)
            .map_err(|e| MonitorError::Walk(format!("lesson script: {e:?}")))?;
    }
    let mut events = client.events();
    let mut monitor = Monitor::on_client(client.clone()).await?;
    for line in &lesson.setup {
        monitor.execute(line).await?;
    }
    let mut seen: Vec<Event> = Vec::new();
    drain(&mut events, &mut seen);
    seen.clear();
    let _ = writeln!(out, "== {} ==\n{}\n", lesson.title, lesson.situation);
    if !check {
        let _ = writeln!(
            out,
            "Type monitor commands; 'hint' for a hint, 'giveup' to stop.\n"
        );
    }
    let mut outcome = Outcome {
        solved: false,
        commands: 0,
        hints: 0,
    };
    while let Some(line) = input.next_line() {
        let line = line.trim().to_string();
        match line.as_str() {
            "" => continue,
            "hint" => {
                let hint = lesson.hints.get(outcome.hints).or(lesson.hints.last());
                let _ = writeln!(
                    out,
                    "hint: {}",
                    hint.map(String::as_str)
                        .unwrap_or("no hints for this lesson")
                );
                outcome.hints += 1;
                continue;
            }
            "giveup" => break,
            _ => {}
        }
        outcome.commands += 1;
        match monitor.execute(&line).await {
            Ok(response) => {
                let _ = out.write_all(response.text.as_bytes());
                for request in &response.requests {
                    let _ = writeln!(out, "  QMP: {request}");
                }
            }
            Err(MonitorError::Parse { error, line }) => {
                let _ = writeln!(out, "{}", error.message);
                let _ = writeln!(out, "{}", error.caret(&line));
            }
            Err(e) => {
                let _ = writeln!(out, "qhmp: {e}");
            }
        }
        drain(&mut events, &mut seen);
        if goals_hold(lesson, &client, &sim, &seen).await? {
            outcome.solved = true;
            break;
        }
    }
    if !outcome.solved && check {
        // Some goals need time (a migration completing): give them a moment.
        let deadline = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < deadline {
            drain(&mut events, &mut seen);
            if goals_hold(lesson, &client, &sim, &seen).await? {
                outcome.solved = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    if outcome.solved {
        let _ = writeln!(out, "\nGoal reached: {}", lesson.title);
    } else {
        let _ = writeln!(out, "\nGoal not reached.");
        for goal in &lesson.goals {
            let _ = writeln!(out, "  still to do: {}", goal.source);
        }
    }
    let _ = writeln!(
        out,
        "Commands used: {}, hints used: {}",
        outcome.commands, outcome.hints
    );
    Ok(outcome)
}

fn drain(events: &mut UnboundedReceiver<Event>, seen: &mut Vec<Event>) {
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
}

/// Checks every goal against the simulator: `event NAME == seen` against the
/// events emitted during the lesson, anything else through its QMP query.
async fn goals_hold(
    lesson: &Lesson,
    client: &Client,
    sim: &Simulator,
    seen: &[Event],
) -> Result<bool, MonitorError> {
    for goal in &lesson.goals {
        let holds = if goal.query == "sim" {
            goal.holds(&state_view(sim))
        } else if goal.query == "event" {
            let happened = seen.iter().any(|e| e.name == goal.path);
            let mut state = serde_json::Map::new();
            state.insert(
                goal.path.clone(),
                (if happened { "seen" } else { "unseen" }).into(),
            );
            goal.holds(&serde_json::Value::Object(state))
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
            return Ok(false);
        }
    }
    Ok(true)
}

/// Simulator state that QMP does not show (passwords, link state, viewers),
/// for `goal: sim PATH OP VALUE`.
fn state_view(sim: &Simulator) -> Value {
    sim.with_state(|st| {
        let links: serde_json::Map<String, Value> = st
            .net
            .netdevs
            .iter()
            .map(|n| (n.id.clone(), Value::Bool(n.link_up)))
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
        })
    })
}

/// A lesson `script:` line: `vnc-connect HOST PORT` or `spice-connect HOST PORT`.
fn script_action(line: &str) -> Result<Action, String> {
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
        _ => Err(format!("unknown lesson script action '{line}'")),
    }
}
