//! Fault injection with a real QEMU 10.0 killed (`kill -9`, by its PID) while
//! commands are in flight. QEMU is frozen (SIGSTOP) first, so the requests
//! are certainly sent and unanswered when it dies.
//!
//! - the one-shot CLI (and `qhmp events`) says QEMU went away and exits 3;
//! - the library `Monitor` returns a transport error to every waiting call;
//! - the proxy (the built binary) answers every waiting request with an
//!   error, tells every client, keeps running and reconnects when QEMU is
//!   back on the same socket — or exits 3 with `--exit-on-upstream-loss`;
//! - the interactive monitor reports the loss and reconnects.
//!
//! Needs `QHMP_QEMU_10`: without it the tests print a note and pass, unless
//! `CI=true`, where they fail.

mod fault_support;

use fault_support::peer::Peer;
use fault_support::process::{Proxy, Running};
use fault_support::qemu::{qemu_10, Qemu};
use fault_support::terminal::{at_empty_prompt, Terminal};
use fault_support::{wait_until, DEADLINE};
use qhmp::monitor::{Monitor, MonitorError};
use qhmp::qmp::ClientConfig;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Lets requests written just now reach the frozen QEMU's socket (not a
/// timing assertion: the outcome is the same either way).
const SETTLE: Duration = Duration::from_millis(200);

struct Rig {
    binary: PathBuf,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new() -> Option<(Rig, Qemu)> {
        let binary = qemu_10()?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let rig = Rig {
            binary,
            socket: dir.path().join("qmp.sock"),
            dir,
        };
        let qemu = rig.start_qemu();
        Some((rig, qemu))
    }

    /// A fresh QEMU on the same socket path.
    fn start_qemu(&self) -> Qemu {
        Qemu::start(&self.binary, &self.socket, self.dir.path())
    }

    fn target(&self) -> String {
        format!("unix:{}", self.socket.display())
    }
}

#[test]
fn cli_reports_qemu_killed_mid_command_and_exits_3() {
    let Some((rig, qemu)) = Rig::new() else {
        return;
    };
    // Far more lines than can run before QEMU is frozen.
    let lines = rig.dir.path().join("lines");
    std::fs::write(&lines, "info status\n".repeat(100_000)).expect("a command file");
    let target = rig.target();
    let args = ["--connect", target.as_str(), "--format", "classic"];
    let cli = Running::start(&args, Some(&lines), rig.dir.path());
    wait_until("the first answers", || {
        cli.stdout()
            .contains("VM status: paused (prelaunch)\n")
            .then_some(())
    });
    qemu.freeze();
    std::thread::sleep(SETTLE);
    qemu.kill();
    let outcome = cli.wait("qhmp after QEMU was killed");
    assert_eq!(outcome.code, Some(3), "stderr:\n{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("qhmp: QEMU closed the QMP connection"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    let answered = outcome.stdout.lines().count();
    assert!(
        answered < 100_000,
        "every line ran: QEMU was not killed in time"
    );
    assert!(
        outcome
            .stdout
            .lines()
            .all(|l| l == "VM status: paused (prelaunch)"),
        "only whole answers are printed"
    );
}

#[test]
fn events_watcher_reports_qemu_killed_and_exits_3() {
    let Some((rig, qemu)) = Rig::new() else {
        return;
    };
    let target = rig.target();
    let cli = Running::start(&["--connect", &target, "events"], None, rig.dir.path());
    wait_until("the watcher ready", || {
        cli.stderr().contains("qhmp: watching events").then_some(())
    });
    qemu.kill();
    let outcome = cli.wait("qhmp events after QEMU was killed");
    assert_eq!(outcome.code, Some(3), "stderr:\n{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("qhmp: QEMU closed the QMP connection"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn monitor_calls_in_flight_get_transport_errors_and_a_new_monitor_works() {
    let Some((rig, qemu)) = Rig::new() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let target = rig.target().parse().expect("a target");
    runtime.block_on(async {
        tokio::time::timeout(DEADLINE, async {
            let mut monitor = Monitor::connect(&target, ClientConfig::default())
                .await
                .expect("connects");
            let status = monitor.execute("info status").await.expect("a reply");
            assert_eq!(status.text, "VM status: paused (prelaunch)\n");

            qemu.freeze();
            let client = monitor.client().clone();
            let hmp = tokio::spawn(async move {
                let outcome = monitor.execute("info status").await;
                (monitor, outcome)
            });
            let raw: Vec<_> = ["query-status", "query-name", "query-kvm"]
                .into_iter()
                .map(|command| {
                    let client = client.clone();
                    tokio::spawn(async move { client.execute(command, None).await })
                })
                .collect();
            tokio::time::sleep(SETTLE).await;
            tokio::task::spawn_blocking(move || qemu.kill())
                .await
                .expect("QEMU killed");

            let (mut monitor, outcome) = hmp.await.expect("the task ends");
            match outcome {
                Err(MonitorError::Transport(e)) => {
                    assert!(e.is_fatal(), "{e:?}");
                    assert!(
                        e.to_string().starts_with("QEMU closed the QMP connection"),
                        "{e}"
                    );
                }
                other => panic!("a transport error expected, got {other:?}"),
            }
            for call in raw {
                let err = call.await.expect("the task ends").expect_err("no reply");
                assert!(err.is_fatal(), "{err:?}");
            }
            assert!(client.fatal_error().is_some());
            // Later calls fail at once rather than wait.
            assert!(matches!(
                monitor.execute("info status").await,
                Err(MonitorError::Transport(_))
            ));

            let _qemu = rig.start_qemu();
            let mut fresh = Monitor::connect(&target, ClientConfig::default())
                .await
                .expect("connects to the new QEMU");
            let status = fresh.execute("info status").await.expect("a reply");
            assert_eq!(status.text, "VM status: paused (prelaunch)\n");
        })
        .await
        .unwrap_or_else(|_| panic!("hung for {DEADLINE:?}"));
    });
}

fn hmp(line: &str, id: &str) -> Value {
    json!({"execute": "human-monitor-command", "arguments": {"command-line": line}, "id": id})
}

fn desc(message: &Value) -> &str {
    message["error"]["desc"].as_str().unwrap_or_default()
}

/// Asks `info status` through the proxy until it has an upstream again.
fn assert_served_again(peer: &mut Peer) {
    let mut n = 0;
    wait_until("the proxy serving again", || {
        n += 1;
        let id = format!("again-{n}");
        let reply = peer.call(hmp("info status", &id));
        if reply.get("error").is_some() {
            assert!(desc(&reply).starts_with("qhmp proxy: "), "{reply}");
            std::thread::sleep(fault_support::POLL);
            return None;
        }
        assert_eq!(
            reply,
            json!({"return": "VM status: paused (prelaunch)\r\n", "id": id})
        );
        Some(())
    });
}

#[test]
fn proxy_fails_requests_in_flight_tells_everyone_and_reconnects() {
    let Some((rig, qemu)) = Rig::new() else {
        return;
    };
    let listen = rig.dir.path().join("proxy.sock");
    let mut proxy = Proxy::start(&rig.target(), &listen, &[], rig.dir.path());
    let mut a = Peer::negotiated("a", &listen);
    let mut b = Peer::negotiated("b", &listen);
    let mut idle = Peer::negotiated("idle", &listen);
    let first = a.call(json!({"execute": "query-status", "id": "a-0"}));
    assert_eq!(first["return"]["status"], "prelaunch", "{first}");

    qemu.freeze();
    a.send(&json!({"execute": "query-status", "id": "a-1"}));
    b.send(&hmp("info status", "b-1"));
    std::thread::sleep(SETTLE);
    qemu.kill();

    let reply = a.reply_to(&json!("a-1"));
    assert!(
        desc(&reply).starts_with("qhmp proxy: upstream QEMU: QEMU closed the QMP connection"),
        "{reply}"
    );
    let reply = b.reply_to(&json!("b-1"));
    assert!(desc(&reply).starts_with("qhmp proxy: "), "{reply}");
    for peer in [&mut a, &mut b, &mut idle] {
        let notice = peer.find(|m| m.get("error").is_some() && m.get("id").is_none());
        assert!(
            desc(&notice).starts_with("qhmp proxy lost its upstream QEMU: "),
            "{notice}"
        );
    }
    proxy.assert_running("after QEMU was killed");

    let _qemu = rig.start_qemu();
    for peer in [&mut a, &mut b, &mut idle] {
        assert_served_again(peer);
    }
    assert_served_again(&mut Peer::negotiated("late", &listen));
    proxy.assert_running("at the end");
}

#[test]
fn proxy_with_exit_on_upstream_loss_exits_3_when_qemu_is_killed() {
    let Some((rig, qemu)) = Rig::new() else {
        return;
    };
    let listen = rig.dir.path().join("proxy.sock");
    let proxy = Proxy::start(
        &rig.target(),
        &listen,
        &["--exit-on-upstream-loss"],
        rig.dir.path(),
    );
    let mut a = Peer::negotiated("a", &listen);
    qemu.freeze();
    a.send(&json!({"execute": "query-status", "id": "a-1"}));
    std::thread::sleep(SETTLE);
    qemu.kill();

    let outcome = proxy.running.wait("the proxy after QEMU was killed");
    assert_eq!(outcome.code, Some(3), "stderr:\n{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("qhmp proxy: upstream QEMU: QEMU closed the QMP connection"),
        "{}",
        outcome.stderr
    );
    // The client's stream ends; nothing but errors came after the kill.
    while a.try_next().is_some() {}
    let after: Vec<&Value> = a.non_events();
    assert!(after.iter().all(|m| m.get("error").is_some()), "{after:?}");
}

#[test]
fn interactive_monitor_reports_qemu_killed_mid_command_and_reconnects() {
    let Some((rig, qemu)) = Rig::new() else {
        return;
    };
    let Some(term) = Terminal::new(rig.dir.path()) else {
        return;
    };
    term.start_qhmp("s", &rig.target());
    qemu.freeze();
    term.enter("s", "info status");
    std::thread::sleep(SETTLE);
    qemu.kill();
    term.wait_for("s", "the loss reported", |s| {
        s.contains("qhmp: QEMU went away: QEMU closed the QMP connection")
            && s.trim_end().ends_with("[Y/n]")
    });
    let _qemu = rig.start_qemu();
    term.press("s", "Enter");
    term.wait_for("s", "the reconnection", |s| {
        s.contains("Connected to QEMU 10.0") && at_empty_prompt(s)
    });
    term.enter("s", "info status");
    term.wait_for("s", "a command on the new connection", |s| {
        s.contains("(qemu) info status\nVM status: paused (prelaunch)") && at_empty_prompt(s)
    });
    term.press("s", "C-d");
    term.wait_for("s", "qhmp leaving", |s| s.contains("[exit 0]"));
}
