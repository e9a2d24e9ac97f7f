//! Fleets: one line on several real QEMUs (7.2 and 10.0), simulators and an
//! unreachable socket at once, in all three formats; exit statuses; the
//! prompt on a fleet with completion from every VM.
//!
//! Needs QHMP_QEMU_7 and QHMP_QEMU_10 (fails without them under CI=true).

mod fleet_support;
mod support;

use fleet_support::{qhmp, require_tmux, start_qemu, start_sim, Process, Tmux};
use serde_json::Value;
use std::path::PathBuf;

/// Two QEMUs, two simulators and a socket nobody listens on, in one directory.
struct Rig {
    dir: tempfile::TempDir,
    _vms: Vec<Process>,
}

impl Rig {
    fn new() -> Option<Rig> {
        let q7 = support::require_qemu("7.2")?;
        let q10 = support::require_qemu("10.0")?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let vms = vec![
            start_qemu(&q7, &dir.path().join("q7.qmp")),
            start_qemu(&q10, &dir.path().join("q10.qmp")),
            start_sim(&dir.path().join("sim1.qmp")),
            start_sim(&dir.path().join("sim2.qmp")),
        ];
        // A stale socket: bound, then its listener gone (connections are refused).
        let dead = std::os::unix::net::UnixListener::bind(dir.path().join("dead.qmp"));
        drop(dead.expect("bind"));
        Some(Rig { dir, _vms: vms })
    }

    fn sock(&self, name: &str) -> String {
        format!("unix:{}", self.path(name).display())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn glob(&self) -> String {
        format!("unix:{}/*.qmp", self.dir.path().display())
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn one_line_on_every_vm_in_three_formats() {
    let Some(rig) = Rig::new() else { return };
    let glob = rig.glob();

    // JSON: one object per target and line, in name order for a glob.
    let run = qhmp(
        &[
            "--connect",
            &glob,
            "--format",
            "json",
            "-c",
            "info status",
            "-c",
            "info block",
        ],
        &[],
    );
    assert_eq!(run.code, Some(1), "the dead socket fails: {}", run.stderr);
    let docs = json_lines(&run.stdout);
    assert_eq!(docs.len(), 10, "{}", run.stdout);
    let names: Vec<&str> = docs[..5]
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    let expect: Vec<String> = ["dead", "q10", "q7", "sim1", "sim2"]
        .iter()
        .map(|n| rig.sock(&format!("{n}.qmp")))
        .collect();
    assert_eq!(names, expect);
    assert_eq!(docs[0]["error"]["class"], "Unreachable");
    assert!(docs[0].get("return").is_none());
    for doc in &docs[1..5] {
        assert_eq!(doc["return"]["status"], "prelaunch", "{doc}");
    }
    // info block: every QEMU reports its CD-ROM drive.
    for doc in &docs[6..10] {
        let devices: Vec<&str> = doc["return"]
            .as_array()
            .expect("query-block's list")
            .iter()
            .filter_map(|d| d["device"].as_str())
            .collect();
        assert!(devices.contains(&"ide1-cd0"), "{doc}");
    }

    // Table: one merged table with a VM column, failures below it.
    let run = qhmp(
        &[
            "--connect",
            &glob,
            "--format",
            "table",
            "-c",
            "info status",
            "-c",
            "info block",
        ],
        &[("COLUMNS", "160")],
    );
    assert_eq!(run.code, Some(1));
    let out = &run.stdout;
    let header = out.lines().nth(1).expect("a header row");
    assert!(header.contains("VM") && header.contains("Status"), "{out}");
    for vm in ["q7", "q10", "sim1", "sim2"] {
        let rows = out
            .lines()
            .filter(|l| l.starts_with(&format!("| {vm} ")))
            .count();
        // One status row, and at least one block device row.
        assert!(rows >= 2, "{vm} has {rows} rows in:\n{out}");
    }
    assert_eq!(
        out.matches("Block devices").count(),
        1,
        "one merged table:\n{out}"
    );
    assert_eq!(out.matches("Failed on 1 of 5 VMs:").count(), 2, "{out}");
    assert!(out.contains("  dead: cannot connect"), "{out}");

    // Classic: each target's QEMU text under its header, in the order given.
    let order = [
        rig.sock("sim2.qmp"),
        rig.sock("q7.qmp"),
        rig.sock("dead.qmp"),
    ];
    let mut args = vec!["--format", "classic", "-c", "info status"];
    for t in &order {
        args.extend(["--connect", t.as_str()]);
    }
    let run = qhmp(&args, &[]);
    assert_eq!(run.code, Some(1));
    let expected_start = format!(
        "== {} ==\nVM status: paused (prelaunch)\n== {} ==\nVM status: paused (prelaunch)\n== {} ==\nqhmp: cannot connect",
        order[0], order[1], order[2]
    );
    assert!(run.stdout.starts_with(&expected_start), "{}", run.stdout);
}

#[test]
fn a_failing_command_and_unreachable_fleets() {
    let Some(rig) = Rig::new() else { return };
    let live = [rig.sock("q7.qmp"), rig.sock("sim1.qmp")];
    // block_resize drive0 works on the simulator and fails on the QEMU,
    // which has no drive0; the simulator still carries it out.
    let run = qhmp(
        &[
            "--connect",
            &live[0],
            "--connect",
            &live[1],
            "--format",
            "json",
            "-c",
            "block_resize drive0 20G",
            "-c",
            "info block",
        ],
        &[],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let docs = json_lines(&run.stdout);
    assert_eq!(docs[0]["error"]["class"], "GenericError", "{}", docs[0]);
    assert!(docs[1].get("return").is_some(), "{}", docs[1]);
    let resized = docs[3]["return"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "drive0")
        .map(|d| d["inserted"]["image"]["virtual-size"].clone());
    assert_eq!(resized, Some(Value::from(20u64 << 30)));

    // A line that does not parse is refused before anything is sent.
    let run = qhmp(
        &[
            "--connect",
            &live[0],
            "--connect",
            &live[1],
            "-c",
            "info status",
            "-c",
            "stop nosuch",
        ],
        &[],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);

    // Nothing reachable: exit 3.
    let gone = format!("unix:{}", rig.path("nowhere.qmp").display());
    let run = qhmp(
        &[
            "--connect",
            &rig.sock("dead.qmp"),
            "--connect",
            &gone,
            "-c",
            "info status",
        ],
        &[],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("dead.qmp") && run.stderr.contains("nowhere.qmp"));

    // A glob that matches nothing says so.
    let none = format!("unix:{}/*.none", rig.dir.path().display());
    let run = qhmp(&["--connect", &none, "-c", "info status"], &[]);
    assert_eq!(run.code, Some(3));
    assert!(run.stderr.contains("matches nothing"), "{}", run.stderr);
}

#[test]
fn the_prompt_on_a_fleet() {
    let Some(rig) = Rig::new() else { return };
    if !require_tmux() {
        return;
    }
    let command = format!(
        "env XDG_STATE_HOME='{dir}/state' NO_COLOR=1 COLUMNS=150 '{bin}' --connect '{glob}' --format table",
        dir = rig.dir.path().display(),
        bin = fleet_support::qhmp_bin(),
        glob = rig.glob(),
    );
    let tmux = Tmux::start(rig.dir.path(), "fleet", &command);
    tmux.wait_for("the fleet prompt", |s| s.contains("(qemu 5 VMs)"));
    tmux.line("info status");
    let screen = tmux.wait_for("the merged table", |s| s.contains("Failed on 1 of 5 VMs"));
    for vm in ["q7", "q10", "sim1", "sim2"] {
        assert!(screen.contains(&format!("| {vm} ")), "{screen}");
    }
    // Completion offers block devices of every VM: drive0 is on the
    // simulators only, ide1-cd0 everywhere.
    let typed = "block_resize ";
    tmux.key("C-l");
    tmux_type(&tmux, typed);
    tmux.key("Tab");
    tmux.key("Tab");
    tmux.wait_for("device completions", |s| {
        s.contains("drive0") && s.contains("ide1-cd0")
    });
    tmux.key("C-u");
    tmux.key("C-d");
    tmux.wait_for("the exit", |s| s.contains("[exit 0]"));
}

fn tmux_type(tmux: &Tmux, text: &str) {
    for c in text.chars() {
        let key = if c == ' ' {
            "Space".to_string()
        } else {
            c.to_string()
        };
        tmux.key(&key);
    }
}
