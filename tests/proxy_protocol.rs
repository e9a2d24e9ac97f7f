//! The proxy speaks QMP exactly as QEMU does: for the same bytes, a client
//! gets the same bytes back through the proxy as from QEMU 7.2 and 10.0
//! themselves (greeting, negotiation, malformed JSON, bad envelopes,
//! unknown commands, ids of any shape, out-of-band requests).

mod proxy_support;

use proxy_support::{qemu_binary, InProcessProxy, Qemu, Raw};
use serde_json::Value;

/// Sent after each case; its reply ends the case.
const SENTINEL: &[u8] = b"{\"execute\": \"query-name\", \"id\": \"sentinel\"}\n";

/// Before negotiation.
const NEGOTIATION_MODE: &[&[u8]] = &[
    b"{\"execute\":\"query-status\"}\n",
    b"{\"execute\":\"query-status\",\"foo\":1,\"id\":1}\n",
    b"{\"exec-oob\":\"qmp_capabilities\",\"id\":2}\n",
    b"{\"execute\":\"nope\",\"id\":3}\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"},\"id\":4}\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[1]},\"id\":5}\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":null},\"id\":6}\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"x\":1,\"enable\":[\"foo\"]},\"id\":7}\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"x\":1},\"id\":9}\n",
    b"garbage\n",
    b"[1]\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"id\":{\"a\":[1,2]}}\n",
];

/// After negotiation (with `oob` enabled).
const COMMAND_MODE: &[&[u8]] = &[
    b"{\"execute\":\"qmp_capabilities\"}\n",
    b"{\"execute\":\"query-status\",\"id\":{\"x\":1}}\n",
    b"garbage\n",
    b"{\"execute\":1}\n",
    b"[1,2]\n",
    b"\"str\"\n",
    b"{}\n",
    b"{\"id\":5}\n",
    b"{\"execute\":\"nope\",\"id\":\"u\"}\n",
    b"{\"execute\":\"query-status\",\"foo\":1,\"id\":2}\n",
    b"{\"execute\":\"query-status\",\"arguments\":[1],\"id\":3}\n",
    b"{\"execute\":\"query-status\",\"exec-oob\":\"query-status\",\"id\":4}\n",
    b"{\"execute\":\"query-status\",\"arguments\":null,\"id\":21}\n",
    b"{\"execute\":\"query-status\",\"arguments\":{},\"id\":22}\n",
    b"{\"execute\":\"query-status\",\"arguments\":{\"a\":1},\"id\":23}\n",
    b"{\"execute\":\"human-monitor-command\",\"id\":7}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":5},\"id\":8}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"cpu-index\":9},\"id\":9}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"cpu-index\":\"0\"},\"id\":10}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"x\":1},\"id\":11}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"cpu-index\":0},\"id\":12}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"\",\"cpu-index\":0},\"id\":13}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"cpu-index\":-1},\"id\":14}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"cpu-index\":18446744073709551615},\"id\":15}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"cpu-index\":\"a\",\"x\":2},\"id\":16}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\",\"cpu-index\":null},\"id\":24}\n",
    b"{\"execute\":\"qmp_capabilities\",\"id\":15}\n",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"x\":1},\"id\":15}\n",
    b"{\"execute\":\"query-status\",\"id\":16}{\"execute\":\"query-name\",\"id\":17}\n",
    b"{\"execute\":\"query-status\",\n\"id\":18}\n",
    b"{\"execute\":\"query-status\",\"id\":19,}\n",
    b"{\"execute\":\"query-status\",\"id\":20}}\n",
    b"}\n",
    b"{\"a\":\xff}\n",
    b"\x00\n",
    b"{\"execute\":\"query-status\",\"id\":1.5e3}\n",
    b"{\"execute\":\"query-status\",\"id\":null}\n",
    b"{\"execute\":\"query-status\",\"id\":12345678901234567890123}\n",
    b"{\"execute\":\"query-status\",\"id\":-0.0}\n",
    b"{\"execute\":\"query-status\",\"id\":\"\\u00e9\\ud83d\\ude00\"}\n",
    b"{\"execute\":\"query-status\",\"id\":'sq'}\n",
    b"{\"execute\":\"query-status\",\"id\":[1e-999, 0.1, 100000000000000000000, 1e16, 1e17, 1.0, 5e-5, -18446744073709551615, 18446744073709551615, 9223372036854775808]}\n",
    b"{\"execute\":\"query-status\",\"id\":{\"b\":1,\"a\":2,\"a\":3}}\n",
    b"{\"execute\":\"query-status\",\"id\":{\"status\":1,\"singlestep\":2,\"z\":[{}]}}\n",
    b"{\"execute\":\"query-status\",\"id\":\"\\u0000x\\uffff\"}\n",
    b"{\"execute\":\"query-status\",\"id\":\"\\ud800\"}\n",
    b"{\"execute\":\"query-status\",\"id\":\"\\u12\"}\n",
    b"{\"execute\":\"query-status\",\"id\":\"\\x\n",
    b"{\"execute\":\"query-status\",\"id\":\"\xc0\x80\xe9\"}\n",
    b"{\"execute\":\"query-status\",\"id\":\"a\\tb\\/\\'\x7f\"}\n",
    b"{\"execute\":\"query-status\",\"id\":\"\xef\xbf\xbf\"}\n",
    b"{\"execute\":\"query-status\",\"id\":True}\n",
    b"{\"execute\":\"query-status\",\"id\":01}\n",
    b"{\"execute\":\"query-status\",\"id\":-}\n",
    b"{\"execute\":\"query-status\",\"id\":1.}\n",
    b"{\"execute\":\"query-status\",\"id\":1e}\n",
    b"[[[[\n]]]]\n",
    b"{\"execute\":\"query-status\",\"id\":\"abc{\"a\" 1}\n",
    b"{1:2}\n",
    b"{\"a\":1 \"b\":2}\n",
    b"[1 2]\n[1,]\n{,}\n[,]\n{\"a\":}\n",
    b"{\"execute\":\"query-status\",\"id\":\xfe}\n",
    b"{\"exec-oob\":\"qmp_capabilities\",\"id\":1}\n",
    b"{\"exec-oob\":\"query-status\",\"id\":2}\n",
    b"{\"exec-oob\":\"migrate-pause\",\"id\":3}\n",
    b"{\"exec-oob\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"},\"id\":4}\n",
    b"{\"exec-oob\":\"nonexistent\",\"id\":5}\n",
    b"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info name\"},\"id\":{\"deep\":[{\"x\":null,\"y\":true}]}}\n",
];

/// The lines received for a case: at least `at_least` of them, and up to
/// and including the sentinel's reply.
async fn exchange(client: &mut Raw, case: &[u8], at_least: usize) -> Vec<Vec<u8>> {
    client.send_bytes(case).await;
    client.send_bytes(SENTINEL).await;
    let mut seen = Vec::new();
    let mut sentinel = false;
    while !sentinel || seen.len() < at_least {
        let line = client.line().await.unwrap_or_else(|| {
            panic!(
                "connection closed during {:?}",
                String::from_utf8_lossy(case)
            )
        });
        let value: Value = serde_json::from_slice(&line).unwrap_or(Value::Null);
        sentinel |= value.get("id").and_then(Value::as_str) == Some("sentinel");
        seen.push(line);
    }
    seen
}

async fn same_bytes_as_qemu(var: &str) {
    let Some(binary) = qemu_binary(var) else {
        return;
    };
    let direct_qemu = Qemu::start(&binary, &["-name", "proxytest"]);
    let proxied_qemu = Qemu::start(&binary, &["-name", "proxytest"]);
    let proxy = InProcessProxy::start(&proxied_qemu, |_| {}).await;
    let (mut direct, direct_greeting) = Raw::greeted(&direct_qemu.socket).await;
    let (mut proxied, proxied_greeting) = Raw::greeted(&proxy.socket).await;
    assert_eq!(
        String::from_utf8_lossy(&proxied_greeting),
        String::from_utf8_lossy(&direct_greeting),
        "greeting"
    );
    // QEMU's nesting limit: 1024 open brackets pass, one more is refused.
    let deep_ok = [vec![b'['; 1024], vec![b']'; 1024], b"\n".to_vec()].concat();
    let too_deep = [vec![b'['; 1025], b"\n".to_vec()].concat();
    let limits = [deep_ok.as_slice(), too_deep.as_slice()];
    let cases: Vec<&[u8]> = NEGOTIATION_MODE
        .iter()
        .chain(COMMAND_MODE)
        .copied()
        .chain(limits)
        .collect();
    let mut differences = Vec::new();
    for case in &cases {
        let mut expected = exchange(&mut direct, case, 0).await;
        let mut got = exchange(&mut proxied, case, expected.len()).await;
        // An out-of-band reply may overtake the sentinel's, through the
        // proxy as well as from QEMU: only the order is free.
        if case.starts_with(b"{\"exec-oob\"") {
            expected.sort();
            got.sort();
        }
        if got != expected {
            differences.push(format!(
                "for {:?}\n  QEMU:  {}  proxy: {}",
                String::from_utf8_lossy(case),
                String::from_utf8_lossy(&expected.concat()),
                String::from_utf8_lossy(&got.concat())
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{var}: {} of {} cases differ:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_bytes_as_qemu_7() {
    same_bytes_as_qemu("QHMP_QEMU_7").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_bytes_as_qemu_10() {
    same_bytes_as_qemu("QHMP_QEMU_10").await;
}
