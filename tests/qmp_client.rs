//! The QMP client against a scripted in-process server (and, at the end,
//! against real QEMU 7.2 and 10.0).

use qhmp::qmp::{Client, ClientConfig, ClientError, DecodeError, QmpErrorReply, Target};
use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream, ReadHalf,
    WriteHalf,
};

/// The QEMU side of a connection, driven step by step by a test.
struct Server<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
}

impl<S: AsyncRead + AsyncWrite> Server<S> {
    fn new(stream: S) -> Self {
        let (r, w) = tokio::io::split(stream);
        Server {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    async fn send(&mut self, message: Value) {
        self.send_raw(format!("{message}\r\n").as_bytes()).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("server write");
    }

    /// The next request, or None at EOF.
    async fn recv(&mut self) -> Option<Map<String, Value>> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).await.expect("server read");
        if n == 0 {
            return None;
        }
        match serde_json::from_str(&line) {
            Ok(Value::Object(m)) => Some(m),
            other => panic!("client sent {line:?}: {other:?}"),
        }
    }

    async fn expect(&mut self) -> Map<String, Value> {
        self.recv().await.expect("a request, not EOF")
    }

    /// Answers `request` with `{"return": value}` under its id.
    async fn reply(&mut self, request: &Map<String, Value>, value: Value) {
        self.send(json!({"return": value, "id": request["id"]}))
            .await;
    }

    /// Greets (offering oob or not) and accepts `qmp_capabilities`,
    /// returning the negotiation request.
    async fn handshake(&mut self, oob: bool) -> Map<String, Value> {
        self.send(greeting(oob)).await;
        let request = self.expect().await;
        assert_eq!(request["execute"], "qmp_capabilities");
        self.reply(&request, json!({})).await;
        request
    }
}

fn greeting(oob: bool) -> Value {
    let caps = if oob { json!(["oob"]) } else { json!([]) };
    json!({"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10},
        "package": "Debian 1:10.0.2"}, "capabilities": caps}})
}

fn quick_config() -> ClientConfig {
    ClientConfig {
        greeting_timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

/// A connected client and the server side, after a successful handshake.
async fn pair_with(oob: bool, config: ClientConfig) -> (Client, Server<DuplexStream>) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut server = Server::new(b);
    let (client, _) = tokio::join!(Client::from_stream(a, config), server.handshake(oob));
    (client.expect("handshake"), server)
}

async fn pair() -> (Client, Server<DuplexStream>) {
    pair_with(true, quick_config()).await
}

/// Runs `fut` but fails the test instead of hanging.
async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("test step hung")
}

#[tokio::test]
async fn negotiates_oob_and_exposes_greeting() {
    let (a, b) = tokio::io::duplex(4096);
    let mut server = Server::new(b);
    let (client, negotiation) = tokio::join!(
        Client::from_stream(a, quick_config()),
        server.handshake(true)
    );
    let client = client.unwrap();
    assert_eq!(negotiation["arguments"], json!({"enable": ["oob"]}));
    assert!(client.oob_enabled());
    let g = client.greeting();
    assert_eq!(
        (g.version.major, g.version.minor, g.version.micro),
        (10, 0, 2)
    );
    assert_eq!(g.version.package, "Debian 1:10.0.2");
    assert_eq!(g.capabilities, vec!["oob".to_string()]);

    let pending = tokio::spawn({
        let c = client.clone();
        async move { c.execute_oob("migrate-pause", None).await }
    });
    let request = server.expect().await;
    assert_eq!(request["exec-oob"], "migrate-pause");
    assert!(request["id"].is_u64());
    server.reply(&request, json!({})).await;
    assert_eq!(within(pending).await.unwrap().unwrap(), Ok(json!({})));
}

#[tokio::test]
async fn negotiates_without_oob_when_not_offered_or_disabled() {
    let (client, _server) = pair_with(false, quick_config()).await;
    assert!(!client.oob_enabled());
    assert!(matches!(
        client.execute_oob("migrate-pause", None).await,
        Err(ClientError::OobUnavailable)
    ));

    let (a, b) = tokio::io::duplex(4096);
    let mut server = Server::new(b);
    let config = ClientConfig {
        enable_oob: false,
        ..quick_config()
    };
    let (client, negotiation) =
        tokio::join!(Client::from_stream(a, config), server.handshake(true));
    assert!(!client.unwrap().oob_enabled());
    assert!(!negotiation.contains_key("arguments"), "{negotiation:?}");
}

#[tokio::test]
async fn refused_negotiation_is_an_error() {
    let (a, b) = tokio::io::duplex(4096);
    let mut server = Server::new(b);
    let script = async {
        server.send(greeting(false)).await;
        let r = server.expect().await;
        server
            .send(json!({"id": r["id"], "error": {"class": "GenericError", "desc": "nope"}}))
            .await;
    };
    let (client, _) = tokio::join!(Client::from_stream(a, quick_config()), script);
    let err = client.unwrap_err();
    assert!(matches!(err, ClientError::Negotiation(_)), "{err:?}");
    assert!(err.to_string().contains("GenericError: nope"), "{err}");
}

#[tokio::test]
async fn events_interleave_with_replies() {
    let (client, mut server) = pair().await;
    let mut events = client.events();
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("query-status", None).await }
    });
    let r = server.expect().await;
    server
        .send(json!({"timestamp": {"seconds": 10, "microseconds": 20}, "event": "STOP"}))
        .await;
    server.reply(&r, json!({"running": false})).await;
    server
        .send(json!({"event": "RESUME", "data": {"x": 1}, "timestamp": {"seconds": 11, "microseconds": 0}}))
        .await;
    assert_eq!(
        within(call).await.unwrap().unwrap(),
        Ok(json!({"running": false}))
    );
    let stop = within(events.recv()).await.unwrap();
    assert_eq!(
        (stop.name.as_str(), stop.timestamp),
        ("STOP", Some((10, 20)))
    );
    assert_eq!(stop.data, Value::Null);
    let resume = within(events.recv()).await.unwrap();
    assert_eq!(resume.name, "RESUME");
    assert_eq!(resume.data, json!({"x": 1}));
    assert_eq!(resume.raw["timestamp"]["seconds"], 11);
}

#[tokio::test]
async fn events_before_subscribing_are_kept_for_the_first_stream() {
    let (client, mut server) = pair().await;
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("stop", None).await }
    });
    let r = server.expect().await;
    server.send(json!({"event": "STOP"})).await;
    server.reply(&r, json!({})).await;
    within(call).await.unwrap().unwrap().unwrap();
    let mut first = client.events();
    assert_eq!(within(first.recv()).await.unwrap().name, "STOP");
    let mut second = client.events();
    server.send(json!({"event": "RESUME"})).await;
    assert_eq!(within(first.recv()).await.unwrap().name, "RESUME");
    assert_eq!(within(second.recv()).await.unwrap().name, "RESUME");
}

#[tokio::test]
async fn backlog_keeps_only_the_newest_events_while_nobody_listens() {
    let config = ClientConfig {
        event_backlog: 2,
        ..quick_config()
    };
    let (client, mut server) = pair_with(true, config).await;
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("x", None).await }
    });
    let r = server.expect().await;
    for name in ["A", "B", "C"] {
        server.send(json!({"event": name})).await;
    }
    server.reply(&r, json!({})).await;
    within(call).await.unwrap().unwrap().unwrap();
    let mut events = client.events();
    assert_eq!(within(events.recv()).await.unwrap().name, "B");
    assert_eq!(within(events.recv()).await.unwrap().name, "C");
    assert_eq!(client.events_dropped(), 1);
}

/// Events held while nobody listens are bounded by bytes too: a server
/// sending huge events cannot grow the client without limit.
#[tokio::test]
async fn backlog_is_bounded_by_bytes() {
    let config = ClientConfig {
        event_backlog_bytes: 600 * 1024,
        ..quick_config()
    };
    let (client, mut server) = pair_with(true, config).await;
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("x", None).await }
    });
    let r = server.expect().await;
    let big = "e".repeat(256 * 1024);
    for n in 0..10 {
        server
            .send(json!({"event": "BIG", "data": {"n": n, "s": big}}))
            .await;
    }
    server.reply(&r, json!({})).await;
    within(call).await.unwrap().unwrap().unwrap();
    assert_eq!(client.events_dropped(), 8);
    let mut events = client.events();
    assert_eq!(within(events.recv()).await.unwrap().data["n"], 8);
    assert_eq!(within(events.recv()).await.unwrap().data["n"], 9);
}

#[tokio::test]
async fn concurrent_requests_get_their_own_out_of_order_replies() {
    let (client, mut server) = pair().await;
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.execute(&format!("cmd-{i}"), Some(json!({"n": i}))).await })
        })
        .collect();
    let mut requests = Vec::new();
    for _ in 0..50 {
        requests.push(within(server.expect()).await);
    }
    let mut ids: Vec<_> = requests.iter().map(|r| r["id"].clone()).collect();
    ids.sort_by_key(|v| v.as_u64());
    ids.dedup();
    assert_eq!(ids.len(), 50, "ids must be unique");
    // Answer in reverse arrival order, echoing each request's argument.
    for r in requests.iter().rev() {
        server.reply(r, json!({"echo": r["arguments"]["n"]})).await;
    }
    for (i, call) in calls.into_iter().enumerate() {
        let reply = within(call).await.unwrap().unwrap();
        assert_eq!(reply, Ok(json!({"echo": i})));
    }
}

#[tokio::test]
async fn error_replies_come_back_as_qmp_errors() {
    let (client, mut server) = pair().await;
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("nope", None).await }
    });
    let r = server.expect().await;
    server
        .send(json!({"id": r["id"], "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}))
        .await;
    assert_eq!(
        within(call).await.unwrap().unwrap(),
        Err(QmpErrorReply {
            class: "CommandNotFound".into(),
            desc: "The command nope has not been found".into()
        })
    );
}

#[tokio::test]
async fn request_raw_substitutes_and_strips_the_id() {
    let (client, mut server) = pair().await;
    let call = tokio::spawn({
        let c = client.clone();
        let mut req = Map::new();
        req.insert("execute".into(), json!("query-name"));
        req.insert("id".into(), json!("theirs"));
        async move { c.request_raw(req).await }
    });
    let r = server.expect().await;
    assert_ne!(r["id"], json!("theirs"));
    assert_eq!(r["execute"], "query-name");
    server
        .send(json!({"return": {"name": "vm"}, "id": r["id"]}))
        .await;
    assert_eq!(
        within(call).await.unwrap().unwrap(),
        json!({"return": {"name": "vm"}})
    );
}

#[tokio::test]
async fn reply_without_id_reaches_the_only_waiting_request() {
    let (client, mut server) = pair().await;
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("x", None).await }
    });
    server.expect().await;
    server
        .send(
            json!({"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}),
        )
        .await;
    let reply = within(call).await.unwrap().unwrap();
    assert_eq!(reply.unwrap_err().class, "GenericError");
}

/// Starts `n` requests and waits until the server has read them all.
async fn start_requests(
    client: &Client,
    server: &mut Server<DuplexStream>,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Result<qhmp::qmp::Reply, ClientError>>> {
    let calls = (0..n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.execute("query-status", None).await })
        })
        .collect();
    for _ in 0..n {
        within(server.expect()).await;
    }
    calls
}

#[tokio::test]
async fn eof_mid_reply_fails_every_waiting_request_and_later_calls() {
    let (client, mut server) = pair().await;
    let mut events = client.events();
    let calls = start_requests(&client, &mut server, 3).await;
    server.send_raw(b"{\"return\": {\"status\": \"runn").await;
    drop(server);
    for call in calls {
        match within(call).await.unwrap() {
            Err(ClientError::Eof { partial: Some(p) }) => assert!(p.contains("status"), "{p}"),
            other => panic!("expected EOF, got {other:?}"),
        }
    }
    let later = within(client.execute("query-status", None))
        .await
        .unwrap_err();
    assert!(matches!(later, ClientError::Eof { .. }), "{later:?}");
    assert!(later
        .to_string()
        .starts_with("QEMU closed the QMP connection in the middle of a message"));
    assert!(within(events.recv()).await.is_none(), "event stream ends");
}

#[tokio::test]
async fn garbage_is_a_fatal_decode_error_with_an_excerpt() {
    let (client, mut server) = pair().await;
    let calls = start_requests(&client, &mut server, 2).await;
    server.send_raw(b"Segmentation fault\r\n").await;
    for call in calls {
        let err = within(call).await.unwrap().unwrap_err();
        assert!(
            matches!(&err, ClientError::Decode(DecodeError::NotAnObject { excerpt }) if excerpt == "\"Segmentation fault\""),
            "{err:?}"
        );
    }
    // The stream is out of step now: later calls fail at once, same error.
    let later = within(client.execute("query-status", None))
        .await
        .unwrap_err();
    assert!(matches!(
        later,
        ClientError::Decode(DecodeError::NotAnObject { .. })
    ));
}

#[tokio::test]
async fn invalid_json_names_what_was_received() {
    let (client, mut server) = pair().await;
    let calls = start_requests(&client, &mut server, 1).await;
    server.send_raw(b"{\"return\": nope}\r\n").await;
    let err = within(calls.into_iter().next().unwrap())
        .await
        .unwrap()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("invalid JSON"), "{text}");
    assert!(text.contains("nope"), "{text}");
}

#[tokio::test]
async fn oversized_line_fails_once_the_cap_is_passed() {
    let (client, mut server) = pair().await;
    let calls = start_requests(&client, &mut server, 1).await;
    // 20 MiB of one string that never ends: without the cap the client
    // would buffer forever, waiting for its end.
    let writer = tokio::spawn(async move {
        server.send_raw(b"{\"return\": \"").await;
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..20 {
            if server.writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
        server
    });
    let err = within(calls.into_iter().next().unwrap())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Decode(DecodeError::TooLong { max_line, .. }) if max_line == 16 * 1024 * 1024),
        "{err:?}"
    );
    writer.abort();
}

#[tokio::test]
async fn missing_greeting_times_out_with_an_explanation() {
    let (a, _b) = tokio::io::duplex(4096);
    let config = ClientConfig {
        greeting_timeout: Duration::from_millis(200),
        ..ClientConfig::default()
    };
    let err = within(Client::from_stream(a, config)).await.unwrap_err();
    assert!(matches!(err, ClientError::NoGreeting { .. }), "{err:?}");
    assert!(
        err.to_string().contains("another QMP client holds it"),
        "{err}"
    );
}

#[tokio::test]
async fn no_event_is_lost_while_a_command_waits() {
    let (client, mut server) = pair().await;
    let mut events = client.events();
    let call = tokio::spawn({
        let c = client.clone();
        async move { c.execute("slow", None).await }
    });
    let r = server.expect().await;
    let mut burst = String::new();
    for i in 0..10_000 {
        burst.push_str(&format!(
            "{{\"timestamp\": {{\"seconds\": {i}, \"microseconds\": 0}}, \"event\": \"TICK\", \"data\": {{\"n\": {i}}}}}\r\n"
        ));
    }
    server.send_raw(burst.as_bytes()).await;
    server.reply(&r, json!("done")).await;
    assert_eq!(within(call).await.unwrap().unwrap(), Ok(json!("done")));
    for i in 0..10_000 {
        let event = within(events.recv()).await.expect("event");
        assert_eq!(event.data["n"], i, "events arrive complete and in order");
    }
    assert!(events.try_recv().is_err());
}

#[tokio::test]
async fn request_timeout_leaves_the_connection_usable() {
    let (client, mut server) = pair().await;
    let err = {
        let slow = client.execute_with_timeout("slow", None, Duration::from_millis(100));
        let (result, request) = tokio::join!(slow, server.expect());
        (result.unwrap_err(), request)
    };
    let (err, late) = err;
    assert!(
        matches!(&err, ClientError::Timeout { command, .. } if command == "slow"),
        "{err:?}"
    );
    assert!(!err.is_fatal());
    // The late reply to the abandoned request is dropped, not misrouted.
    let next = tokio::spawn({
        let c = client.clone();
        async move { c.execute("fast", None).await }
    });
    let r = server.expect().await;
    server.reply(&late, json!("late")).await;
    server.reply(&r, json!("fast")).await;
    assert_eq!(within(next).await.unwrap().unwrap(), Ok(json!("fast")));

    // The configured default applies to plain execute() too.
    let config = ClientConfig {
        request_timeout: Some(Duration::from_millis(50)),
        ..quick_config()
    };
    let (client, _server) = pair_with(true, config).await;
    let err = within(client.execute("x", None)).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn close_fails_waiting_requests_and_drop_closes_the_socket() {
    let (client, mut server) = pair().await;
    let mut events = client.events();
    let calls = start_requests(&client, &mut server, 2).await;
    client.close().await;
    for call in calls {
        let err = within(call).await.unwrap().unwrap_err();
        assert!(matches!(err, ClientError::Closed), "{err:?}");
    }
    assert!(matches!(
        client.execute("x", None).await,
        Err(ClientError::Closed)
    ));
    assert!(within(events.recv()).await.is_none());
    assert!(within(server.recv()).await.is_none(), "socket closed");

    let (client, mut server) = pair().await;
    let copy = client.clone();
    drop(client);
    drop(copy);
    assert!(
        within(server.recv()).await.is_none(),
        "drop closes the socket"
    );
}

#[tokio::test]
async fn a_turn_holds_back_other_turns_but_not_plain_requests() {
    let (client, mut server) = pair().await;
    let first = client.take_turn().await;
    let other = client.clone();
    let second_run = tokio::spawn(async move {
        let _turn = other.take_turn().await;
        other.execute("second-run", None).await
    });
    let plain = client.clone();
    let plain = tokio::spawn(async move { plain.execute("plain", None).await });
    let request = within(server.expect()).await;
    assert_eq!(request["execute"], "plain", "a plain request goes ahead");
    server.reply(&request, json!({})).await;
    assert_eq!(within(plain).await.unwrap().unwrap(), Ok(json!({})));
    let early = tokio::time::timeout(Duration::from_millis(200), server.recv()).await;
    assert!(
        early.is_err(),
        "the second run started during the first: {early:?}"
    );

    drop(first);
    let request = within(server.expect()).await;
    assert_eq!(request["execute"], "second-run");
    server.reply(&request, json!(1)).await;
    assert_eq!(within(second_run).await.unwrap().unwrap(), Ok(json!(1)));
}

#[tokio::test]
async fn connects_over_unix_and_tcp_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qmp.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let serve_unix = async {
        let (stream, _) = listener.accept().await.unwrap();
        let mut server = Server::new(stream);
        server.handshake(false).await;
        let r = server.expect().await;
        server.reply(&r, json!("unix")).await;
        server
    };
    let target: Target = path.to_str().unwrap().parse().unwrap();
    let (client, _server) = tokio::join!(
        async {
            let c = Client::connect(&target, quick_config()).await.unwrap();
            c.execute("which", None).await.unwrap()
        },
        serve_unix
    );
    assert_eq!(client, Ok(json!("unix")));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let serve_tcp = async {
        let (stream, _) = listener.accept().await.unwrap();
        let mut server = Server::new(stream);
        server.handshake(true).await;
        server
    };
    let target: Target = format!("tcp:127.0.0.1:{port}").parse().unwrap();
    let (client, _server) = tokio::join!(Client::connect(&target, quick_config()), serve_tcp);
    assert!(client.unwrap().oob_enabled());
}

#[tokio::test]
async fn connect_failures_name_the_target_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Target::Unix(dir.path().join("absent.qmp"));
    let err = Client::connect(&missing, quick_config()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&missing.to_string()), "{text}");
    assert!(text.contains("no such socket"), "{text}");

    // A socket file nobody listens on any more (QEMU gone, file left behind).
    let stale = dir.path().join("stale.qmp");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let err = Client::connect(&Target::Unix(stale), quick_config())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nothing is listening"), "{err}");

    let denied = ClientError::connect(
        &missing,
        std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    );
    assert!(denied
        .to_string()
        .contains("permission denied: run as a user"));
}

/// Tests against real QEMU, kept apart for length.
#[path = "qmp_client/live.rs"]
mod live;
