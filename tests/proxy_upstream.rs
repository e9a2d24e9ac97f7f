//! Losing the upstream QEMU: every client is told, then the proxy
//! reconnects with backoff (default) or exits (--exit-on-upstream-loss).

mod proxy_support;

use proxy_support::{qemu_binary, BinaryProxy, InProcessProxy, Qemu, Raw, PATIENCE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Reads lines until the upstream-loss error (no id); panics on EOF first.
async fn loss_notice(raw: &mut Raw) -> Value {
    loop {
        let line = raw.line().await.expect("closed before the loss notice");
        let value: Value = serde_json::from_slice(&line).expect("JSON");
        if value.get("error").is_some() && value.get("id").is_none() {
            return value;
        }
    }
}

fn assert_loss_notice(notice: &Value) {
    assert_eq!(notice["error"]["class"], "GenericError", "{notice}");
    let desc = notice["error"]["desc"].as_str().unwrap_or_default();
    assert!(
        desc.starts_with("qhmp proxy lost its upstream QEMU"),
        "{notice}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_is_told_then_the_proxy_reconnects() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let mut qemu = Qemu::start(&binary, &["-name", "first"]);
    let proxy = InProcessProxy::start(&qemu, |_| {}).await;
    let mut a = Raw::negotiated(&proxy.socket).await;
    let mut b = Raw::negotiated(&proxy.socket).await;
    let (mut greeted_only, _) = Raw::greeted(&proxy.socket).await;
    assert_eq!(a.hmp("info name").await, "first\r\n");

    qemu.kill();
    for client in [&mut a, &mut b, &mut greeted_only] {
        assert_loss_notice(&loss_notice(client).await);
    }
    let reply = a
        .request(&json!({"execute": "query-name", "id": "down"}))
        .await;
    assert_eq!(
        reply,
        json!({"id": "down", "error": {"class": "GenericError",
            "desc": "qhmp proxy: the upstream QEMU is not connected"}})
    );

    qemu.respawn(&binary, &["-name", "second"]);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let reply = a.request(&json!({"execute": "query-name"})).await;
        if reply == json!({"return": {"name": "second"}}) {
            break;
        }
        assert!(Instant::now() < deadline, "never reconnected: {reply}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The translator follows the new upstream, and events flow again.
    assert_eq!(a.hmp("info name").await, "second\r\n");
    assert_eq!(
        a.request(&json!({"execute": "cont"})).await,
        json!({"return": {}})
    );
    assert_eq!(b.event("RESUME").await["event"], "RESUME");
    assert!(!proxy.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_on_upstream_loss_tells_clients_then_exits() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let mut qemu = Qemu::start(&binary, &[]);
    let mut proxy = BinaryProxy::start(&qemu, "exit.sock", &["--exit-on-upstream-loss"]);
    let mut a = Raw::negotiated(&proxy.socket).await;
    let mut b = Raw::negotiated(&proxy.socket).await;
    qemu.kill();
    for client in [&mut a, &mut b] {
        assert_loss_notice(&loss_notice(client).await);
        assert!(client.line().await.is_none(), "the connection stays open");
    }
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = proxy.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the proxy did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(3), "exit status for a lost connection");
}

/// Stopping an in-process proxy (dropping its future) closes its clients
/// and frees QEMU's QMP socket for others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_proxy_frees_the_qmp_socket() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &["-name", "freed"]);
    let proxy = InProcessProxy::start(&qemu, |_| {}).await;
    let mut client = Raw::negotiated(&proxy.socket).await;
    assert_eq!(client.hmp("info name").await, "freed\r\n");
    drop(proxy);
    assert!(client.line().await.is_none(), "the client was not let go");
    let mut direct = Raw::negotiated(&qemu.socket).await;
    assert_eq!(direct.hmp("info name").await, "freed\r\n");
}
