//! Many clients through one proxy on real QEMU 10.0: every reply reaches
//! the client that asked, with its own id and the content it asked for;
//! every client sees the events; a client sending garbage and clients
//! vanishing mid-command disturb nobody.

mod proxy_support;

use proxy_support::{native_hmp, qemu_binary, InProcessProxy, Qemu, Raw};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

const CLIENTS: usize = 32;
const PER_CLIENT: usize = 500;
/// Requests a client sends before reading their replies.
const WINDOW: usize = 10;

/// What request `n` of client `c` is, and an id of a shape that varies.
fn request(c: usize, n: usize) -> (usize, Value) {
    let kind = (c + n) % 4;
    let id = match n % 4 {
        0 => json!({"client": c, "n": n}),
        1 => json!(format!("{c}/{n}")),
        2 => json!(c * 100_000 + n),
        _ => json!([c, n, {"nested": [null, true]}]),
    };
    let message = match kind {
        0 => json!({"execute": "query-name", "id": id}),
        1 => json!({"execute": "query-status", "id": id}),
        2 => json!({"execute": "human-monitor-command", "id": id,
                    "arguments": {"command-line": "info version"}}),
        _ => json!({"execute": "human-monitor-command", "id": id,
                    "arguments": {"command-line": "info name"}}),
    };
    (kind, message)
}

/// Checks one reply against the request it should answer.
fn check(c: usize, n: usize, kind: usize, sent: &Value, reply: &Value, version: &str) {
    let id = &sent["id"];
    let fits = match kind {
        0 => *reply == json!({"return": {"name": "proxytest"}, "id": id}),
        1 => {
            reply["id"] == *id
                && reply["return"]["status"].is_string()
                && reply["return"]["running"].is_boolean()
        }
        2 => *reply == json!({"return": version, "id": id}),
        _ => *reply == json!({"return": "proxytest\r\n", "id": id}),
    };
    assert!(fits, "client {c} request {n} ({sent}) got {reply}");
}

async fn client(
    socket: std::path::PathBuf,
    c: usize,
    barrier: Arc<Barrier>,
    version: String,
) -> (Value, Value) {
    let mut raw = Raw::negotiated(&socket).await;
    barrier.wait().await;
    for start in (0..PER_CLIENT).step_by(WINDOW) {
        let batch: Vec<(usize, usize, Value)> = (start..(start + WINDOW).min(PER_CLIENT))
            .map(|n| {
                let (kind, message) = request(c, n);
                (n, kind, message)
            })
            .collect();
        let mut bytes = Vec::new();
        for (_, _, message) in &batch {
            bytes.extend(format!("{message}\n").into_bytes());
        }
        raw.send_bytes(&bytes).await;
        for (n, kind, message) in &batch {
            let reply = raw.reply().await;
            check(c, *n, *kind, message, &reply, &version);
        }
    }
    let resume = raw.event("RESUME").await;
    let stop = raw.event("STOP").await;
    (resume, stop)
}

/// Sends bytes QEMU cannot read and checks each gets an error, all along.
async fn garbage_sender(socket: std::path::PathBuf, barrier: Arc<Barrier>) -> usize {
    let mut raw = Raw::negotiated(&socket).await;
    barrier.wait().await;
    let junk: [&[u8]; 4] = [
        b"{bad json}\n",
        b"\xff\n",
        b"[1, 2]\n",
        b"{\"execute\": 5}\n",
    ];
    let mut answered = 0;
    for round in 0..100 {
        raw.send_bytes(junk[round % junk.len()]).await;
        raw.send_bytes(b"{\"execute\": \"query-name\", \"id\": \"still here\"}\n")
            .await;
        loop {
            let reply = raw.reply().await;
            if reply["id"] == "still here" {
                assert_eq!(reply["return"]["name"], "proxytest");
                break;
            }
            assert_eq!(reply["error"]["class"], "GenericError", "{reply}");
            assert!(reply.get("id").is_none(), "{reply}");
            answered += 1;
        }
    }
    answered
}

/// Connects, starts slow commands and hangs up without reading.
async fn vanisher(socket: std::path::PathBuf, barrier: Arc<Barrier>) {
    barrier.wait().await;
    for i in 0..20 {
        let mut raw = Raw::negotiated(&socket).await;
        raw.send(&json!({"execute": "human-monitor-command", "id": i,
            "arguments": {"command-line": "info qom-tree"}}))
            .await;
        raw.send(&json!({"execute": "query-status", "id": i})).await;
        drop(raw);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_five_hundred_mixed_commands_each() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &["-name", "proxytest"]);
    let version = native_hmp(&qemu, &["info version"]).await;
    let version = version[0]["return"]
        .as_str()
        .expect("info version text")
        .to_string();
    let proxy = InProcessProxy::start(&qemu, |_| {}).await;

    let barrier = Arc::new(Barrier::new(CLIENTS + 3));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(client(
                proxy.socket.clone(),
                c,
                barrier.clone(),
                version.clone(),
            ))
        })
        .collect();
    let garbage = tokio::spawn(garbage_sender(proxy.socket.clone(), barrier.clone()));
    let vanishing = tokio::spawn(vanisher(proxy.socket.clone(), barrier.clone()));

    let mut controller = Raw::negotiated(&proxy.socket).await;
    barrier.wait().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        controller
            .request(&json!({"execute": "cont", "id": "go"}))
            .await,
        json!({"return": {}, "id": "go"})
    );
    assert_eq!(
        controller
            .request(&json!({"execute": "stop", "id": "halt"}))
            .await,
        json!({"return": {}, "id": "halt"})
    );
    // QEMU sends the event before the reply; so does the proxy.
    assert!(controller.events.iter().any(|e| e["event"] == "RESUME"));
    assert!(controller.events.iter().any(|e| e["event"] == "STOP"));

    let mut seen = Vec::new();
    for task in clients {
        seen.push(task.await.expect("a client task failed"));
    }
    assert!(garbage.await.expect("the garbage sender failed") >= 100);
    vanishing.await.expect("the vanishing clients failed");
    // Every client saw the very same events.
    let (resume, stop) = &seen[0];
    for (i, (r, s)) in seen.iter().enumerate() {
        assert_eq!((r, s), (resume, stop), "client {i} saw other events");
    }
    // The proxy still serves newcomers.
    let mut late = Raw::negotiated(&proxy.socket).await;
    assert_eq!(late.hmp("info status").await, "VM status: paused\r\n");
}
