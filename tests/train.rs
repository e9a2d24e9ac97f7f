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
fn hints_and_unknown_lessons() {
    let (code, text) = check("status", "hint\nhint\ncont");
    assert_eq!(code, 0);
    assert!(text.contains("hint: `info status`"), "{text}");
    assert!(text.contains("hints used: 2"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(["train", "nosuch"])
        .output()
        .expect("qhmp runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lesson 'nosuch'"));
}
