//! Latency of `info` commands through qhmp (the library `Monitor::execute`:
//! QMP calls plus local parsing and rendering) against QEMU's own HMP
//! (`human-monitor-command`), on one paused QEMU 10.0 in one process run.
//!
//! Each side holds one warm QMP connection on a unix socket of its own; both
//! use the same QMP client and runtime, so the ratio compares QEMU's HMP work
//! with qhmp's QMP + rendering. Rounds alternate which side goes first.
//! Besides the two sides it prints, per command, the QMP round trips qhmp
//! made, the time of those bare QMP calls on qhmp's connection (the floor
//! qhmp cannot go below), and the local work (parse, translate, render)
//! timed without I/O.
//!
//! `cargo bench --bench latency` (optimised build); `QHMP_BENCH_ROUNDS`
//! overrides the number of measured rounds. Without `QHMP_QEMU_10` it prints
//! a note and exits 0.

#[path = "support/live_vm.rs"]
mod live_vm;
#[path = "../tests/support/qemu.rs"]
#[allow(dead_code)]
mod qemu;

use live_vm::LiveVm;
use qhmp::grammar::Grammar;
use qhmp::monitor::Monitor;
use qhmp::parse::{self, FormatDefaults};
use qhmp::qmp::{Client, ClientConfig, Target};
use qhmp::render::{self, RenderContext, Reply};
use qhmp::translate::{self, QemuFacts};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

const COMMANDS: [&str; 5] = [
    "info status",
    "info spice",
    "info vnc",
    "info pci",
    "info block",
];
const DEFAULT_ROUNDS: usize = 2000;
const WARMUP_ROUNDS: usize = 200;
/// Default iterations of the I/O-free measurements per command.
const LOCAL_ITERATIONS: usize = 20_000;
const TARGET_RATIO: f64 = 0.7;

fn main() {
    let vm = match LiveVm::start() {
        Ok(Some(vm)) => vm,
        Ok(None) => return,
        Err(e) => {
            eprintln!("cannot start QEMU: {e}");
            std::process::exit(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(measure(&vm)) {
        eprintln!("latency benchmark failed: {e}\nQEMU stderr:\n{}", vm.log());
        std::process::exit(1);
    }
}

#[derive(Clone, Copy)]
enum Side {
    Native,
    Qhmp,
    Bare,
}

const ORDERS: [[Side; 3]; 6] = {
    use Side::*;
    [
        [Native, Qhmp, Bare],
        [Qhmp, Bare, Native],
        [Bare, Native, Qhmp],
        [Native, Bare, Qhmp],
        [Qhmp, Native, Bare],
        [Bare, Qhmp, Native],
    ]
};

/// What one command line costs on each path, in microseconds per run.
struct Samples {
    line: &'static str,
    native: Vec<f64>,
    qhmp: Vec<f64>,
    /// qhmp's QMP requests for the line, sent bare on qhmp's connection:
    /// the whole set, and each request on its own.
    bare_qmp: Vec<f64>,
    bare_each: Vec<Vec<f64>>,
    /// The QMP requests qhmp made for the line.
    requests: Vec<(String, Option<Value>)>,
    /// The replies they got (input of the local-work timing).
    replies: Vec<Reply>,
    same_text: bool,
}

async fn measure(vm: &LiveVm) -> Result<(), String> {
    let rounds = std::env::var("QHMP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let target = |i: usize| -> Result<Target, String> {
        vm.target(i)
            .parse()
            .map_err(|e| format!("bad target: {e:?}"))
    };
    let mut monitor = Monitor::connect(&target(0)?, ClientConfig::default())
        .await
        .map_err(|e| format!("qhmp monitor: {e}"))?;
    let native = Client::connect(&target(1)?, ClientConfig::default())
        .await
        .map_err(|e| format!("native QMP client: {e}"))?;
    let bare = monitor.client().clone();

    let mut all = Vec::new();
    for line in chosen_commands() {
        let response = monitor
            .execute(line)
            .await
            .map_err(|e| format!("qhmp {line}: {e}"))?;
        let native_text = hmp(&native, line).await?.replace("\r\n", "\n");
        let requests: Vec<(String, Option<Value>)> = response
            .requests
            .iter()
            .map(|r| {
                let name = r["execute"].as_str().unwrap_or_default().to_string();
                (name, r.get("arguments").cloned())
            })
            .collect();
        all.push(Samples {
            line,
            native: Vec::with_capacity(rounds),
            qhmp: Vec::with_capacity(rounds),
            bare_qmp: Vec::with_capacity(rounds),
            bare_each: vec![Vec::with_capacity(rounds); requests.len()],
            requests,
            replies: response.replies.iter().cloned().map(Ok).collect(),
            same_text: response.text == native_text,
        });
    }

    for round in 0..WARMUP_ROUNDS + rounds {
        let keep = round >= WARMUP_ROUNDS;
        for s in &mut all {
            // Every order of the three in turn: whoever runs right after
            // another request finds QEMU's monitor thread already awake.
            for side in ORDERS[round % ORDERS.len()] {
                match side {
                    Side::Native => {
                        let t = time_native(&native, s.line).await?;
                        keep_sample(keep, &mut s.native, t);
                    }
                    Side::Qhmp => {
                        let t = time_qhmp(&mut monitor, s.line).await?;
                        keep_sample(keep, &mut s.qhmp, t);
                    }
                    Side::Bare => {
                        let each = time_bare(&bare, &s.requests).await?;
                        keep_sample(keep, &mut s.bare_qmp, each.iter().sum());
                        for (samples, t) in s.bare_each.iter_mut().zip(each) {
                            keep_sample(keep, samples, t);
                        }
                    }
                }
            }
        }
    }

    let facts = QemuFacts {
        version: monitor.version().clone(),
        commands: None,
    };
    report(&all, rounds, &facts)
}

/// `COMMANDS`, or those named in `QHMP_BENCH_COMMANDS` (comma-separated).
fn chosen_commands() -> Vec<&'static str> {
    match std::env::var("QHMP_BENCH_COMMANDS") {
        Ok(list) => COMMANDS
            .into_iter()
            .filter(|c| list.split(',').any(|w| w.trim() == *c))
            .collect(),
        Err(_) => COMMANDS.to_vec(),
    }
}

/// Iterations of the I/O-free measurements (`QHMP_BENCH_LOCAL`, e.g. fewer
/// under valgrind).
fn local_iterations() -> usize {
    std::env::var("QHMP_BENCH_LOCAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LOCAL_ITERATIONS)
}

fn keep_sample(keep: bool, into: &mut Vec<f64>, micros: f64) {
    if keep {
        into.push(micros);
    }
}

async fn hmp(client: &Client, line: &str) -> Result<String, String> {
    match client
        .execute(
            "human-monitor-command",
            Some(json!({ "command-line": line })),
        )
        .await
    {
        Ok(Ok(Value::String(text))) => Ok(text),
        other => Err(format!("native {line}: {other:?}")),
    }
}

async fn time_native(client: &Client, line: &str) -> Result<f64, String> {
    let start = Instant::now();
    black_box(hmp(client, line).await?);
    Ok(micros(start.elapsed()))
}

async fn time_qhmp(monitor: &mut Monitor, line: &str) -> Result<f64, String> {
    let start = Instant::now();
    let response = monitor
        .execute(line)
        .await
        .map_err(|e| format!("qhmp {line}: {e}"))?;
    black_box(response);
    Ok(micros(start.elapsed()))
}

/// Times of each request, sent one after the other as qhmp sends them.
async fn time_bare(
    client: &Client,
    requests: &[(String, Option<Value>)],
) -> Result<Vec<f64>, String> {
    let mut times = Vec::with_capacity(requests.len());
    for (command, arguments) in requests {
        let start = Instant::now();
        let reply = client
            .execute(command, arguments.clone())
            .await
            .map_err(|e| format!("{command}: {e}"))?;
        let _ = black_box(reply);
        times.push(micros(start.elapsed()));
    }
    Ok(times)
}

/// Size of the replies as QEMU sends them, and the median time to decode
/// them into JSON values (what the client does with each reply line).
fn decode_cost(s: &Samples) -> (usize, f64) {
    let lines: Vec<String> = s
        .replies
        .iter()
        .map(|r| match r {
            Ok(value) => json!({ "return": value, "id": 1 }).to_string(),
            Err(e) => json!({ "error": {"class": e.class, "desc": e.desc}, "id": 1 }).to_string(),
        })
        .collect();
    let bytes = lines.iter().map(String::len).sum();
    let mut times = Vec::new();
    for _ in 0..local_iterations() {
        let start = Instant::now();
        for line in &lines {
            let _ = black_box(serde_json::from_str::<Value>(line));
        }
        times.push(micros(start.elapsed()));
    }
    (bytes, quantile(&mut times, 0.5))
}

/// Median time of parse + translate + render for `s.line`, no I/O.
fn local_work(s: &Samples, facts: &QemuFacts) -> Result<f64, String> {
    let grammar = Grammar::builtin().map_err(|e| e.to_string())?;
    let profile = facts.profile();
    let ctx = RenderContext::new(facts.version.clone());
    let mut defaults = FormatDefaults::default();
    let mut once = || -> Result<(), String> {
        let parsed = parse::parse_line(grammar, profile, s.line, &mut defaults)
            .map_err(|e| format!("{e:?}"))?
            .ok_or("an empty line")?;
        let plan = translate::plan(parsed.entry, &parsed.args, s.line, facts)
            .map_err(|e| format!("{e:?}"))?;
        black_box(plan.wire_requests());
        let name = parsed.entry.render.as_deref().ok_or("no renderer")?;
        let text = render::classic::render(name, &ctx, &s.replies, &parsed.args)
            .map_err(|e| e.to_string())?;
        black_box(text);
        Ok(())
    };
    let mut times = Vec::new();
    for _ in 0..local_iterations() {
        let start = Instant::now();
        once()?;
        times.push(micros(start.elapsed()));
    }
    Ok(quantile(&mut times, 0.5))
}

fn report(all: &[Samples], rounds: usize, facts: &QemuFacts) -> Result<(), String> {
    println!(
        "QEMU {}, {rounds} rounds after {WARMUP_ROUNDS} warm-up, one warm unix-socket connection per side",
        facts.version
    );
    println!("times in microseconds; ratio = qhmp / native (target <= {TARGET_RATIO})");
    println!();
    println!(
        "| command | native p50 | native p95 | qhmp p50 | qhmp p95 | ratio p50 | ratio p95 | same text |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let mut missed = Vec::new();
    for s in all {
        let (n50, n95) = (median(&s.native), quantile(&mut s.native.clone(), 0.95));
        let (q50, q95) = (median(&s.qhmp), quantile(&mut s.qhmp.clone(), 0.95));
        println!(
            "| `{}` | {n50:.0} | {n95:.0} | {q50:.0} | {q95:.0} | {:.2} | {:.2} | {} |",
            s.line,
            q50 / n50,
            q95 / n95,
            if s.same_text { "yes" } else { "NO" },
        );
        if q50 / n50 > TARGET_RATIO {
            missed.push(s.line);
        }
    }
    println!();
    println!("where qhmp's time goes (medians, microseconds):");
    println!();
    println!(
        "| command | QMP calls (each bare, on qhmp's connection) | bare QMP total | qhmp - bare | reply bytes | JSON decode | parse+translate+render |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for s in all {
        let calls: Vec<String> = s
            .requests
            .iter()
            .zip(&s.bare_each)
            .map(|((command, _), times)| format!("{command} {:.0}", median(times)))
            .collect();
        let bare = median(&s.bare_qmp);
        let (bytes, decode) = decode_cost(s);
        println!(
            "| `{}` | {} | {bare:.0} | {:.0} | {bytes} | {decode:.1} | {:.1} |",
            s.line,
            calls.join(", "),
            median(&s.qhmp) - bare,
            local_work(s, facts)?,
        );
    }
    println!();
    if missed.is_empty() {
        println!("every median ratio meets the target");
    } else {
        println!("median ratio above {TARGET_RATIO}: {}", missed.join(", "));
    }
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(values: &[f64]) -> f64 {
    quantile(&mut values.to_vec(), 0.5)
}

/// The `q` quantile (nearest rank) of `values`, which it sorts.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let last = values.len().saturating_sub(1);
    let index = ((last as f64) * q).round() as usize;
    values.get(index.min(last)).copied().unwrap_or(f64::NAN)
}
