//! What one client may cost the proxy and who may connect, on real QEMU
//! 10.0: a stalled client misses events (and is told) instead of growing
//! the proxy, a client that does not read is not read from while others are
//! served, `--max-clients`, the idle timeout, the audit trail with peer
//! credentials, `--allow-uid`/`--allow-gid`, and the TCP token.

mod proxy_support;

use proxy_support::{qemu_binary, InProcessProxy, Qemu, Raw, PATIENCE};
use qhmp::proxy::{Listen, Policy, ProxyOptions};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn qemu() -> Option<Qemu> {
    qemu_binary("QHMP_QEMU_10").map(|binary| Qemu::start(&binary, &[]))
}

/// Sends `pairs` stop/cont pairs, 16 in flight, reading the replies.
async fn flood(raw: &mut Raw, pairs: usize) {
    let mut sent = 0;
    let mut answered = 0;
    while answered < 2 * pairs {
        while sent < 2 * pairs && sent - answered < 16 {
            let command = if sent % 2 == 0 { "stop" } else { "cont" };
            raw.send(&json!({"execute": command})).await;
            sent += 1;
        }
        let reply = raw.reply().await;
        assert!(reply.get("return").is_some(), "{reply}");
        answered += 1;
        raw.events.clear();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_misses_events_and_is_told_others_are_served() {
    let Some(qemu) = qemu() else {
        return;
    };
    let proxy = InProcessProxy::start(&qemu, |o| o.limits.queue_bytes = 4096).await;
    let mut stalled = Raw::negotiated(&proxy.socket).await;
    let mut flooder = Raw::negotiated(&proxy.socket).await;
    // Far more than the socket buffer and the queue hold (about 600 KB).
    flood(&mut flooder, 3000).await;
    // Others are served meanwhile and after.
    let mut other = Raw::negotiated(&proxy.socket).await;
    let status = other.request(&json!({"execute": "query-status"})).await;
    assert!(status["return"]["status"].is_string(), "{status}");

    // The stalled client now reads: some events, then the notice.
    let mut events = 0usize;
    let dropped = loop {
        let line = stalled
            .line()
            .await
            .expect("the stalled client is still connected");
        let message: Value = serde_json::from_slice(&line).expect("JSON");
        match message["event"].as_str() {
            Some("QHMP_EVENTS_DROPPED") => break message["data"]["count"].as_u64(),
            Some(_) => events += 1,
            None => panic!("unexpected {message}"),
        }
    };
    let dropped = dropped.expect("a count") as usize;
    assert!(dropped > 0);
    assert!(events + dropped <= 6000, "{events} + {dropped}");
    assert!(events < 6000, "every event was kept: {events}");
    // And it is served as before.
    let reply = stalled.request(&json!({"execute": "query-status"})).await;
    assert!(reply.get("return").is_some(), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_not_read() {
    let Some(qemu) = qemu() else {
        return;
    };
    let proxy = InProcessProxy::start(&qemu, |o| o.limits.queue_bytes = 64 * 1024).await;
    let mut greedy = Raw::negotiated(&proxy.socket).await;
    // Large replies, never read while asking.
    let schema = json!({"execute": "query-qmp-schema"});
    let asked = 40;
    for _ in 0..asked {
        greedy.send(&schema).await;
    }
    let mut other = Raw::negotiated(&proxy.socket).await;
    for _ in 0..20 {
        let status = other.request(&json!({"execute": "query-status"})).await;
        assert!(status.get("return").is_some(), "{status}");
    }
    // Nothing was lost: every reply comes once the client reads.
    for _ in 0..asked {
        let reply = greedy.reply().await;
        assert!(reply["return"].is_array(), "a schema");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_clients_and_the_idle_timeout() {
    let Some(qemu) = qemu() else {
        return;
    };
    let proxy = InProcessProxy::start(&qemu, |o| {
        o.limits.max_clients = 2;
        o.limits.idle_timeout = Some(Duration::from_secs(1));
    })
    .await;
    let _a = Raw::negotiated(&proxy.socket).await;
    let (mut b, _) = Raw::greeted(&proxy.socket).await;
    let mut c = Raw::connect(&proxy.socket).await;
    let refusal: Value = serde_json::from_slice(&c.line().await.expect("a refusal")).expect("JSON");
    let desc = refusal["error"]["desc"].as_str().unwrap_or_default();
    assert!(
        desc.contains("too many clients (--max-clients 2)"),
        "{refusal}"
    );
    assert_eq!(c.line().await, None, "the extra client is hung up on");
    // Idle clients are hung up on after a second.
    assert_eq!(b.line().await, None);
}

/// Our own credentials, as the proxy sees them.
fn credentials() -> (u32, u32, u32) {
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    (std::process::id(), uid, gid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_lines_and_peer_credentials() {
    let Some(qemu) = qemu() else {
        return;
    };
    let (pid, uid, gid) = credentials();
    let log = qemu.path("audit.log");
    let audit = log.display().to_string();
    {
        let proxy = InProcessProxy::start(&qemu, |o| {
            o.access.allow_uid = vec![uid.wrapping_add(1)];
            o.audit = Some(audit.clone());
        })
        .await;
        let mut turned_away = Raw::connect(&proxy.socket).await;
        let line = turned_away.line().await.expect("a refusal");
        let refusal: Value = serde_json::from_slice(&line).expect("JSON");
        assert!(
            refusal["error"]["desc"]
                .as_str()
                .is_some_and(|d| d.contains("--allow-uid")),
            "{refusal}"
        );
        assert_eq!(turned_away.line().await, None);
        drop(proxy);
        let _ = std::fs::remove_file(qemu.path("proxy.sock"));
    }
    for access in [(vec![uid], vec![]), (vec![], vec![gid])] {
        let proxy = InProcessProxy::start(&qemu, |o| {
            (o.access.allow_uid, o.access.allow_gid) = access.clone();
            o.policy = Policy {
                read_only: true,
                ..Policy::default()
            };
            o.audit = Some(audit.clone());
        })
        .await;
        let mut raw = Raw::negotiated(&proxy.socket).await;
        let status = raw.request(&json!({"execute": "query-status"})).await;
        assert!(status.get("return").is_some(), "{status}");
        let stop = raw.request(&json!({"execute": "stop"})).await;
        assert!(stop.get("error").is_some(), "{stop}");
        for line in ["memsave 0 1 x\u{1b}[2J", "stop\n"] {
            let line = json!({"execute": "human-monitor-command",
                "arguments": {"command-line": line}});
            let refused = raw.request(&line).await;
            assert!(refused.get("error").is_some(), "{refused}");
        }
        drop(raw);
        // The disconnect is logged once the proxy has seen it.
        let deadline = std::time::Instant::now() + PATIENCE;
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("disconnect")
        {
            assert!(std::time::Instant::now() < deadline, "no disconnect logged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(proxy);
        let _ = std::fs::remove_file(qemu.path("proxy.sock"));
    }
    let text = std::fs::read_to_string(&log).expect("the audit log");
    let who = format!("pid={pid} uid={uid} gid={gid}");
    let expect = [
        "start upstream=unix:".to_string(),
        format!("refused client=1 {who}: its user and group are not in --allow-uid/--allow-gid"),
        format!("connect client=1 {who}"),
        format!("client=1 {who} request=\"qmp_capabilities\" allowed"),
        format!("client=1 {who} request=\"query-status\" allowed"),
        format!(
            "client=1 {who} request=\"stop\" refused why=\"command 'stop' is refused by the \
             qhmp proxy policy (--read-only; class change)\""
        ),
        // Control characters from the client are escaped: one line each.
        format!(
            "client=1 {who} request=\"human-monitor-command: memsave 0 1 x\\u{{1b}}[2J\" \
             refused why=\"HMP command 'memsave' is refused"
        ),
        format!("client=1 {who} request=\"human-monitor-command: stop\\u{{a}}\" refused"),
        format!("disconnect client=1 {who} (closed)"),
    ];
    for wanted in &expect {
        assert!(text.contains(wanted.as_str()), "no {wanted:?} in:\n{text}");
    }
    for line in text.lines() {
        assert!(
            line.len() > 24 && line.as_bytes()[4] == b'-' && line.as_bytes()[23] == b'Z',
            "every line starts with its UTC time: {line:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_clients_must_send_the_token_first() {
    let Some(qemu) = qemu() else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut options = ProxyOptions::new(
        qemu.target(),
        Listen::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
    );
    options.access.token = Some("0123456789abcdef-token".into());
    let proxy = tokio::spawn(qhmp::proxy::run(options));
    let first_line = async |send: &[u8]| -> Option<String> {
        let deadline = std::time::Instant::now() + PATIENCE;
        let stream = loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Ok(stream) => break stream,
                Err(e) if std::time::Instant::now() > deadline => panic!("connect: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let (r, mut w) = stream.into_split();
        w.write_all(send).await.expect("send");
        let mut line = String::new();
        let mut reader = BufReader::new(r);
        let n = tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
            .await
            .expect("an answer")
            .ok()?;
        (n > 0).then_some(line)
    };
    let wrong = first_line(b"not-the-token\n").await.expect("a refusal");
    assert!(
        wrong.contains("wrong token") && !wrong.contains("QMP"),
        "{wrong}"
    );
    let qmp_first = first_line(b"{\"execute\": \"qmp_capabilities\"}\n")
        .await
        .expect("a refusal");
    assert!(qmp_first.contains("wrong token"), "{qmp_first}");
    let right = first_line(b"0123456789abcdef-token\n")
        .await
        .expect("a greeting");
    assert!(right.starts_with("{\"QMP\""), "{right}");
    proxy.abort();
}
