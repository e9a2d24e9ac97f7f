//! What a lesson shows besides the commands: events as they fire, the
//! wait a real operator would do, and the debrief (what changed, which
//! events fired) once the goal is reached.

use crate::monitor::Monitor;
use crate::qmp::Event;
use crate::render::event::event_line;
use crate::sim::Simulator;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// The longest an operator is assumed to wait for one step to finish.
const LONGEST_WAIT: Duration = Duration::from_secs(20);

/// Events seen so far, and how many of them were already shown.
pub struct Events {
    rx: UnboundedReceiver<Event>,
    pub seen: Vec<Event>,
    shown: usize,
}

impl Events {
    pub fn new(rx: UnboundedReceiver<Event>) -> Self {
        Events {
            rx,
            seen: Vec::new(),
            shown: 0,
        }
    }

    /// Takes what has arrived; forgets everything before now when `reset`.
    pub fn drain(&mut self) {
        while let Ok(event) = self.rx.try_recv() {
            self.seen.push(event);
        }
    }

    pub fn forget(&mut self) {
        self.drain();
        self.seen.clear();
        self.shown = 0;
    }

    /// Prints the events not shown yet, one readable line each.
    pub fn show_new(&mut self, out: &mut dyn Write) {
        self.drain();
        for event in &self.seen[self.shown..] {
            let _ = writeln!(out, "  event: {}", event_line(&event.raw));
        }
        self.shown = self.seen.len();
    }
}

/// Waits, as an operator would before the next step, while a migration
/// runs or the guest has yet to act on a request; shows events meanwhile.
pub async fn wait_like_an_operator(sim: &Simulator, events: &mut Events, out: &mut dyn Write) {
    if !sim.with_state(|st| st.operator_waits()) {
        return;
    }
    let _ = writeln!(out, "  (waiting for it to finish, as an operator would)");
    let deadline = tokio::time::Instant::now() + LONGEST_WAIT;
    while sim.with_state(|st| st.operator_waits()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        events.show_new(out);
    }
    events.show_new(out);
}

/// The text of each `watch:` line now (errors as text: it is a view).
pub async fn snapshot(monitor: &mut Monitor, watch: &[String]) -> Vec<String> {
    let mut texts = Vec::with_capacity(watch.len());
    for line in watch {
        let text = match monitor.execute(line).await {
            Ok(response) => response.text,
            Err(e) => format!("({e})\n"),
        };
        texts.push(text);
    }
    texts
}

/// What changed between `before` and `after`, and the events that fired.
pub fn write(
    out: &mut dyn Write,
    watch: &[String],
    before: &[String],
    after: &[String],
    events: &[Event],
) {
    let _ = writeln!(out, "\n-- What changed --");
    for ((line, was), now) in watch.iter().zip(before).zip(after) {
        let _ = writeln!(out, "(qemu) {line}");
        if was == now {
            let _ = writeln!(out, "  (unchanged)");
            continue;
        }
        for (mark, line) in line_diff(was, now) {
            let _ = writeln!(out, "  {mark} {line}");
        }
    }
    let _ = writeln!(out, "-- Events that fired --");
    if events.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for event in events {
        let _ = writeln!(out, "  {}", event_line(&event.raw));
    }
}

/// The lines that differ, `-` before and `+` after, with the unchanged
/// lines around them as context (` `); blank lines are left out.
fn line_diff<'a>(was: &'a str, now: &'a str) -> Vec<(char, &'a str)> {
    let a: Vec<&str> = was.lines().filter(|l| !l.trim().is_empty()).collect();
    let b: Vec<&str> = now.lines().filter(|l| !l.trim().is_empty()).collect();
    // Longest common subsequence, from the end.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    // Keep one line of context next to each change.
    let changed = |k: usize| out.get(k).is_some_and(|(m, _)| *m != ' ');
    (0..out.len())
        .filter(|&k| changed(k) || (k > 0 && changed(k - 1)) || changed(k + 1))
        .map(|k| out[k])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn diff_shows_changes_with_context() {
        let was = "a\nb\nc\nd\ne\n";
        let now = "a\nb\nC\nd\ne\nf\n";
        assert_eq!(
            line_diff(was, now),
            [
                (' ', "b"),
                ('-', "c"),
                ('+', "C"),
                (' ', "d"),
                (' ', "e"),
                ('+', "f")
            ]
        );
    }
}
