//! Tables in a real terminal (tmux) 80 and 200 columns wide, for every
//! QMP-backed `info` on the shared live QEMU 10.0 fixture: each line fits,
//! no table row wraps at 80, and at 200 the width is used (every column of
//! `info block` side by side). The width comes from the terminal itself:
//! `COLUMNS` is removed from the environment. The locale is C, so the
//! tables must be plain ASCII.
//!
//! Needs `QHMP_QEMU_10` and tmux; under `CI=true` both are required.

mod support;

use qhmp::grammar::{Grammar, Profile, QmpMapping};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Fixture;

const DEADLINE: Duration = Duration::from_secs(120);

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || !support::in_ci(),
        "tmux is missing, and CI=true needs it"
    );
    if !ok {
        eprintln!("note: tmux not found; skipping the terminal tests");
    }
    ok
}

/// Every `info` subcommand that prints QMP replies (not HMP passthrough).
fn qmp_backed_infos() -> Vec<String> {
    let grammar = Grammar::builtin().expect("the grammar");
    let info = grammar.table("info").expect("the info table");
    info.entries_for(Profile::V10_0)
        .filter(|e| e.render.is_some())
        .filter(|e| {
            !matches!(
                e.qmp.get(Profile::V10_0),
                QmpMapping::HmpOnly | QmpMapping::Local
            )
        })
        .map(|e| e.primary_name().to_string())
        .collect()
}

fn tmux(dir: &Path) -> Command {
    let mut c = Command::new("tmux");
    c.arg("-S")
        .arg(dir.join("tmux.sock"))
        .arg("-f")
        .arg(dir.join("tmux.conf"))
        .env_remove("TMUX")
        .stdin(Stdio::null());
    c
}

/// Runs `info NAME` for every name in a `width`-column terminal and returns
/// each command's output, as the terminal shows it (long lines joined).
fn outputs_at(fx: &Fixture, dir: &Path, width: u16, infos: &[String]) -> Vec<(String, String)> {
    let mut script = String::new();
    for name in infos {
        script.push_str(&format!(
            "echo '### info {name}'; '{}' --connect '{}' -c 'info {name}'; ",
            env!("CARGO_BIN_EXE_qhmp"),
            fx.spare_connect_arg()
        ));
    }
    script.push_str("echo '### done'; sleep 600");
    let session = format!("w{width}");
    let status = tmux(dir)
        .args(["new-session", "-d", "-x", &width.to_string(), "-y", "50"])
        .args(["-s", &session])
        .args([
            "env",
            "-u",
            "COLUMNS",
            "-u",
            "NO_COLOR",
            "LC_ALL=C",
            "TERM=xterm",
        ])
        .args(["sh", "-c", &script])
        .status()
        .expect("tmux runs");
    assert!(status.success(), "tmux new-session failed");
    let start = Instant::now();
    let screen = loop {
        let out = tmux(dir)
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", &session])
            .output()
            .expect("tmux capture-pane");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.lines().any(|l| l == "### done") {
            break text;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the commands did not finish at width {width}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = tmux(dir).args(["kill-session", "-t", &session]).status();
    let mut outputs = Vec::new();
    for chunk in screen.split("### info ").skip(1) {
        let (name, rest) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let body = rest.split("### done").next().unwrap_or_default();
        outputs.push((name.trim().to_string(), body.trim_end().to_string()));
    }
    assert_eq!(outputs.len(), infos.len(), "{screen}");
    outputs
}

/// A row continued on the next line: a table line whose first cell is blank.
fn continued_row(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('|') else {
        return false;
    };
    rest.split('|')
        .next()
        .is_some_and(|cell| cell.trim().is_empty())
        && rest.contains('|')
}

/// One fixture for both checks (starting QEMU is the expensive part).
#[test]
fn tables_on_a_live_qemu() {
    let Some(fx) = Fixture::start("10.0") else {
        return;
    };
    filtered_info_block_tables(&fx);
    if tmux_available() {
        every_qmp_backed_info_fits_80_and_uses_200_columns(&fx);
        a_dumb_terminal_gets_plain_tables(&fx);
    }
}

/// `TERM=dumb` on a UTF-8 locale: ASCII borders and no escape sequences.
fn a_dumb_terminal_gets_plain_tables(fx: &Fixture) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("tmux.conf"), "").expect("tmux.conf");
    let script = format!(
        "'{}' --connect '{}' -c 'info cpus'; echo '### done'; sleep 600",
        env!("CARGO_BIN_EXE_qhmp"),
        fx.spare_connect_arg()
    );
    let status = tmux(dir.path())
        .args(["new-session", "-d", "-x", "100", "-y", "30", "-s", "dumb"])
        .args(["env", "-u", "NO_COLOR", "LC_ALL=C.UTF-8", "TERM=dumb"])
        .args(["sh", "-c", &script])
        .status()
        .expect("tmux runs");
    assert!(status.success(), "tmux new-session failed");
    let start = Instant::now();
    let screen = loop {
        // -e keeps colour escapes, so any colour would show.
        let out = tmux(dir.path())
            .args(["capture-pane", "-p", "-e", "-t", "dumb"])
            .output()
            .expect("tmux capture-pane");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("### done") {
            break text;
        }
        assert!(start.elapsed() < DEADLINE, "qhmp did not finish:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = tmux(dir.path()).arg("kill-server").status();
    assert!(screen.contains("| * 0 |"), "a table:\n{screen}");
    assert!(screen.is_ascii() && !screen.contains('\x1b'), "{screen:?}");
}

fn every_qmp_backed_info_fits_80_and_uses_200_columns(fx: &Fixture) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("tmux.conf"),
        "set -g history-limit 100000\n",
    )
    .expect("tmux.conf");
    let infos = qmp_backed_infos();
    assert!(infos.len() >= 25, "{infos:?}");

    for width in [80u16, 200] {
        for (name, text) in outputs_at(fx, dir.path(), width, &infos) {
            // QEMU's own text (commands without a table form) is QEMU's
            // business; every table line must fit and be plain ASCII.
            let table = text.lines().any(|l| l.starts_with("+-"));
            assert!(
                !text.contains("panicked") && !text.contains('\x1b') && (!table || text.is_ascii()),
                "info {name} at {width} (C locale: plain ASCII):\n{text}"
            );
            for line in text.lines().filter(|_| table) {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "info {name} at {width}: a line of {} columns:\n{text}",
                    line.chars().count()
                );
                assert!(
                    !continued_row(line),
                    "info {name} at {width}: a row wraps:\n{text}"
                );
            }
            match (name.as_str(), width) {
                // QEMU's one line stays one line.
                ("status", _) => assert_eq!(text, "VM status: paused (prelaunch)"),
                // The current CPU is marked, as in QEMU's text.
                ("cpus", _) => assert!(text.contains("| * 0 |"), "{text}"),
                ("block", 80) => assert!(
                    text.contains("Hidden at this width: ") && text.contains("| ide1-cd0 "),
                    "{text}"
                ),
                ("block", 200) => {
                    let header = text.lines().find(|l| l.starts_with("| Device "));
                    assert!(
                        header.is_some_and(
                            |h| h.contains("| Backing file ") && h.contains("| Attached to ")
                        ),
                        "every column side by side at 200:\n{text}"
                    );
                    assert!(!text.contains("Hidden at this width"), "{text}");
                }
                ("blockstats", 200) => assert!(
                    text.contains("Read time") && text.contains("Writes merged"),
                    "{text}"
                ),
                ("blockstats", _) => assert!(!text.contains("| - "), "{text}"),
                // Exact units: QEMU's own figure, in MiB.
                ("balloon", _) => {
                    let native = fx.hmp("info balloon");
                    let mib = native.trim().trim_start_matches("balloon: actual=");
                    assert!(text.contains(&format!("| {mib} MiB ")), "{native}\n{text}");
                }
                ("vnc", _) => assert!(text.contains("| Sub-auth "), "{text}"),
                // QEMU's order, not the reply's hash order.
                ("migrate_parameters", _) => {
                    let native = fx.hmp("info migrate_parameters");
                    let order: Vec<&str> = native
                        .lines()
                        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim()))
                        .collect();
                    let shown: Vec<&str> = text
                        .lines()
                        .filter_map(|l| l.strip_prefix("| "))
                        .filter_map(|l| l.split_whitespace().next())
                        .filter(|k| order.contains(k))
                        .collect();
                    assert_eq!(shown, order, "{text}");
                }
                _ => {}
            }
        }
    }
}

fn filtered_info_block_tables(fx: &Fixture) {
    let run = |line: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_qhmp"))
            .args(["--connect", &fx.spare_connect_arg(), "--format", "table"])
            .args(["-c", line])
            .env("COLUMNS", "200")
            .env("LC_ALL", "C")
            .output()
            .expect("qhmp runs");
        assert!(out.status.success(), "{line}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                l.starts_with("| ") && !l.starts_with("| Device ") && !l.starts_with("| Node ")
            })
            .map(|l| l.split('|').nth(1).unwrap_or_default().trim().to_string())
            .collect()
    };
    let all = run("info block");
    assert_eq!(rows(&all), ["disk0", "ide1-cd0"], "{all}");
    let cd = run("info block ide1-cd0");
    assert_eq!(rows(&cd), ["ide1-cd0"], "{cd}");
    let nodes = run("info block -n");
    assert!(
        !nodes.contains("Block devices") && rows(&nodes).len() >= 4,
        "{nodes}"
    );
    let node_name = fx.qmp("query-block", serde_json::json!({}))[0]["inserted"]["node-name"]
        .as_str()
        .expect("disk0's node name")
        .to_string();
    let one_node = run(&format!("info block -n {node_name}"));
    assert_eq!(rows(&one_node), [node_name], "{one_node}");
    let verbose = run("info block -v disk0");
    assert!(
        verbose.contains("Cluster size") && rows(&verbose) == ["disk0"],
        "{verbose}"
    );
}
