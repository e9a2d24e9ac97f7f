//! The proxy's memory under abuse, against real QEMU 10.0 (QHMP_QEMU_10):
//! a STOP/RESUME event flood with one client that never reads (RSS sampled
//! every second, then after that client leaves), the latency another client
//! sees meanwhile, and two clients that send without reading (8 MiB of `1 `
//! before negotiating; `query-qmp-schema` requests). Only prints figures;
//! exits 0 with a note when QEMU is absent.
//!
//! `cargo bench --bench proxy_flood`; `QHMP_FLOOD_SECS` sets the flood
//! length (default 20).

#[path = "../tests/proxy_support/mod.rs"]
mod proxy_support;

use proxy_support::{BinaryProxy, Qemu, Raw};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

fn main() {
    let Some(binary) = std::env::var_os("QHMP_QEMU_10")
        .map(PathBuf::from)
        .filter(|p| p.exists())
    else {
        println!("proxy flood benchmark: QHMP_QEMU_10 is not set to an installed QEMU 10.0");
        return;
    };
    let secs = std::env::var("QHMP_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20u64);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            println!("proxy flood benchmark: cannot start a runtime: {e}");
            return;
        }
    };
    runtime.block_on(measure(&binary, Duration::from_secs(secs)));
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

async fn probe_latencies(prober: &mut Raw, count: usize, pause: Duration) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        let reply = prober.request(&json!({"execute": "query-status"})).await;
        times.push(start.elapsed());
        assert!(reply.get("return").is_some(), "{reply}");
        prober.events.clear();
        tokio::time::sleep(pause).await;
    }
    times.sort();
    times
}

async fn measure(binary: &std::path::Path, flood_for: Duration) {
    let qemu = Qemu::start(binary, &[]);
    let proxy = BinaryProxy::start(&qemu, "flood.sock", &[]);
    let pid = proxy.child.id();
    let mut prober = Raw::negotiated(&proxy.socket).await;
    let quiet = probe_latencies(&mut prober, 200, Duration::from_millis(2)).await;
    let base = rss_mib(pid);
    let stalled = Raw::negotiated(&proxy.socket).await;

    // The flood: stop/cont pairs, 16 in flight, for `flood_for`.
    let socket = proxy.socket.clone();
    let flooding = tokio::spawn(async move {
        let mut flooder = Raw::negotiated(&socket).await;
        let deadline = Instant::now() + flood_for;
        let (mut sent, mut answered) = (0u64, 0u64);
        while Instant::now() < deadline || answered < sent {
            while Instant::now() < deadline && sent - answered < 16 {
                let command = if sent % 2 == 0 { "stop" } else { "cont" };
                flooder.send(&json!({"execute": command})).await;
                sent += 1;
            }
            flooder.reply().await;
            flooder.events.clear();
            answered += 1;
        }
        sent
    });
    let mut samples = Vec::new();
    let mut busy = Vec::new();
    let start = Instant::now();
    while !flooding.is_finished() {
        busy.extend(probe_latencies(&mut prober, 20, Duration::from_millis(45)).await);
        samples.push((start.elapsed().as_secs_f64(), rss_mib(pid)));
    }
    let events = flooding.await.unwrap_or(0);
    busy.sort();
    let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    let last = samples.last().map_or(0.0, |s| s.1);
    drop(stalled);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(pid);

    println!(
        "proxy flood ({} s of STOP/RESUME, one client never reading)",
        flood_for.as_secs()
    );
    println!("  events sent by QEMU        {events}");
    println!("  proxy RSS before           {base:.1} MiB");
    println!("  proxy RSS peak / at end    {peak:.1} MiB / {last:.1} MiB");
    println!("  proxy RSS after it leaves  {after:.1} MiB");
    let series: Vec<String> = samples
        .iter()
        .map(|(t, m)| format!("{t:.0}s:{m:.1}"))
        .collect();
    println!("  RSS samples (MiB)          {}", series.join(" "));
    println!(
        "  query-status latency quiet   median {:?} p99 {:?}",
        percentile(&quiet, 0.5),
        percentile(&quiet, 0.99)
    );
    println!(
        "  query-status latency flood   median {:?} p99 {:?} ({} samples)",
        percentile(&busy, 0.5),
        percentile(&busy, 0.99),
        busy.len()
    );

    // 8 MiB of `1 ` from a client that never negotiates nor reads.
    let mut ones = Raw::connect(&proxy.socket).await;
    let chunk = "1 ".repeat(32 * 1024);
    let mut accepted = 0usize;
    while accepted < 8 << 20 {
        let write = ones.writer.write_all(chunk.as_bytes());
        match tokio::time::timeout(Duration::from_secs(2), write).await {
            Ok(Ok(())) => accepted += chunk.len(),
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "  8 MiB of `1 `, never read: proxy took {:.1} MiB of it, RSS {:.1} MiB",
        accepted as f64 / (1 << 20) as f64,
        rss_mib(pid)
    );
    drop(ones);

    // query-qmp-schema requests, never read.
    let mut schema = Raw::negotiated(&proxy.socket).await;
    let request = format!("{}\n", json!({"execute": "query-qmp-schema"}));
    let mut sent = 0;
    for _ in 0..2000 {
        let write = schema.writer.write_all(request.as_bytes());
        match tokio::time::timeout(Duration::from_secs(2), write).await {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "  query-qmp-schema, never read: {sent} requests taken, RSS {:.1} MiB",
        rss_mib(pid)
    );
    drop(schema);
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("  after both leave: RSS {:.1} MiB", rss_mib(pid));
}
