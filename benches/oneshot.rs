//! Whole-process wall time of one-shot runs of the release binary:
//! `qhmp --dry-run -c 'info version'` always, and
//! `qhmp --connect unix:… -c 'info version'` against a real QEMU 10.0 when
//! `QHMP_QEMU_10` names its binary. Prints the median and spread over
//! `RUNS` runs; the target is a median of at most 5 ms.
//!
//! `cargo bench --bench oneshot` builds the `qhmp` binary with the bench
//! profile (optimised, like release) and hands its path to this program.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Timed runs per scenario (after `WARMUP` untimed ones).
const RUNS: usize = 101;
const WARMUP: usize = 5;
const TARGET_MS: f64 = 5.0;

fn main() {
    let qhmp = PathBuf::from(env!("CARGO_BIN_EXE_qhmp"));
    println!("binary: {}", qhmp.display());
    // The floor on this machine: starting any process, and starting qhmp
    // without reading its tables.
    report_floor("/bin/true", &time_runs(Path::new("/bin/true"), &[]));
    report_floor("qhmp --version", &time_runs(&qhmp, &["--version"]));
    report(
        "qhmp --dry-run -c 'info version'",
        &time_runs(&qhmp, &["--dry-run", "-c", "info version"]),
    );
    match std::env::var_os("QHMP_QEMU_10") {
        Some(qemu) => {
            if let Err(e) = with_qemu(&qhmp, Path::new(&qemu)) {
                eprintln!("connected run failed: {e}");
                std::process::exit(1);
            }
        }
        None => println!("QHMP_QEMU_10 not set: skipping the --connect run"),
    }
}

/// Wall times in milliseconds of `RUNS` runs of `program`; exits on the
/// first failure.
fn time_runs(program: &Path, args: &[&str]) -> Vec<f64> {
    let run = || {
        let start = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status();
        let elapsed = start.elapsed();
        match status {
            Ok(s) if s.success() => elapsed.as_secs_f64() * 1e3,
            other => {
                eprintln!("{} {args:?} failed: {other:?}", program.display());
                std::process::exit(1);
            }
        }
    };
    for _ in 0..WARMUP {
        run();
    }
    (0..RUNS).map(|_| run()).collect()
}

/// `N runs, median … ms (min …, p10 …, p90 …, max …)` and the median.
fn spread(times: &[f64]) -> (f64, String) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let median = at(0.5);
    let text = format!(
        "{} runs, median {median:.2} ms (min {:.2}, p10 {:.2}, p90 {:.2}, max {:.2})",
        sorted.len(),
        at(0.0),
        at(0.1),
        at(0.9),
        at(1.0),
    );
    (median, text)
}

fn report(what: &str, times: &[f64]) {
    let (median, text) = spread(times);
    let verdict = if median <= TARGET_MS {
        "meets"
    } else {
        "MISSES"
    };
    println!("{what}: {text} — {verdict} the {TARGET_MS} ms target");
}

fn report_floor(what: &str, times: &[f64]) {
    println!("baseline {what}: {}", spread(times).1);
}

/// Kills the QEMU it holds when dropped, whatever happens to the bench.
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn with_qemu(qhmp: &Path, qemu: &Path) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("qhmp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let socket = dir.join("qmp.sock");
    let child = Command::new(qemu)
        .args([
            "-machine",
            "pc",
            "-S",
            "-nodefaults",
            "-display",
            "none",
            "-qmp",
        ])
        .arg(format!("unix:{},server=on,wait=off", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
    let _qemu = Qemu(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        if Instant::now() > deadline {
            return Err(format!("QEMU did not create {}", socket.display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let target = format!("unix:{}", socket.display());
    report(
        "qhmp --connect unix:… -c 'info version' (QEMU 10.0)",
        &time_runs(qhmp, &["--connect", &target, "-c", "info version"]),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
