//! Fault injection on `qhmp proxy` (the built binary) with a scripted fake
//! QEMU upstream: a burst of 10 000 events during one command must reach
//! every client complete and in order, with each reply going to the client
//! that asked; when the upstream breaks (garbage, a 20 MiB line, half an
//! object then EOF, a hang-up) every client is told, and the proxy serves
//! them again once the upstream is back — or exits, with
//! `--exit-on-upstream-loss`. A misbehaving client does not disturb the others.

mod fault_support;

use fault_support::fake::{self, Action, FakeQemu, Plan};
use fault_support::peer::Peer;
use fault_support::process::{Proxy, Running};
use fault_support::wait_until;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Fields drop in order: the proxy goes first, the directory last.
struct Rig {
    proxy: Proxy,
    fake: FakeQemu,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn new(script: Vec<Plan>, extra: &[&str]) -> Rig {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let fake = FakeQemu::start(&dir.path().join("qemu.sock"), script);
        let proxy = Proxy::start(
            &fake.target(),
            &dir.path().join("proxy.sock"),
            extra,
            dir.path(),
        );
        Rig {
            proxy,
            fake,
            _dir: dir,
        }
    }

    fn peer(&self, name: &str) -> Peer {
        Peer::negotiated(name, &self.proxy.listen)
    }
}

fn seqs(peer: &Peer) -> Vec<u64> {
    peer.events()
        .iter()
        .map(|e| {
            assert_eq!(e["event"], fake::SEQ_EVENT, "{e}");
            e["data"]["seq"].as_u64().expect("a sequence number")
        })
        .collect()
}

/// Reads until `peer` has `events` events and a reply to each of `ids`.
fn read_all(peer: &mut Peer, events: usize, ids: &[Value]) {
    let mut seen_events = peer.events().len();
    let mut missing: Vec<&Value> = ids.iter().collect();
    while seen_events < events || !missing.is_empty() {
        let message = peer.next();
        if message.get("event").is_some() {
            seen_events += 1;
        }
        missing.retain(|id| message.get("id") != Some(*id));
    }
}

#[test]
fn ten_thousand_events_reach_every_client_in_order_and_replies_their_askers() {
    let rig = Rig::new(vec![Plan::on("x-flood", Action::Events(10_000))], &[]);
    let mut a = rig.peer("a");
    let mut b = rig.peer("b");
    let mut c = rig.peer("c");
    // A client that never reads must not hold up the others.
    let _idle = rig.peer("idle");

    a.send(&json!({"execute": "x-flood", "arguments": {"from": "a"}, "id": "a-1"}));
    b.send(&json!({"execute": "x-echo", "arguments": {"from": "b"}, "id": "b-1"}));
    c.send(&json!({"execute": "human-monitor-command",
        "arguments": {"command-line": "info status"}, "id": "c-1"}));
    read_all(&mut a, 10_000, &[json!("a-1")]);
    read_all(&mut b, 10_000, &[json!("b-1")]);
    read_all(&mut c, 10_000, &[json!("c-1")]);

    let expected: Vec<u64> = (0..10_000).collect();
    for peer in [&a, &b, &c] {
        assert_eq!(seqs(peer), expected, "every event, once, in order");
    }
    assert_eq!(
        a.non_events(),
        [&json!({"return": {"command": "x-flood", "arguments": {"from": "a"}}, "id": "a-1"})]
    );
    assert_eq!(
        b.non_events(),
        [&json!({"return": {"command": "x-echo", "arguments": {"from": "b"}}, "id": "b-1"})]
    );
    assert_eq!(
        c.non_events(),
        [&json!({"return": "VM status: running\r\n", "id": "c-1"})]
    );
}

#[test]
fn events_sent_before_a_reply_reach_its_asker_before_the_reply() {
    // QEMU writes the events a command causes before its reply, on one
    // stream; a client waiting for the reply may count on having seen them.
    let rig = Rig::new(vec![Plan::on("x-flood", Action::Events(10_000))], &[]);
    let mut a = rig.peer("a");
    let reply = a.call(json!({"execute": "x-flood", "id": "a-1"}));
    assert!(reply.get("return").is_some(), "{reply}");
    assert_eq!(
        a.events().len(),
        10_000,
        "events that QEMU sent before the reply came after it"
    );
}

/// The upstream breaks while client `a` waits for a reply: `a` gets an
/// error for its request, every client hears of the loss, and once the
/// fake serves again (its next connection) the proxy answers everyone.
fn upstream_break_is_survived(action: Action, says: &str) {
    let mut rig = Rig::new(vec![Plan::on("x-break", action)], &[]);
    let mut a = rig.peer("a");
    let mut b = rig.peer("b");

    let reply = a.call(json!({"execute": "x-break", "id": "a-1"}));
    let desc = reply["error"]["desc"].as_str().unwrap_or_default();
    assert!(
        desc.starts_with("qhmp proxy: upstream QEMU: ") && desc.contains(says),
        "{reply}"
    );
    for peer in [&mut a, &mut b] {
        let notice = peer.find(|m| m.get("error").is_some() && m.get("id").is_none());
        let desc = notice["error"]["desc"].as_str().unwrap_or_default();
        assert!(
            desc.starts_with("qhmp proxy lost its upstream QEMU: ") && desc.contains(says),
            "{notice}"
        );
    }
    rig.proxy.assert_running("after the upstream broke");

    for peer in [&mut a, &mut b] {
        assert_served_again(peer);
    }
    assert_served_again(&mut rig.peer("late"));
    assert!(rig.fake.connections() >= 2, "the proxy connected again");
    rig.proxy.assert_running("at the end");
}

/// Asks `query-status` until the proxy has an upstream again (bounded).
fn assert_served_again(peer: &mut Peer) {
    let mut n = 0;
    wait_until("the proxy serving again", || {
        n += 1;
        let reply = peer.call(json!({"execute": "query-status", "id": n}));
        // Not yet: no upstream, or the request went to an upstream that
        // was lost before answering (a misbehaving one greets, then breaks).
        if reply["error"]["desc"].as_str().is_some_and(|d| {
            d.contains("not connected") || d.starts_with("qhmp proxy: upstream QEMU:")
        }) {
            return None;
        }
        assert_eq!(
            reply,
            json!({"return": {"status": "running", "running": true}, "id": n})
        );
        Some(())
    });
}

#[test]
fn upstream_garbage_is_survived() {
    upstream_break_is_survived(Action::Garbage, fake::GARBAGE);
}

/// A reply over the 16 MiB cap fails only its request: the shared upstream
/// connection stays, and every client goes on being served on it.
#[test]
fn upstream_20_mib_reply_fails_only_its_request() {
    let mut rig = Rig::new(vec![Plan::on("x-break", Action::HugeLine)], &[]);
    let mut a = rig.peer("a");
    let mut b = rig.peer("b");
    let reply = a.call(json!({"execute": "x-break", "id": "a-1"}));
    let desc = reply["error"]["desc"].as_str().unwrap_or_default();
    assert!(
        desc.starts_with("qhmp proxy: upstream QEMU: ")
            && desc.contains("message longer than 16777216 bytes"),
        "{reply}"
    );
    for (n, peer) in [&mut a, &mut b].into_iter().enumerate() {
        let reply = peer.call(json!({"execute": "query-status", "id": n}));
        assert!(reply.get("return").is_some(), "{reply}");
    }
    assert_eq!(
        rig.fake.connections(),
        1,
        "the upstream connection was kept"
    );
    rig.proxy.assert_running("at the end");
}

#[test]
fn upstream_half_object_then_eof_is_survived() {
    upstream_break_is_survived(
        Action::HalfObjectThenEof,
        "QEMU closed the QMP connection in the middle of a message",
    );
}

#[test]
fn reconnection_gets_past_upstreams_that_misbehave_on_the_way() {
    // Lost, then a "QEMU" that sends garbage after its greeting, then one
    // that never greets, then a good one.
    let script = vec![
        Plan::on("x-break", Action::Close),
        Plan::garbage_after_greeting(),
        Plan::silent(),
    ];
    let mut rig = Rig::new(script, &[]);
    let mut a = rig.peer("a");
    let reply = a.call(json!({"execute": "x-break", "id": "a-1"}));
    assert!(reply.get("error").is_some(), "{reply}");
    assert_served_again(&mut a);
    assert!(rig.fake.connections() >= 4, "{}", rig.fake.connections());
    rig.proxy.assert_running("at the end");
}

#[test]
fn exit_on_upstream_loss_tells_the_clients_and_exits_3() {
    let rig = Rig::new(
        vec![Plan::on("x-break", Action::HalfObjectThenEof)],
        &["--exit-on-upstream-loss"],
    );
    let mut a = rig.peer("a");
    let mut b = rig.peer("b");
    a.send(&json!({"execute": "x-break", "id": "a-1"}));
    let Rig { proxy, fake, .. } = rig;
    let outcome = proxy.running.wait("the proxy after losing its upstream");
    assert_eq!(outcome.code, Some(3), "stderr:\n{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("qhmp proxy: upstream QEMU: QEMU closed the QMP connection"),
        "{}",
        outcome.stderr
    );
    assert_eq!(fake.connections(), 1, "no reconnection attempt");
    // Every client is told before the proxy goes (then the stream ends):
    // `a` by the error reply to its request, idle `b` by the loss notice.
    for peer in [&mut a, &mut b] {
        while peer.try_next().is_some() {}
    }
    let a_reply = a.non_events().into_iter().find(|m| m["id"] == "a-1");
    assert!(
        a_reply.is_some_and(|m| m.get("error").is_some()),
        "{:?}",
        a.received
    );
    let told = b.non_events().iter().any(|m| {
        m["error"]["desc"]
            .as_str()
            .is_some_and(|d| d.contains("lost its upstream QEMU"))
    });
    assert!(
        told,
        "idle client b was not told of the loss before the proxy exited; it received {:?}",
        b.received
    );
}

#[test]
fn an_upstream_that_never_greets_stops_the_proxy_with_status_3() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fake = FakeQemu::start(&dir.path().join("qemu.sock"), vec![Plan::silent()]);
    let listen = format!("unix:{}", dir.path().join("proxy.sock").display());
    let args = ["proxy", "--upstream", &fake.target(), "--listen", &listen];
    let outcome = Running::start(&args, None, dir.path()).wait("the proxy");
    assert_eq!(outcome.code, Some(3), "stderr:\n{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("no QMP greeting within 5s"),
        "{}",
        outcome.stderr
    );
}

/// A raw connection to the proxy, greeting read and (optionally) negotiated.
fn raw_client(socket: &Path, negotiate: bool) -> UnixStream {
    let peer = if negotiate {
        Peer::negotiated("raw", socket)
    } else {
        Peer::connect("raw", socket)
    };
    peer.into_stream()
}

#[test]
fn misbehaving_clients_do_not_disturb_the_others() {
    let mut rig = Rig::new(vec![], &[]);
    let mut good = rig.peer("good");
    let check = |good: &mut Peer, n: u64| {
        let reply = good.call(json!({"execute": "query-status", "id": n}));
        assert_eq!(reply["return"]["status"], "running", "{reply}");
    };
    check(&mut good, 1);

    let mut garbage = rig.peer("garbage");
    garbage.send(&json!("not an object"));
    garbage.send_raw(format!("{}\r\n", fake::GARBAGE).as_bytes());
    let error = garbage.until(|m| m.get("error").is_some());
    assert_eq!(error["error"]["class"], "GenericError", "{error}");
    check(&mut good, 2);

    // 20 MiB of one unfinished string, then a hang-up of its writing side.
    // The proxy reads client JSON with QEMU's own limits (QEMU accepts tokens
    // this long), so it may answer nothing; what matters is the others.
    let mut huge = raw_client(&rig.proxy.listen, false);
    let _ = huge.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let chunk = vec![b' '; 1 << 20];
    let _ = huge.write_all(b"{\"execute\": \"x\", \"arguments\": {\"a\": \"");
    for _ in 0..20 {
        if huge.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = huge.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    drop(huge);
    check(&mut good, 3);
    // Half an object and a hang-up.
    let mut half = raw_client(&rig.proxy.listen, true);
    let _ = half.write_all(b"{\"execute\": \"query-st");
    drop(half);
    // Connected, never negotiating, never reading.
    let _silent = raw_client(&rig.proxy.listen, false);
    check(&mut good, 4);
    let mut late = rig.peer("late");
    check(&mut late, 5);
    rig.proxy.assert_running("after the bad clients");
    assert_eq!(rig.fake.connections(), 1, "the upstream was never lost");
}

#[test]
fn hmp_lines_work_at_once_after_the_upstream_is_back() {
    let rig = Rig::new(vec![Plan::on("x-break", Action::Close)], &[]);
    let mut a = rig.peer("a");
    let hmp = |id: &str| {
        json!({"execute": "human-monitor-command",
            "arguments": {"command-line": "info status"}, "id": id})
    };
    let before = a.call(hmp("a-1"));
    assert_eq!(before["return"], "VM status: running\r\n", "{before}");

    let mut b = rig.peer("b");
    let lost = b.call(json!({"execute": "x-break", "id": "b-1"}));
    assert!(lost.get("error").is_some(), "{lost}");
    assert_served_again(&mut b);

    // The upstream is back (b was just served): a's next line must not
    // fail on the translator it had on the lost connection.
    let after = a.call(hmp("a-2"));
    assert_eq!(
        after,
        json!({"return": "VM status: running\r\n", "id": "a-2"}),
        "the first HMP line after the reconnection"
    );
}
