//! Parser throughput: prints lines/s over a realistic mix of HMP lines, per
//! profile, and the time to load the builtin grammar tables.
//!
//! Run with `cargo bench --bench parser` (set `QHMP_BENCH_SHOW_REJECTED=1` to
//! list the lines of the mix the parser rejects). Figures only, no assertions: see
//! BENCHMARKS.md for the recorded numbers.

#[path = "support/hmp_lines.rs"]
mod hmp_lines;

use qhmp::grammar::table::BUILTIN_SOURCES;
use qhmp::grammar::{Grammar, Profile};
use qhmp::parse::{parse_line, FormatDefaults};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Lines in the mix (at least).
const MIX_LINES: usize = 2000;
/// Timed samples per measurement; the median is reported.
const SAMPLES: usize = 11;
/// Minimum duration of one sample.
const SAMPLE_TIME: Duration = Duration::from_millis(200);

/// Runs `f` repeatedly for at least `SAMPLE_TIME`; returns seconds per call.
fn sample(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < SAMPLE_TIME {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

/// Median seconds per call of `f` over `SAMPLES` samples (after one warm-up).
fn median_time(mut f: impl FnMut()) -> f64 {
    sample(&mut f);
    let mut times: Vec<f64> = (0..SAMPLES).map(|_| sample(&mut f)).collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn parse_all(grammar: &Grammar, profile: Profile, lines: &[String]) -> (usize, usize) {
    let mut defaults = FormatDefaults::default();
    let (mut ok, mut failed) = (0, 0);
    for line in lines {
        match parse_line(grammar, profile, black_box(line), &mut defaults) {
            Ok(parsed) => {
                black_box(parsed);
                ok += 1;
            }
            Err(e) => {
                black_box(e);
                failed += 1;
            }
        }
    }
    (ok, failed)
}

/// Prints each distinct line of the mix the parser rejects, with the error.
fn show_rejected(grammar: &Grammar, profile: Profile, lines: &[String]) {
    let mut defaults = FormatDefaults::default();
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        if let Err(e) = parse_line(grammar, profile, line, &mut defaults) {
            if seen.insert(line) {
                println!("  rejected ({profile}): {line:?}: {}", e.message);
            }
        }
    }
}

fn main() {
    let grammar = match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("builtin grammar does not load: {e}");
            std::process::exit(1);
        }
    };

    let load = median_time(|| {
        black_box(Grammar::from_sources(black_box(BUILTIN_SOURCES)).is_ok());
    });
    println!("grammar load (builtin tables): {:.1} µs", load * 1e6);

    for profile in Profile::ALL {
        let lines = hmp_lines::realistic_mix(grammar, profile, MIX_LINES);
        let grammar_lines = hmp_lines::grammar_lines(grammar, profile).len();
        let (ok, failed) = parse_all(grammar, profile, &lines);
        if std::env::var_os("QHMP_BENCH_SHOW_REJECTED").is_some() {
            show_rejected(grammar, profile, &lines);
        }
        let per_pass = median_time(|| {
            black_box(parse_all(grammar, profile, &lines));
        });
        let per_line = per_pass / lines.len() as f64;
        println!(
            "parse_line, profile {profile}: {} lines ({grammar_lines} from the grammar, \
             {ok} accepted, {failed} rejected): {:.0} lines/s, {:.0} ns/line",
            lines.len(),
            1.0 / per_line,
            per_line * 1e9,
        );
    }
}
