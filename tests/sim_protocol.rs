//! The simulator's QMP protocol, byte for byte against what QEMU 10.0
//! sends (expected lines were captured from a live QEMU 10.0.2).

mod sim_common;

use qhmp::sim::{SimOptions, Simulator};
use serde_json::json;
use sim_common::{event_names, Raw};

fn sim() -> Simulator {
    Simulator::with_options(SimOptions::deterministic())
}

#[tokio::test]
async fn greeting_and_negotiation() {
    let mut c = Raw::new(sim().connect());
    assert_eq!(
        c.line().await.as_deref(),
        Some(
            r#"{"QMP": {"version": {"qemu": {"major": 10, "minor": 0, "micro": 2}, "package": " (qhmp simulated)"}, "capabilities": ["oob"]}}"#
        )
    );
    let expecting = r#""error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}"#;
    assert_eq!(
        c.reply_line(r#"{"execute":"query-status"}"#).await,
        format!("{{{expecting}}}")
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"foo","id":"a"}"#).await,
        format!(r#"{{"id": "a", {expecting}}}"#)
    );
    assert_eq!(
        c.reply_line(r#"{"exec-oob":"migrate-pause","id":1}"#).await,
        r#"{"id": 1, "error": {"class": "GenericError", "desc": "QMP input member 'exec-oob' is unexpected"}}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"qmp_capabilities","arguments":{"enable":["foo"]}}"#)
            .await,
        r#"{"error": {"class": "GenericError", "desc": "Parameter 'null' does not accept value 'foo'"}}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":1}"#)
            .await,
        r#"{"return": {}, "id": 1}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"qmp_capabilities"}"#).await,
        r#"{"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"foo","id":"a"}"#).await,
        r#"{"id": "a", "error": {"class": "CommandNotFound", "desc": "The command foo has not been found"}}"#
    );
}

#[tokio::test]
async fn envelope_and_argument_errors_word_for_word() {
    let mut c = Raw::new(sim().connect());
    c.negotiate().await;
    let generic = |d: &str| format!(r#"{{"error": {{"class": "GenericError", "desc": "{d}"}}}}"#);
    let cases: Vec<(&str, String)> = vec![
        (
            r#"{"execute":"query-status","arguments":{"x":1}}"#,
            generic("Parameter 'x' is unexpected"),
        ),
        (
            r#"{"execute":"eject","arguments":{"device":1}}"#,
            generic("Invalid parameter type for 'device', expected: string"),
        ),
        (
            r#"{"execute":"eject","arguments":{}}"#,
            generic("Need exactly one of 'device' and 'id'"),
        ),
        (
            r#"{"execute":"eject","arguments":{"device":"drive0"}}"#,
            generic("Device 'drive0' is not removable"),
        ),
        (
            r#"{"execute":"eject","arguments":{"device":"nosuch"}}"#,
            r#"{"error": {"class": "DeviceNotFound", "desc": "Device 'nosuch' not found"}}"#.into(),
        ),
        (
            r#"{"execute":"query-status","arguments":[1]}"#,
            generic("QMP input member 'arguments' must be an object"),
        ),
        (
            r#"{"execute":"query-status","foo":1}"#,
            generic("QMP input member 'foo' is unexpected"),
        ),
        (
            r#"{"execute":1}"#,
            generic("QMP input member 'execute' must be a string"),
        ),
        ("[1]", generic("QMP input must be a JSON object")),
        (
            r#"{"execute":"query-status","exec-oob":"query-status"}"#,
            generic("QMP input member 'exec-oob' is unexpected"),
        ),
        ("{]", generic("JSON parse error, expecting value")),
        (
            "nonsense",
            generic("JSON parse error, invalid keyword 'nonsense'"),
        ),
        (
            r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode"}]}}"#,
            generic("Parameter 'keys[0].data' is missing"),
        ),
        (
            r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"nosuchkey"}]}}"#,
            generic("Parameter 'data' does not accept value 'nosuchkey'"),
        ),
        (
            r#"{"execute":"block_resize","arguments":{"device":"drive0","size":1.5}}"#,
            generic("Invalid parameter type for 'size', expected: integer"),
        ),
        (
            r#"{"execute":"set_password","arguments":{"protocol":"spice","password":"x","display":"default"}}"#,
            generic("Parameter 'display' is unexpected"),
        ),
        (
            r#"{"execute":"set_password","arguments":{"protocol":"rdp","password":"x"}}"#,
            generic("Parameter 'protocol' does not accept value 'rdp'"),
        ),
    ];
    for (req, want) in cases {
        assert_eq!(c.reply_line(req).await, want, "request {req}");
    }
    assert_eq!(
        c.reply_line(r#"{"id":7}"#).await,
        r#"{"id": 7, "error": {"class": "GenericError", "desc": "QMP input lacks member 'execute'"}}"#
    );
}

#[tokio::test]
async fn ids_are_echoed_whatever_their_type() {
    let mut c = Raw::new(sim().connect());
    c.negotiate().await;
    assert_eq!(
        c.reply_line(r#"{"execute":"query-status","id":{"a":[1,2]}}"#)
            .await,
        r#"{"return": {"status": "prelaunch", "running": false}, "id": {"a": [1, 2]}}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"query-name","id":null}"#).await,
        r#"{"return": {"name": "sim-vm"}, "id": null}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"query-name","id":0.1}"#).await,
        r#"{"return": {"name": "sim-vm"}, "id": 0.10000000000000001}"#
    );
}

#[tokio::test]
async fn framing_needs_no_newlines_and_survives_garbage() {
    let mut c = Raw::new(sim().connect());
    c.negotiate().await;
    c.send(r#"{"execute":"query-status","id":2} {"execute":"query-name","id":3}"#)
        .await;
    assert_eq!(c.json().await["id"], 2);
    assert_eq!(c.json().await["id"], 3);
    c.send("{\"execute\": \n").await;
    c.quiet().await;
    c.send(" \"query-kvm\", \"id\":4}").await;
    assert_eq!(
        c.json().await,
        json!({"return": {"enabled": true, "present": true}, "id": 4})
    );
    c.send("}}} {\"execute\":\"query-uuid\",\"id\":5}\n").await;
    for _ in 0..3 {
        assert_eq!(c.json().await["error"]["class"], "GenericError");
    }
    assert_eq!(c.json().await["id"], 5);
}

#[tokio::test]
async fn events_come_before_the_reply_and_carry_timestamps() {
    let mut c = Raw::new(sim().connect());
    c.negotiate().await;
    assert_eq!(
        c.reply_line(r#"{"execute":"stop"}"#).await,
        r#"{"return": {}}"#
    );
    let (ev, r) = c.call(r#"{"execute":"cont"}"#).await;
    assert_eq!(r, json!({"return": {}}));
    assert_eq!(event_names(&ev), ["RESUME"]);
    let e = &ev[0];
    assert_eq!(
        e.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["timestamp".to_string(), "event".to_string()])
    );
    assert!(e["timestamp"]["seconds"]
        .as_u64()
        .is_some_and(|s| s > 1_600_000_000));
    assert!(e["timestamp"]["microseconds"]
        .as_u64()
        .is_some_and(|us| us < 1_000_000));
    let (ev, _) = c.call(r#"{"execute":"system_reset"}"#).await;
    assert_eq!(
        ev[0]["data"],
        json!({"guest": false, "reason": "host-qmp-system-reset"})
    );
    let (ev, _) = c.call(r#"{"execute":"stop"}"#).await;
    assert_eq!(event_names(&ev), ["STOP"]);
    assert_eq!(
        c.reply_line(r#"{"execute":"stop"}"#).await,
        r#"{"return": {}}"#
    );
    // Reset of a stopped VM goes back to prelaunch, as in QEMU.
    c.call(r#"{"execute":"system_reset"}"#).await;
    let (_, r) = c.call(r#"{"execute":"query-status"}"#).await;
    assert_eq!(r["return"]["status"], "prelaunch");
}

#[tokio::test]
async fn events_reach_every_negotiated_client_only() {
    let s = sim();
    let mut a = Raw::new(s.connect());
    let mut b = Raw::new(s.connect());
    let mut late = Raw::new(s.connect());
    a.negotiate().await;
    b.negotiate().await;
    late.json().await; // greeting only
    a.call(r#"{"execute":"cont"}"#).await;
    assert_eq!(b.json().await["event"], "RESUME");
    late.quiet().await;
    let (_, r) = late.call(r#"{"execute":"qmp_capabilities"}"#).await;
    assert_eq!(r, json!({"return": {}}));
    b.call(r#"{"execute":"stop"}"#).await;
    assert_eq!(a.json().await["event"], "STOP");
    assert_eq!(late.json().await["event"], "STOP");
    assert_eq!(
        s.state()
            .qmp_clients
            .iter()
            .filter(|c| c.negotiated)
            .count(),
        3
    );
}

#[tokio::test]
async fn out_of_band_execution() {
    let mut c = Raw::new(sim().connect());
    c.json().await;
    c.call(r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}"#)
        .await;
    let (_, r) = c.call(r#"{"exec-oob":"query-yank","id":"y"}"#).await;
    assert_eq!(
        r,
        json!({"return": [{"type": "chardev", "id": "compat_monitor0"}], "id": "y"})
    );
    assert_eq!(
        c.reply_line(r#"{"exec-oob":"query-status","id":3}"#).await,
        r#"{"id": 3, "error": {"class": "GenericError", "desc": "The command query-status does not support OOB"}}"#
    );
    assert_eq!(
        c.reply_line(r#"{"exec-oob":"migrate-pause","id":4}"#).await,
        r#"{"id": 4, "error": {"class": "GenericError", "desc": "migrate-pause is currently only supported during postcopy-active or postcopy-recover state"}}"#
    );
    assert_eq!(
        c.reply_line(r#"{"execute":"query-status","exec-oob":"query-status"}"#)
            .await,
        r#"{"error": {"class": "GenericError", "desc": "QMP input member 'execute' clashes with 'exec-oob'"}}"#
    );
    let (_, r) = c
        .call(r#"{"exec-oob":"yank","arguments":{"instances":[{"type":"migration"}]},"id":5}"#)
        .await;
    assert_eq!(
        r["error"],
        json!({"class": "DeviceNotFound", "desc": "Instance not found"})
    );
}

#[tokio::test]
async fn quit_sends_shutdown_then_reply_then_closes_everyone() {
    let s = sim();
    let mut a = Raw::new(s.connect());
    let mut b = Raw::new(s.connect());
    a.negotiate().await;
    b.negotiate().await;
    let (ev, r) = a.call(r#"{"execute":"quit"}"#).await;
    assert_eq!(r, json!({"return": {}}));
    assert_eq!(
        ev[0]["data"],
        json!({"guest": false, "reason": "host-qmp-quit"})
    );
    assert_eq!(a.line().await, None);
    assert_eq!(b.json().await["event"], "SHUTDOWN");
    assert_eq!(b.line().await, None);
    assert!(s.is_quit());
    let mut again = Raw::new(s.connect());
    assert_eq!(again.line().await, None, "a quit simulator accepts no one");
}

#[tokio::test]
async fn many_clients_on_a_unix_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("qmp.sock");
    let s = sim();
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let server = tokio::spawn({
        let s = s.clone();
        async move { s.serve(listener).await }
    });
    let mut clients = Vec::new();
    for _ in 0..5 {
        let stream = tokio::net::UnixStream::connect(&path)
            .await
            .expect("connect");
        let mut c = Raw::new(stream);
        c.negotiate().await;
        clients.push(c);
    }
    assert_eq!(s.state().qmp_clients.len(), 5);
    let (ev, _) = clients[2].call(r#"{"execute":"system_reset"}"#).await;
    assert_eq!(event_names(&ev), ["RESET"]);
    for (i, c) in clients.iter_mut().enumerate() {
        if i != 2 {
            assert_eq!(c.json().await["event"], "RESET", "client {i}");
        }
    }
    let peer = &s.state().qmp_clients[0].peer;
    assert!(
        peer.starts_with("unix:") && peer.ends_with("qmp.sock"),
        "{peer}"
    );
    clients[0].call(r#"{"execute":"quit"}"#).await;
    let served = tokio::time::timeout(sim_common::WAIT, server).await;
    assert!(matches!(served, Ok(Ok(Ok(())))), "serve returns after quit");
}

#[tokio::test]
async fn tcp_listener_and_listen_targets() {
    let s = sim();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn({
        let s = s.clone();
        async move { s.serve(listener).await }
    });
    let mut c = Raw::new(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    c.negotiate().await;
    let (_, r) = c.call(r#"{"execute":"query-version"}"#).await;
    assert_eq!(r["return"]["package"], " (qhmp simulated)");
    assert!("tcp:192.168.1.5:4444".parse::<qhmp::sim::Listen>().is_err());
}

#[tokio::test]
async fn serve_on_unix_cleans_up_its_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sim.sock");
    let listen: qhmp::sim::Listen = format!("unix:{}", path.display()).parse().expect("target");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let s = sim();
    let task = tokio::spawn({
        let s = s.clone();
        async move {
            qhmp::sim::serve_on(s, &listen, async {
                let _ = stop_rx.await;
            })
            .await
        }
    });
    let mut stream = None;
    for _ in 0..100 {
        if let Ok(st) = tokio::net::UnixStream::connect(&path).await {
            stream = Some(st);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut c = Raw::new(stream.expect("socket appears"));
    c.negotiate().await;
    let (_, r) = c.call(r#"{"execute":"query-chardev"}"#).await;
    let mon = format!("unix:{},server=on", path.display());
    assert_eq!(
        r["return"][0],
        json!({"label": "compat_monitor0", "filename": mon, "frontend-open": true})
    );
    let _ = stop_tx.send(());
    let done = tokio::time::timeout(sim_common::WAIT, task).await;
    assert!(matches!(done, Ok(Ok(Ok(())))));
    assert!(!path.exists(), "socket removed");
}

#[tokio::test]
async fn real_time_clock_drives_events_without_requests() {
    let s = Simulator::with_options(SimOptions {
        manual_clock: false,
        ambient_clients: false,
        ..SimOptions::default()
    });
    let mut c = Raw::new(s.connect());
    c.negotiate().await;
    c.call(r#"{"execute":"cont"}"#).await;
    let (ev, _) = c.call(r#"{"execute":"system_powerdown"}"#).await;
    assert_eq!(event_names(&ev), ["POWERDOWN"]);
    let started = std::time::Instant::now();
    let shutdown = c.json().await;
    assert_eq!(shutdown["event"], "SHUTDOWN");
    assert_eq!(c.json().await["event"], "STOP");
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1500),
        "guest took {took:?}"
    );
}
