//! Fault injection on the interactive monitor (driven in tmux, as
//! `tests/repl_e2e.rs` does) with a scripted fake QEMU: each way a
//! connection can break — garbage, a 20 MiB line, half an object then EOF —
//! is reported at the prompt, and the monitor connects again, past "QEMUs"
//! that never greet or send garbage; a burst of 10 000 events during one
//! command is shown whole and the prompt stays usable.
//!
//! Needs tmux; without it the tests print a note and pass, unless `CI=true`.

mod fault_support;

use fault_support::fake::{self, Action, FakeQemu, Plan};
use fault_support::terminal::{at_empty_prompt, Terminal};

struct Rig {
    term: Terminal,
    fake: FakeQemu,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn new(script: Vec<Plan>) -> Option<Rig> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let term = Terminal::new(dir.path())?;
        let fake = FakeQemu::start(&dir.path().join("qmp.sock"), script);
        term.start_qhmp("s", &fake.target());
        Some(Rig {
            term,
            fake,
            _dir: dir,
        })
    }

    /// Runs `info status` on a connection that breaks; waits for the loss
    /// to be reported (the `n`th time) and the reconnect question.
    fn break_connection(&self, n: usize, says: &str) {
        self.term.enter("s", "info status");
        self.term
            .wait_for("s", &format!("loss #{n} reported ({says})"), |s| {
                s.matches("qhmp: QEMU went away: ").count() == n
                    && s.lines()
                        .any(|l| l.contains("QEMU went away") && l.contains(says))
                    && s.trim_end().ends_with("[Y/n]")
            });
    }
}

#[test]
fn each_broken_connection_is_reported_and_the_monitor_reconnects() {
    let script = vec![
        Plan::on("query-status", Action::Garbage),
        Plan::on("query-status", Action::HalfObjectThenEof),
        Plan::silent(),
        Plan::garbage_after_greeting(),
        Plan::on("query-status", Action::HugeLine),
    ];
    let Some(rig) = Rig::new(script) else { return };
    let term = &rig.term;
    let reconnect = |n: usize| {
        term.press("s", "Enter");
        term.wait_for("s", &format!("reconnection #{n}"), |s| {
            s.matches("Connected to QEMU 10.0.0").count() == n && at_empty_prompt(s)
        });
    };

    rig.break_connection(
        1,
        &format!(
            "malformed data from QEMU: unexpected data where a JSON object should start: \"{}\"",
            fake::GARBAGE
        ),
    );
    reconnect(1);
    rig.break_connection(
        2,
        "QEMU closed the QMP connection in the middle of a message",
    );

    // The next "QEMU" never greets, the one after sends garbage: each
    // attempt is reported and the question asked again.
    term.press("s", "Enter");
    term.wait_for("s", "the missing greeting reported", |s| {
        s.contains("qhmp: no QMP greeting within 5s") && s.trim_end().ends_with("[Y/n]")
    });
    term.press("s", "Enter");
    term.wait_for("s", "the garbage greeting reported", |s| {
        s.contains("qhmp: QMP capabilities negotiation failed")
            || s.contains("qhmp: malformed data from QEMU")
    });
    term.wait_for("s", "the question again", |s| {
        s.trim_end().ends_with("[Y/n]")
    });
    reconnect(2);
    // A reply over the size cap fails that command only: no loss, no question.
    term.enter("s", "info status");
    term.wait_for("s", "the oversized reply reported", |s| {
        s.contains("qhmp: ")
            && s.contains("message longer than 16777216 bytes")
            && at_empty_prompt(s)
    });
    term.enter("s", "info status");
    term.wait_for("s", "a command on the same connection", |s| {
        s.contains("(qemu) info status\nVM status: running") && at_empty_prompt(s)
    });
    assert_eq!(rig.fake.connections(), 5);
    term.press("s", "C-d");
    term.wait_for("s", "qhmp leaving", |s| s.contains("[exit 0]"));
}

#[test]
fn a_burst_of_events_is_shown_whole_and_the_prompt_stays_usable() {
    let Some(rig) = Rig::new(vec![Plan::on("query-status", Action::Events(10_000))]) else {
        return;
    };
    let term = &rig.term;
    term.enter("s", "info status");
    let screen = term.wait_for("s", "the reply and the last event", |s| {
        s.contains("VM status: running")
            && s.lines()
                .any(|l| l.contains(fake::SEQ_EVENT) && l.ends_with("=9999"))
            && at_empty_prompt(s)
    });
    let seqs: Vec<u64> = screen
        .lines()
        .filter(|l| l.contains(fake::SEQ_EVENT))
        .filter_map(|l| l.rsplit('=').next()?.trim().parse().ok())
        .collect();
    assert_eq!(
        seqs,
        (0..10_000).collect::<Vec<u64>>(),
        "every event, in order"
    );
    term.enter("s", "info status");
    term.wait_for("s", "the prompt still answering", |s| {
        s.matches("VM status: running").count() == 2 && at_empty_prompt(s)
    });
    term.press("s", "C-d");
    term.wait_for("s", "qhmp leaving", |s| s.contains("[exit 0]"));
}

#[test]
fn a_command_without_a_reply_times_out_and_the_prompt_stays_usable() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let Some(term) = Terminal::new(dir.path()) else {
        return;
    };
    let fake = FakeQemu::start(
        &dir.path().join("qmp.sock"),
        vec![Plan::on("query-status", Action::Hang)],
    );
    term.start_qhmp_with("s", &fake.target(), "--reply-timeout 1");
    term.enter("s", "info status");
    term.wait_for("s", "the timeout reported", |s| {
        s.contains("qhmp: no reply to 'query-status' within 1s") && at_empty_prompt(s)
    });
    term.enter("s", "info status");
    let screen = term.wait_for("s", "the next command answered", |s| {
        s.contains("(qemu) info status\nVM status: running") && at_empty_prompt(s)
    });
    assert!(!screen.contains("QEMU went away"), "{screen}");
    assert_eq!(fake.connections(), 1, "no reconnection needed");
    term.press("s", "C-d");
    term.wait_for("s", "qhmp leaving", |s| s.contains("[exit 0]"));
}

#[test]
fn no_greeting_at_start_is_reported_with_status_3() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let Some(term) = Terminal::new(dir.path()) else {
        return;
    };
    let fake = FakeQemu::start(&dir.path().join("qmp.sock"), vec![Plan::silent()]);
    term.launch("s", &fake.target(), "");
    let screen = term.wait_for("s", "qhmp giving up", |s| s.contains("[exit 3]"));
    assert!(
        screen.contains("no QMP greeting within 5s: either this is not a QMP socket"),
        "{screen}"
    );
}
