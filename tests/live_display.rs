//! Display sessions against a real QEMU: `qhmp events` reports VNC and SPICE
//! clients coming and going (`--sessions` keeps SPICE main channels only),
//! and `info spice` as a table groups channels by session.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::Fixture;

/// Starts `qhmp events` on the fixture's spare socket and waits until it is
/// subscribed (it says so on stderr).
fn watch(fx: &Fixture, extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args([
            "events",
            "--connect",
            &fx.spare_connect_arg(),
            "--timeout",
            "30",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qhmp runs");
    let stderr = child.stderr.take().expect("stderr");
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("watching events") {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("qhmp events subscribed");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn collect(child: &mut Child, lines: &mpsc::Receiver<String>, want: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < want {
        match lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => got.push(line),
            Err(_) => break,
        }
    }
    let _ = child.wait();
    got
}

/// The event name of a rendered line (`HH:MM:SS.mmm NAME …`).
fn name(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or_default()
}

#[test]
fn vnc_client_connecting_and_leaving() {
    let Some(fx) = Fixture::start("10.0") else {
        return;
    };
    let (mut child, lines) = watch(&fx, &["vnc_*", "--count", "3"]);
    drop(fx.vnc_client());
    let got = collect(&mut child, &lines, 3);
    let names: Vec<&str> = got.iter().map(|l| name(l)).collect();
    assert_eq!(
        names,
        ["VNC_CONNECTED", "VNC_INITIALIZED", "VNC_DISCONNECTED"],
        "{got:#?}"
    );
    assert!(
        got[0].contains("client 127.0.0.1:") && got[0].contains("-> server 127.0.0.1:"),
        "{}",
        got[0]
    );
}

#[test]
fn sessions_keep_spice_main_channels_only() {
    let Some(fx) = Fixture::start("10.0") else {
        return;
    };
    let (mut child, lines) = watch(&fx, &["--sessions", "SPICE_*", "--count", "2"]);
    {
        let mut session = fx.spice_session();
        session
            .open_channel(support::spice::CHANNEL_INPUTS, 0)
            .expect("inputs channel");
        std::thread::sleep(Duration::from_millis(300));
    }
    let got = collect(&mut child, &lines, 2);
    let names: Vec<&str> = got.iter().map(|l| name(l)).collect();
    assert_eq!(
        names,
        ["SPICE_INITIALIZED", "SPICE_DISCONNECTED"],
        "{got:#?}"
    );
    assert!(got[0].contains("channel main:0"), "{}", got[0]);
    assert!(!got.iter().any(|l| l.contains("inputs")), "{got:#?}");
}

#[test]
fn info_spice_table_shows_two_sessions() {
    let Some(fx) = Fixture::start("10.0") else {
        return;
    };
    let first = fx.spice_session();
    let second = fx.spice_session();
    let out = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args([
            "--connect",
            &fx.spare_connect_arg(),
            "--format",
            "table",
            "-c",
            "info spice",
        ])
        .env("COLUMNS", "120")
        .output()
        .expect("qhmp runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    let headings = table
        .lines()
        .filter(|l| l.contains("SPICE session"))
        .count();
    assert_eq!(headings, 2, "{table}");
    for s in [&first, &second] {
        let id = s.session_id_as_printed().to_string();
        let unsigned = (s.session_id_as_printed() as u32).to_string();
        assert!(
            table.contains(&id) || table.contains(&unsigned),
            "session {id} missing:\n{table}"
        );
    }
}
