//! The proxy's policy and socket options, through the built `qhmp proxy`
//! binary on real QEMU 10.0: `--read-only`, `--allow`/`--deny` (QMP
//! commands and HMP lines alike, a line judged by what it translates to),
//! `--hmp native`, and the unix socket's mode.

mod proxy_support;

use proxy_support::{native_hmp, qemu_binary, BinaryProxy, Qemu, Raw};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

fn hmc(line: &str) -> Value {
    json!({"execute": "human-monitor-command", "arguments": {"command-line": line}})
}

/// The error text of a reply, panicking when it is no error.
fn refusal(reply: &Value) -> String {
    assert_eq!(reply["error"]["class"], "GenericError", "{reply}");
    reply["error"]["desc"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_changes_and_allows_queries() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &["-name", "proxytest"]);
    let native = native_hmp(&qemu, &["info spice", "info status"]).await;
    let proxy = BinaryProxy::start(&qemu, "ro.sock", &["--read-only"]);
    let mut raw = Raw::negotiated(&proxy.socket).await;

    let why = refusal(&raw.request(&json!({"execute": "stop", "id": 1})).await);
    assert!(
        why.contains("'stop'") && why.contains("--read-only"),
        "{why}"
    );
    let why = refusal(&raw.request(&hmc("stop")).await);
    assert!(
        why.contains("'stop'") && why.contains("--read-only"),
        "{why}"
    );
    let why = refusal(&raw.request(&hmc("cont")).await);
    assert!(why.contains("--read-only"), "{why}");
    let why = refusal(&raw.request(&json!({"execute": "system_reset"})).await);
    assert!(why.contains("--read-only"), "{why}");

    // Queries and info lines pass, with QEMU's own answers.
    assert_eq!(raw.request(&hmc("info spice")).await, native[0]);
    assert_eq!(raw.request(&hmc("info status")).await, native[1]);
    let spice = raw.request(&json!({"execute": "query-spice"})).await;
    assert!(spice.get("return").is_some(), "{spice}");
    // Nothing was stopped or reset: the VM is still in prelaunch.
    assert_eq!(
        raw.hmp("info status").await,
        "VM status: paused (prelaunch)\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_and_deny_lists_judge_qmp_and_hmp_alike() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &["-name", "proxytest"]);
    let proxy = BinaryProxy::start(
        &qemu,
        "lists.sock",
        &["--allow", "query-status,query-name,stop", "--deny", "stop"],
    );
    let mut raw = Raw::negotiated(&proxy.socket).await;
    assert_eq!(
        raw.request(&json!({"execute": "query-name"})).await,
        json!({"return": {"name": "proxytest"}})
    );
    // An HMP line passes when what it translates to is allowed.
    assert_eq!(raw.hmp("info name").await, "proxytest\r\n");
    let why = refusal(&raw.request(&json!({"execute": "query-version"})).await);
    assert!(why.contains("not in --allow"), "{why}");
    let why = refusal(&raw.request(&hmc("info version")).await);
    assert!(
        why.contains("'info version'") && why.contains("'query-version'"),
        "{why}"
    );
    let why = refusal(&raw.request(&json!({"execute": "stop"})).await);
    assert!(why.contains("--deny"), "{why}");
    let why = refusal(&raw.request(&hmc("stop")).await);
    assert!(why.contains("--deny"), "{why}");
    // A line QEMU's HMP must run itself is judged by its own command.
    let why = refusal(&raw.request(&hmc("info registers")).await);
    assert!(
        why.contains("'info registers'") && why.contains("not in --allow"),
        "{why}"
    );
    assert_eq!(
        raw.hmp("info status").await,
        "VM status: paused (prelaunch)\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_human_monitor_command_refuses_every_line() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &[]);
    let proxy = BinaryProxy::start(&qemu, "nohmp.sock", &["--deny", "human-monitor-command"]);
    let mut raw = Raw::negotiated(&proxy.socket).await;
    let why = refusal(&raw.request(&hmc("info status")).await);
    assert!(why.contains("--deny"), "{why}");
    let status = raw.request(&json!({"execute": "query-status"})).await;
    assert_eq!(status["return"]["status"], "prelaunch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_hmp_lines_are_still_judged_by_their_translation() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &[]);
    let native = native_hmp(&qemu, &["info status", "nonsense"]).await;
    let proxy = BinaryProxy::start(&qemu, "native.sock", &["--hmp", "native", "--read-only"]);
    let mut raw = Raw::negotiated(&proxy.socket).await;
    let why = refusal(&raw.request(&hmc("stop")).await);
    assert!(why.contains("--read-only"), "{why}");
    assert_eq!(raw.request(&hmc("info status")).await, native[0]);
    // A line that does not parse only gets QEMU's complaint.
    assert_eq!(raw.request(&hmc("nonsense")).await, native[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_mode() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &[]);
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("the listen socket")
            .permissions()
            .mode()
            & 0o777
    };
    let proxy = BinaryProxy::start(&qemu, "default.sock", &[]);
    assert_eq!(mode(&proxy.socket), 0o600);
    drop(proxy);
    // QEMU serves one QMP client at a time; the first proxy has gone.
    let proxy = BinaryProxy::start(&qemu, "shared.sock", &["--socket-mode", "0660"]);
    assert_eq!(mode(&proxy.socket), 0o660);
    let mut raw = Raw::negotiated(&proxy.socket).await;
    assert_eq!(
        raw.hmp("info status").await,
        "VM status: paused (prelaunch)\r\n"
    );
}
