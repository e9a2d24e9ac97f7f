//! Every lesson is solved through `qhmp train --check` by a right solution
//! and refused for a wrong one: goals are checked against the simulator's
//! state, not against the typed text.

use std::io::Write;
use std::process::{Command, Stdio};

/// (lesson, a solution, a wrong attempt).
const CASES: &[(&str, &str, &str)] = &[
    ("status", "info status\ncont", "info status\nstop"),
    ("pause", "stop", "info status\ncont"),
    ("eject", "info block\neject ide1-cd0", "eject drive0"),
    (
        "change-medium",
        "change ide1-cd0 /var/lib/qhmp/iso/systemrescue-11.02-amd64.iso",
        "change ide1-cd0 /var/lib/qhmp/iso/virtio-win-0.1.262.iso",
    ),
    (
        "resize",
        "block_resize drive0 20G",
        "block_resize drive0 20",
    ),
    (
        "spice",
        "info spice\nset_password spice N3w-pass disconnect",
        "set_password spice N3w-pass",
    ),
    (
        "vnc-password",
        "set_password vnc Zebra-42\nexpire_password vnc +3600",
        "set_password vnc Zebra-42",
    ),
    (
        "hotplug",
        "netdev_add user,id=net1\ndevice_add e1000,id=nic1,netdev=net1",
        "netdev_add user,id=net1",
    ),
    ("link", "set_link net0 off", "set_link net0 on"),
    ("balloon", "balloon 512", "balloon 1024"),
    (
        "migration",
        "migrate -d tcp:192.0.2.10:4444\ninfo migrate",
        "info migrate",
    ),
    ("events", "system_powerdown", "system_reset"),
    (
        "locked-tray",
        "info block ide1-cd0\neject -f ide1-cd0",
        // Refused on a locked tray: the guest opens it, the CD stays in.
        "eject ide1-cd0",
    ),
    (
        "boot-rescue",
        "change ide1-cd0 /var/lib/qhmp/iso/systemrescue-11.02-amd64.iso\nboot_set d\nsystem_reset",
        // The disk comes first in the boot order.
        "change ide1-cd0 /var/lib/qhmp/iso/systemrescue-11.02-amd64.iso\nsystem_reset",
    ),
    (
        "unplug",
        "device_del nic1\ndevice_add virtio-net-pci,id=nic1,netdev=net1",
        // The old card still holds the id until the guest releases it.
        "device_add virtio-net-pci,id=nic1,netdev=net1",
    ),
    (
        "postmigrate",
        "migrate -d tcp:192.0.2.10:4444\ninfo status\nquit",
        "migrate -d tcp:192.0.2.10:4444\ncont\nquit",
    ),
];

fn check(lesson: &str, input: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(["train", "--check", lesson])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qhmp runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("qhmp exits");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_lesson_has_a_case() {
    let out = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .arg("train")
        .output()
        .expect("qhmp runs");
    let listing = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listing
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 10, "{listing}");
    for name in names {
        assert!(
            CASES.iter().any(|c| c.0 == name),
            "lesson {name} has no test case"
        );
    }
}

#[test]
fn right_solutions_reach_the_goal_and_show_the_qmp() {
    for (lesson, right, _) in CASES {
        let (code, text) = check(lesson, right);
        assert_eq!(code, 0, "lesson {lesson} not solved by {right:?}:\n{text}");
        assert!(text.contains("Goal reached"), "{text}");
        assert!(
            text.contains("QMP: {\"execute\":"),
            "lesson {lesson} did not show the QMP:\n{text}"
        );
    }
}

#[test]
fn wrong_solutions_are_not_accepted() {
    // Each refusal waits for goals that need time, so run them side by side.
    let runs: Vec<_> = CASES
        .iter()
        .map(|(lesson, _, wrong)| std::thread::spawn(move || (lesson, wrong, check(lesson, wrong))))
        .collect();
    for run in runs {
        let (lesson, wrong, (code, text)) = run.join().expect("check thread");
        assert_eq!(code, 1, "lesson {lesson} accepted {wrong:?}:\n{text}");
        assert!(text.contains("Goal not reached"), "{text}");
    }
}

#[test]
fn hints_go_deeper_and_unknown_lessons_are_named() {
    let (code, text) = check("status", "hint\nhint\nhint\nhint\ncont");
    assert_eq!(code, 0);
    let hints: Vec<&str> = text.lines().filter(|l| l.starts_with("hint ")).collect();
    assert_eq!(hints.len(), 3, "{text}");
    assert!(hints[0].starts_with("hint 1/3: `info status`"), "{text}");
    assert!(hints[1].starts_with("hint 2/3: "), "{text}");
    assert!(hints[2].starts_with("hint 3/3: `cont`"), "{text}");
    assert!(
        text.contains("no more hints; the last one was: `cont`"),
        "{text}"
    );
    assert!(text.contains("hints used: 4"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(["train", "nosuch"])
        .output()
        .expect("qhmp runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lesson 'nosuch'"));
}

#[test]
fn the_debrief_shows_what_changed_and_the_events() {
    let (code, text) = check("pause", "stop");
    assert_eq!(code, 0, "{text}");
    let debrief = text.split("-- What changed --").nth(1).expect("a debrief");
    assert!(
        debrief.contains("  - VM status: running\n  + VM status: paused\n"),
        "{text}"
    );
    let events = debrief
        .split("-- Events that fired --")
        .nth(1)
        .expect("events");
    assert!(events.contains(" STOP"), "{text}");
    // The debrief comes before the verdict.
    assert!(text.find("-- What changed --") < text.find("Goal reached"));
}

#[test]
fn check_mode_waits_for_what_an_operator_waits_for() {
    let (code, text) = check("migration", "migrate -d tcp:192.0.2.10:4444");
    assert_eq!(code, 0, "{text}");
    let completed = text
        .find("Migration status: completed")
        .expect("completed is shown");
    assert!(
        completed < text.find("Goal reached").expect("reached"),
        "{text}"
    );
    // The SPICE intruder is seen leaving.
    let (code, text) = check("spice", "set_password spice N3w-pass disconnect");
    assert_eq!(code, 0, "{text}");
    let leaving = text.find("event: ").expect("events are shown");
    assert!(text[leaving..].contains("SPICE_DISCONNECTED"), "{text}");
    // The unplug lesson shows the guest releasing the card.
    let (_, text) = check("unplug", "device_del nic1\ninfo status");
    assert!(
        text.contains("(waiting for it to finish, as an operator would)"),
        "{text}"
    );
    assert!(text.contains("DEVICE_DELETED"), "{text}");
}

#[test]
fn secrets_are_masked_in_every_echo() {
    let (code, text) = check(
        "vnc-password",
        "set_password vnc Zebra-42\nexpire_password vnc +3600",
    );
    assert_eq!(code, 0, "{text}");
    // Only the situation names it; nothing qhmp echoes does.
    let session = &text[text.find("(qemu) ").expect("a transcript")..];
    assert!(!session.contains("Zebra-42"), "{text}");
    assert!(text.contains(r#""password":"********""#), "{text}");
    assert!(
        session.contains("(qemu) set_password vnc ********"),
        "{text}"
    );
}

#[test]
fn failures_are_explained_in_operator_words() {
    let (code, text) = check("locked-tray", "eject ide1-cd0");
    assert_eq!(code, 1);
    assert!(
        text.contains("is locked and force was not specified"),
        "{text}"
    );
    let todo = text.split("Still to do:").nth(1).expect("a list");
    assert!(
        todo.contains("the CD-ROM drive ide1-cd0 is empty"),
        "{text}"
    );
    for internal in ["query-", "==", "sim ", "[device="] {
        assert!(!todo.contains(internal), "{internal} in {todo}");
    }
}
