//! `human-monitor-command` through the proxy returns exactly the bytes
//! QEMU's own HMP returns, on QEMU 7.2 and 10.0: translated lines,
//! `hmp-only` lines, errors, `cpu-index`, and `--hmp native`.

mod proxy_support;

use proxy_support::{native_hmp, qemu_binary, InProcessProxy, Qemu, Raw, RICH_MACHINE};
use qhmp::monitor::{Monitor, MonitorError};
use qhmp::qmp::{ClientConfig, Target};
use serde_json::{json, Value};

/// Lines whose output must match QEMU's byte for byte.
const LINES: &[&str] = &[
    "info status",
    "info version",
    "info name",
    "info uuid",
    "info kvm",
    "info vnc",
    "info balloon",
    "info cpus",
    "info mice",
    "info iothreads",
    "info memdev",
    "info migrate_capabilities",
    "info migrate_parameters",
    "info chardev",
    "info block",
    "info pci",
    "info qom-tree",
    // Errors QEMU prints as text, and lines QEMU's HMP runs itself.
    "info nosuchthing",
    "nonsense",
    "info status extra",
    "info registers",
    "info network",
];

fn start_rich(binary: &std::path::Path) -> Qemu {
    let dir = tempfile::tempdir().expect("temp dir");
    let vnc = format!("unix:{}", dir.path().join("vnc.sock").display());
    let socket = dir.path().join("qmp.sock");
    let mut args: Vec<&str> = RICH_MACHINE.to_vec();
    args.extend(["-vnc", vnc.as_str()]);
    Qemu::start_at(binary, &args, dir, socket)
}

/// The translator's own text for a line (no fallback to QEMU's HMP).
async fn translated(monitor: &mut Monitor, line: &str) -> String {
    match monitor.execute(line).await {
        Ok(response) => response.crlf_text(),
        Err(MonitorError::Parse { error, .. }) => error.hmp_text().replace('\n', "\r\n"),
        Err(e) => format!("<qhmp could not answer: {e}>"),
    }
}

async fn lines_match_native(var: &str) {
    let Some(binary) = qemu_binary(var) else {
        return;
    };
    let qemu = start_rich(&binary);
    let native = native_hmp(&qemu, LINES).await;
    let proxy = InProcessProxy::start(&qemu, |_| {}).await;
    let mut raw = Raw::negotiated(&proxy.socket).await;
    let mut through_proxy = Vec::new();
    for (line, expected) in LINES.iter().zip(&native) {
        let got = raw
            .request(&json!({"execute": "human-monitor-command",
                "arguments": {"command-line": line}}))
            .await;
        if got != *expected {
            through_proxy.push(format!("{line}:\n  QEMU:  {expected}\n  proxy: {got}"));
        }
    }
    // The translator alone, as a library client of the proxy.
    let target = Target::Unix(proxy.socket.clone());
    let mut monitor = Monitor::connect(&target, ClientConfig::default())
        .await
        .expect("a monitor through the proxy");
    let mut by_translator = Vec::new();
    for (line, expected) in LINES.iter().zip(&native) {
        let expected = expected["return"].as_str().unwrap_or_default();
        let got = translated(&mut monitor, line).await;
        if got != expected {
            let short = |s: &str| s.chars().take(240).collect::<String>();
            by_translator.push(format!(
                "{line}:\n  QEMU: {:?}\n  qhmp: {:?}",
                short(expected),
                short(&got)
            ));
        }
    }
    assert!(
        through_proxy.is_empty() && by_translator.is_empty(),
        "{var}: {} lines differ through the proxy:\n{}\n{} lines differ from the translator:\n{}",
        through_proxy.len(),
        through_proxy.join("\n"),
        by_translator.len(),
        by_translator.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmp_lines_match_native_on_qemu_7() {
    lines_match_native("QHMP_QEMU_7").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmp_lines_match_native_on_qemu_10() {
    lines_match_native("QHMP_QEMU_10").await;
}

fn hmc(line: &str, cpu: Value) -> Value {
    json!({"execute": "human-monitor-command", "id": line,
        "arguments": {"command-line": line, "cpu-index": cpu}})
}

/// `cpu-index` picks the CPU of one line (the `*` of `info cpus` moves, the
/// registers shown change); a CPU QEMU lacks gets QEMU's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_index_is_honoured() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = start_rich(&binary);
    let requests = [
        hmc("info cpus", json!(1)),
        hmc("info cpus", json!(0)),
        hmc("info registers", json!(1)),
        hmc("info cpus", json!(7)),
        hmc("nonsense", json!(7)),
    ];
    let mut direct = Raw::negotiated(&qemu.socket).await;
    let mut native = Vec::new();
    for request in &requests {
        native.push(direct.request(request).await);
    }
    drop(direct);
    let proxy = InProcessProxy::start(&qemu, |_| {}).await;
    let mut raw = Raw::negotiated(&proxy.socket).await;
    for (request, expected) in requests.iter().zip(&native) {
        assert_eq!(raw.request(request).await, *expected, "{request}");
    }
    assert_ne!(native[0], native[1], "cpu-index made no difference");
    // The CPU is chosen per line: the next line without it uses CPU 0.
    assert_eq!(
        raw.hmp("info cpus").await,
        native[1]["return"].as_str().unwrap_or_default()
    );
}

/// `--hmp native` forwards every line to QEMU's HMP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_mode_forwards_lines() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = start_rich(&binary);
    let native = native_hmp(&qemu, LINES).await;
    let proxy = InProcessProxy::start(&qemu, |o| o.native_hmp = true).await;
    let mut raw = Raw::negotiated(&proxy.socket).await;
    for (line, expected) in LINES.iter().zip(&native) {
        let got = raw
            .request(&json!({"execute": "human-monitor-command",
                "arguments": {"command-line": line}}))
            .await;
        assert_eq!(got, *expected, "{line}");
    }
}
