//! `qhmp train`: guided lessons on a fresh simulated QEMU. Each lesson states
//! a situation, checks a goal against the simulator's state (through QMP
//! queries and the events it emitted, never against the typed text), offers
//! hints that go further each time, and shows after each command the QMP it
//! became (passwords masked) and the events it caused. A reached goal ends
//! with a debrief (what changed, which events fired); a missed one says
//! what is still to do in an operator's words.

mod debrief;
mod goals;
pub mod lesson;

pub use lesson::{Goal, Lesson};

use crate::monitor::{Monitor, MonitorError};
use crate::output::secrets::masked_request;
use crate::qmp::{Client, ClientConfig};
use crate::sim::{SimOptions, Simulator};
use debrief::Events;
use std::io::Write;
use std::time::Duration;

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
    (
        "locked-tray.lesson",
        include_str!("lessons/locked-tray.lesson"),
    ),
    (
        "boot-rescue.lesson",
        include_str!("lessons/boot-rescue.lesson"),
    ),
    ("unplug.lesson", include_str!("lessons/unplug.lesson")),
    (
        "postmigrate.lesson",
        include_str!("lessons/postmigrate.lesson"),
    ),
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

/// How long `--check` waits at the end for goals that need time to pass.
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
        let action = goals::script_action(action).map_err(MonitorError::Walk)?;
        sim.script(action)
            .map_err(|e| MonitorError::Walk(format!("lesson script: {e:?}")))?;
    }
    let mut events = Events::new(client.events());
    let mut monitor = Monitor::on_client(client.clone()).await?;
    for line in &lesson.setup {
        monitor.execute(line).await?;
    }
    let before = debrief::snapshot(&mut monitor, &lesson.watch).await;
    events.forget();
    let _ = writeln!(out, "== {} ==\n{}\n", lesson.title, lesson.situation);
    if !check {
        let _ = writeln!(
            out,
            "Type monitor commands; 'hint' for a hint (each one goes further), 'giveup' to stop.\n"
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
            // Enter alone: what happened meanwhile, and whether it is done.
            "" => {
                events.show_new(out);
                if goals::unmet(lesson, &client, &sim, &events.seen)
                    .await?
                    .is_empty()
                {
                    outcome.solved = true;
                    break;
                }
                continue;
            }
            "hint" => {
                let _ = writeln!(out, "{}", hint_text(lesson, outcome.hints));
                outcome.hints += 1;
                continue;
            }
            "giveup" => break,
            _ => {}
        }
        outcome.commands += 1;
        run_line(&mut monitor, &line, out).await;
        events.show_new(out);
        if check {
            debrief::wait_like_an_operator(&sim, &mut events, out).await;
        }
        if goals::unmet(lesson, &client, &sim, &events.seen)
            .await?
            .is_empty()
        {
            outcome.solved = true;
            break;
        }
    }
    if !outcome.solved && check {
        // Some goals need a moment more (the guest reacting).
        let deadline = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < deadline {
            events.show_new(out);
            if goals::unmet(lesson, &client, &sim, &events.seen)
                .await?
                .is_empty()
            {
                outcome.solved = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    events.show_new(out);
    if outcome.solved {
        let after = if sim.is_quit() {
            vec!["(this QEMU has quit)\n".to_string(); lesson.watch.len()]
        } else {
            debrief::snapshot(&mut monitor, &lesson.watch).await
        };
        debrief::write(out, &lesson.watch, &before, &after, &events.seen);
        let _ = writeln!(out, "\nGoal reached: {}", lesson.title);
    } else {
        let _ = writeln!(out, "\nGoal not reached. Still to do:");
        for goal in goals::unmet(lesson, &client, &sim, &events.seen).await? {
            let _ = writeln!(out, "  - {}", goal.means);
        }
    }
    let _ = writeln!(
        out,
        "Commands used: {}, hints used: {}",
        outcome.commands, outcome.hints
    );
    Ok(outcome)
}

/// Hint number `given` (0-based): each goes further than the one before,
/// the last gives the commands.
fn hint_text(lesson: &Lesson, given: usize) -> String {
    let total = lesson.hints.len();
    match lesson.hints.get(given) {
        Some(hint) => format!("hint {}/{total}: {hint}", given + 1),
        None if total == 0 => "no hints for this lesson".into(),
        None => format!(
            "no more hints; the last one was: {}",
            lesson.hints[total - 1]
        ),
    }
}

/// Runs one typed line and shows its text and the QMP it became, with
/// passwords masked.
async fn run_line(monitor: &mut Monitor, line: &str, out: &mut dyn Write) {
    match monitor.execute(line).await {
        Ok(response) => {
            let _ = out.write_all(response.text.as_bytes());
            for request in &response.requests {
                let _ = writeln!(out, "  QMP: {}", masked_request(request));
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
}
