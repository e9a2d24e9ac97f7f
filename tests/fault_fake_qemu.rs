//! Fault injection with a scripted fake QEMU: garbage after the greeting, a
//! 20 MiB line, half a JSON object then EOF, no greeting at all, and 10 000
//! events during one command. For each, the one-shot CLI must say what went
//! wrong and exit with the documented status (3: connection), and the
//! library `Monitor` must return a transport error without hanging — and be
//! able to connect again once the "QEMU" behaves.

mod fault_support;

use fault_support::fake::{self, Action, FakeQemu, Plan};
use fault_support::process::{one_shot, Outcome, Running};
use fault_support::DEADLINE;
use qhmp::monitor::{Monitor, MonitorError};
use qhmp::qmp::{ClientConfig, ClientError, DecodeError, Target};
use std::time::Duration;

/// A temporary directory holding the fake's socket.
fn fake(script: Vec<Plan>) -> (tempfile::TempDir, FakeQemu) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fake = FakeQemu::start(&dir.path().join("qmp.sock"), script);
    (dir, fake)
}

fn assert_connection_error(run: &Outcome, says: &str) {
    assert_eq!(
        run.code,
        Some(3),
        "exit status 3 (connection) expected; stderr:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(says),
        "stderr should say {says:?}:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "qhmp panicked:\n{}",
        run.stderr
    );
}

#[test]
fn cli_garbage_right_after_the_greeting() {
    let (dir, fake) = fake(vec![Plan::garbage_after_greeting()]);
    let run = one_shot(&fake.target(), &["info status"], dir.path());
    assert_connection_error(&run, "malformed data from QEMU");
    assert!(run.stderr.contains(fake::GARBAGE), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn cli_garbage_instead_of_a_reply() {
    let (dir, fake) = fake(vec![Plan::on("query-status", Action::Garbage)]);
    let run = one_shot(&fake.target(), &["info status"], dir.path());
    assert_connection_error(&run, "malformed data from QEMU: unexpected data");
    assert!(run.stderr.contains(fake::GARBAGE), "{}", run.stderr);
    assert_eq!(
        fake.requests(0).last().map(String::as_str),
        Some("query-status")
    );
}

#[test]
fn cli_a_20_mib_line() {
    let (dir, fake) = fake(vec![Plan::on("query-status", Action::HugeLine)]);
    let run = one_shot(&fake.target(), &["info status"], dir.path());
    assert_connection_error(&run, "message longer than 16777216 bytes");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn cli_half_an_object_then_eof() {
    let (dir, fake) = fake(vec![Plan::on("query-status", Action::HalfObjectThenEof)]);
    let run = one_shot(&fake.target(), &["info status", "info status"], dir.path());
    assert_connection_error(
        &run,
        r#"QEMU closed the QMP connection in the middle of a message starting "{\"return\": {\"status\""#,
    );
}

#[test]
fn cli_no_greeting_times_out_with_the_documented_message() {
    let (dir, fake) = fake(vec![Plan::silent()]);
    // `one_shot` waits at most DEADLINE: a client that never gives up fails here.
    let run = one_shot(&fake.target(), &["info status"], dir.path());
    assert_connection_error(
        &run,
        "no QMP greeting within 5s: either this is not a QMP socket",
    );
    assert!(fake.requests(0).is_empty(), "{:?}", fake.requests(0));
}

#[test]
fn cli_ten_thousand_events_during_one_command() {
    let (dir, fake) = fake(vec![Plan::on("query-status", Action::Events(10_000))]);
    let run = one_shot(&fake.target(), &["info status", "info status"], dir.path());
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert_eq!(run.stdout, "VM status: running\n".repeat(2));
}

#[test]
fn cli_no_reply_within_the_reply_timeout() {
    let (dir, fake) = fake(vec![Plan::on("query-status", Action::Hang)]);
    let target = fake.target();
    let args = [
        "--connect",
        &target,
        "--reply-timeout",
        "1",
        "-c",
        "info status",
    ];
    let run = Running::start(&args, None, dir.path()).wait("qhmp --reply-timeout 1");
    assert_connection_error(&run, "no reply to 'query-status' within 1s");
}

/// A short greeting limit, so the library tests stay quick.
fn quick() -> ClientConfig {
    ClientConfig {
        greeting_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

/// Runs `work` on a fresh runtime, failing the test if it takes longer
/// than the deadline (a hang).
fn bounded<T>(work: impl std::future::Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        tokio::time::timeout(DEADLINE, work)
            .await
            .unwrap_or_else(|_| panic!("hung for {DEADLINE:?}"))
    })
}

fn target(fake: &FakeQemu) -> Target {
    fake.target().parse().expect("a target")
}

/// A monitor on the fake's next connection answers `info status` (the fake
/// serves normally once its script is used up).
async fn assert_reconnects(fake: &FakeQemu) {
    let mut monitor = Monitor::connect(&target(fake), quick())
        .await
        .expect("connects again");
    let response = monitor.execute("info status").await.expect("a reply");
    assert_eq!(response.text, "VM status: running\n");
}

/// Connects, runs `info status` once, and returns the transport error.
async fn transport_error(fake: &FakeQemu) -> ClientError {
    let mut monitor = Monitor::connect(&target(fake), quick())
        .await
        .expect("the handshake works");
    let err = match monitor.execute("info status").await {
        Err(MonitorError::Transport(e)) => e,
        other => panic!("a transport error expected, got {other:?}"),
    };
    assert!(err.is_fatal(), "{err:?}");
    // The connection is dead: later commands fail at once with the same error.
    match monitor.execute("info status").await {
        Err(MonitorError::Transport(again)) => assert_eq!(again.to_string(), err.to_string()),
        other => panic!("the same transport error expected, got {other:?}"),
    }
    err
}

#[test]
fn monitor_garbage_after_the_greeting_then_reconnects() {
    let (_dir, fake) = fake(vec![Plan::garbage_after_greeting()]);
    bounded(async {
        let err = Monitor::connect(&target(&fake), quick()).await.err();
        assert!(
            matches!(
                &err,
                Some(MonitorError::Connect(ClientError::Decode(
                    DecodeError::NotAnObject { .. }
                )))
            ),
            "{err:?}"
        );
        assert_reconnects(&fake).await;
    });
}

#[test]
fn monitor_garbage_instead_of_a_reply_then_reconnects() {
    let (_dir, fake) = fake(vec![Plan::on("query-status", Action::Garbage)]);
    bounded(async {
        let err = transport_error(&fake).await;
        assert!(
            matches!(err, ClientError::Decode(DecodeError::NotAnObject { .. })),
            "{err:?}"
        );
        assert_reconnects(&fake).await;
    });
}

#[test]
fn monitor_a_20_mib_reply_fails_only_that_request() {
    let (_dir, fake) = fake(vec![Plan::on("query-status", Action::HugeLine)]);
    bounded(async {
        let mut monitor = Monitor::connect(&target(&fake), quick())
            .await
            .expect("the handshake works");
        match monitor.execute("info status").await {
            Err(MonitorError::Transport(e @ ClientError::Decode(DecodeError::TooLong { .. }))) => {
                assert!(!e.is_fatal(), "{e:?}")
            }
            other => panic!("an oversized-reply error expected, got {other:?}"),
        }
        // The same connection goes on.
        let response = monitor.execute("info status").await.expect("a reply");
        assert_eq!(response.text, "VM status: running\n");
    });
}

#[test]
fn monitor_half_an_object_then_eof_then_reconnects() {
    let (_dir, fake) = fake(vec![Plan::on("query-status", Action::HalfObjectThenEof)]);
    bounded(async {
        let err = transport_error(&fake).await;
        assert!(
            matches!(&err, ClientError::Eof { partial: Some(p) } if p.contains(r#"{\"return\""#)),
            "{err:?}"
        );
        assert_reconnects(&fake).await;
    });
}

#[test]
fn monitor_no_greeting_times_out_then_reconnects() {
    let (_dir, fake) = fake(vec![Plan::silent()]);
    bounded(async {
        let err = Monitor::connect(&target(&fake), quick()).await.err();
        assert!(
            matches!(
                &err,
                Some(MonitorError::Connect(ClientError::NoGreeting { .. }))
            ),
            "{err:?}"
        );
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.starts_with("no QMP greeting within 500ms"), "{text}");
        assert_reconnects(&fake).await;
    });
}

#[test]
fn monitor_request_timeout_leaves_the_connection_usable() {
    let (_dir, fake) = fake(vec![Plan::on("query-status", Action::Hang)]);
    bounded(async {
        let config = ClientConfig {
            request_timeout: Some(Duration::from_millis(300)),
            ..quick()
        };
        let mut monitor = Monitor::connect(&target(&fake), config)
            .await
            .expect("connects");
        match monitor.execute("info status").await {
            Err(MonitorError::Transport(e @ ClientError::Timeout { .. })) => {
                assert!(!e.is_fatal(), "{e:?}")
            }
            other => panic!("a timeout expected, got {other:?}"),
        }
        let again = monitor.execute("info status").await.expect("a reply");
        assert_eq!(again.text, "VM status: running\n");
    });
}

#[test]
fn monitor_gets_every_event_of_a_burst_and_the_reply() {
    let (_dir, fake) = fake(vec![Plan::on("query-status", Action::Events(10_000))]);
    bounded(async {
        let mut monitor = Monitor::connect(&target(&fake), quick())
            .await
            .expect("connects");
        let mut events = monitor.client().events();
        let response = monitor.execute("info status").await.expect("the reply");
        assert_eq!(response.text, "VM status: running\n");
        for seq in 0..10_000u64 {
            let event = events.recv().await.expect("an event");
            assert_eq!(event.name, fake::SEQ_EVENT);
            assert_eq!(event.data["seq"], seq, "events complete and in order");
        }
        assert!(events.try_recv().is_err(), "no extra events");
        assert_eq!(monitor.client().events_dropped(), 0);
        // The connection is still good.
        let again = monitor.execute("info status").await.expect("a reply");
        assert_eq!(again.text, "VM status: running\n");
    });
}
