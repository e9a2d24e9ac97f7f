//! Prints what the proxy costs against real QEMU 10.0 (QHMP_QEMU_10): the
//! latency it adds to a QMP round trip and to `human-monitor-command`, and
//! the throughput of 32 clients sharing it. Only prints figures; exits 0
//! with a note when QEMU is absent.
//!
//! `cargo bench --bench proxy` measures an optimised build;
//! `cargo test --bench proxy` runs the same code unoptimised (slower figures).

#[path = "../tests/proxy_support/mod.rs"]
mod proxy_support;

use proxy_support::{BinaryProxy, Qemu, Raw};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SEQUENTIAL: usize = 2000;
const CLIENTS: usize = 32;
const PER_CLIENT: usize = 500;
const WINDOW: usize = 10;

fn main() {
    let Some(binary) = std::env::var_os("QHMP_QEMU_10")
        .map(PathBuf::from)
        .filter(|p| p.exists())
    else {
        println!(
            "proxy benchmark: QHMP_QEMU_10 is not set to an installed QEMU 10.0; nothing measured"
        );
        return;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            println!("proxy benchmark: cannot start a runtime: {e}");
            return;
        }
    };
    runtime.block_on(measure(&binary));
}

/// Round-trip times of `count` requests sent one after another.
async fn round_trips(raw: &mut Raw, request: &Value, count: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        let reply = raw.request(request).await;
        times.push(start.elapsed());
        assert!(reply.get("return").is_some(), "{reply}");
    }
    times.sort();
    times
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len().max(1) as u32
}

fn percentile(times: &[Duration], p: f64) -> Duration {
    let i = ((times.len() as f64 - 1.0) * p).round() as usize;
    times.get(i).copied().unwrap_or_default()
}

fn report(label: &str, times: &[Duration]) -> Duration {
    let m = mean(times);
    println!(
        "  {label:<50} mean {:>7.1} µs   p50 {:>7.1} µs   p99 {:>7.1} µs",
        m.as_secs_f64() * 1e6,
        percentile(times, 0.5).as_secs_f64() * 1e6,
        percentile(times, 0.99).as_secs_f64() * 1e6
    );
    m
}

fn hmc(line: &str) -> Value {
    json!({"execute": "human-monitor-command", "arguments": {"command-line": line}})
}

/// Requests per second for `clients` clients each sending `per_client`
/// mixed requests, `WINDOW` at a time.
async fn throughput(socket: &Path, clients: usize, per_client: usize) -> f64 {
    let mut connected = Vec::new();
    for _ in 0..clients {
        connected.push(Raw::negotiated(socket).await);
    }
    let start = Instant::now();
    let tasks: Vec<_> = connected
        .into_iter()
        .enumerate()
        .map(|(c, mut raw)| {
            tokio::spawn(async move {
                for first in (0..per_client).step_by(WINDOW) {
                    let last = (first + WINDOW).min(per_client);
                    let mut bytes = Vec::new();
                    for n in first..last {
                        let request = match (c + n) % 3 {
                            0 => json!({"execute": "query-status", "id": n}),
                            1 => json!({"execute": "query-name", "id": n}),
                            _ => json!({"execute": "human-monitor-command", "id": n,
                                "arguments": {"command-line": "info status"}}),
                        };
                        bytes.extend(format!("{request}\n").into_bytes());
                    }
                    raw.send_bytes(&bytes).await;
                    for n in first..last {
                        let reply = raw.reply().await;
                        assert_eq!(reply["id"], n, "{reply}");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client failed");
    }
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

async fn measure(binary: &Path) {
    let qemu = Qemu::start(binary, &["-name", "bench"]);
    let profile = if cfg!(debug_assertions) {
        "unoptimised (cargo test)"
    } else {
        "optimised"
    };
    println!(
        "proxy benchmark against {}, qhmp {profile}",
        binary.display()
    );

    println!("direct to QEMU ({SEQUENTIAL} sequential requests each):");
    let mut direct = Raw::negotiated(&qemu.socket).await;
    let direct_qmp = report(
        "query-status",
        &round_trips(&mut direct, &json!({"execute": "query-status"}), SEQUENTIAL).await,
    );
    let direct_hmp = report(
        "human-monitor-command 'info status'",
        &round_trips(&mut direct, &hmc("info status"), SEQUENTIAL).await,
    );
    drop(direct);
    // QEMU serves one client at a time; its throughput baseline is one
    // client keeping WINDOW requests in flight.
    let direct_rate = throughput(&qemu.socket, 1, CLIENTS * PER_CLIENT).await;

    let proxy = BinaryProxy::start(&qemu, "bench.sock", &[]);
    println!("through the proxy:");
    let mut proxied = Raw::negotiated(&proxy.socket).await;
    let proxied_qmp = report(
        "query-status",
        &round_trips(
            &mut proxied,
            &json!({"execute": "query-status"}),
            SEQUENTIAL,
        )
        .await,
    );
    let proxied_hmp = report(
        "human-monitor-command 'info status' (translated)",
        &round_trips(&mut proxied, &hmc("info status"), SEQUENTIAL).await,
    );
    drop(proxied);
    let added =
        |through: Duration, direct: Duration| (through.as_secs_f64() - direct.as_secs_f64()) * 1e6;
    println!(
        "added latency: QMP {:+.1} µs per request, HMP {:+.1} µs per line",
        added(proxied_qmp, direct_qmp),
        added(proxied_hmp, direct_hmp)
    );
    let proxied_rate = throughput(&proxy.socket, CLIENTS, PER_CLIENT).await;
    println!(
        "throughput, {} mixed requests (query-status, query-name, 'info status'):",
        CLIENTS * PER_CLIENT
    );
    println!("  direct, 1 client, {WINDOW} in flight          {direct_rate:>9.0} requests/s");
    println!(
        "  proxy, {CLIENTS} clients, {WINDOW} in flight each   {proxied_rate:>9.0} requests/s"
    );
}
