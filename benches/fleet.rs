//! A fleet at scale: N simulated QEMUs (simulator listeners on unix
//! sockets, served by a second copy of this program, so that the measured
//! child does not inherit a large parent's RSS figure through fork), and
//! `qhmp --connect 'unix:DIR/*.qmp' --format json -c 'info status' -c 'info block'`
//! (the release binary, a child process) run across them. Prints wall time
//! and the child's peak RSS for N = 10, 100, 500, against a shell loop of
//! one-shot `qhmp -c` calls over the same sockets.
//!
//! `cargo bench --bench fleet`. The simulators share the machine's CPUs
//! with the measured process; the figures include that.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const SIZES: [usize; 3] = [10, 100, 500];
/// Timed runs per size (the median is reported).
const RUNS: usize = 5;

/// Set in the copy of this program that serves the simulators: `N:DIR`.
const SERVE_ENV: &str = "QHMP_BENCH_SERVE_SIMS";

fn main() {
    if let Ok(spec) = std::env::var(SERVE_ENV) {
        return serve_sims(&spec);
    }
    let qhmp = env!("CARGO_BIN_EXE_qhmp");
    println!("binary: {qhmp}");
    println!(
        "{:>5}  {:>12}  {:>12}  {:>12}  {:>10}  {:>14}  {:>16}  {:>10}",
        "N",
        "fleet wall",
        "qhmp CPU",
        "connect only",
        "fleet RSS",
        "RSS growth/VM",
        "shell loop wall",
        "loop RSS"
    );
    let mut first: Option<(usize, u64)> = None;
    for n in SIZES {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let _sims = start_sims(n, dir.path());
        let glob = format!("unix:{}/*.qmp", dir.path().display());
        let fleet_args = [
            "--connect",
            &glob,
            "--jobs",
            "512",
            "--format",
            "json",
            "-c",
            "info status",
            "-c",
            "info block",
        ];
        let mut walls = Vec::new();
        let mut rss = 0;
        let mut cpus = Vec::new();
        for _ in 0..RUNS {
            let (wall, peak, lines, cpu) = measure(Command::new(qhmp).args(fleet_args));
            assert_eq!(lines, 2 * n, "one JSON object per VM and line");
            walls.push(wall);
            cpus.push(cpu);
            rss = rss.max(peak);
        }
        cpus.sort_by(f64::total_cmp);
        walls.sort_by(f64::total_cmp);
        // The connections alone: greeting, negotiation, query-version and
        // query-commands on every VM, and an empty line.
        let connect_args = [
            "--connect",
            &glob,
            "--jobs",
            "512",
            "--format",
            "json",
            "-c",
            "",
        ];
        let (connect_wall, _, _, _) = measure(Command::new(qhmp).args(connect_args));
        let growth = match first {
            Some((n0, rss0)) if n > n0 => {
                format!("{:.1} KiB", (rss as f64 - rss0 as f64) / (n - n0) as f64)
            }
            _ => "-".to_string(),
        };
        first.get_or_insert((n, rss));
        let (loop_wall, loop_rss) = shell_loop(qhmp, dir.path());
        println!(
            "{n:>5}  {:>9.1} ms  {:>9.1} ms  {connect_wall:>9.1} ms  {:>6} KiB  {growth:>14}  {:>13.1} ms  {:>6} KiB",
            walls[walls.len() / 2],
            cpus[cpus.len() / 2],
            rss,
            loop_wall,
            loop_rss
        );
    }
}

/// Ends the simulator server when dropped.
struct Sims(std::process::Child);

impl Drop for Sims {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this program again as the server of `n` simulators in `dir`.
fn start_sims(n: usize, dir: &Path) -> Sims {
    let me = std::env::current_exe().expect("this program's path");
    let child = Command::new(me)
        .env(SERVE_ENV, format!("{n}:{}", dir.display()))
        .stdin(Stdio::null())
        .spawn()
        .expect("the simulator server starts");
    let sims = Sims(child);
    let ready = dir.join("ready");
    let start = Instant::now();
    while !ready.exists() {
        assert!(start.elapsed().as_secs() < 60, "simulators did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sims
}

/// Serves `N` simulators on `DIR/vmNNNN.qmp` until killed.
fn serve_sims(spec: &str) {
    let (n, dir) = spec.split_once(':').expect("N:DIR");
    let n: usize = n.parse().expect("a count");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the simulators");
    runtime.block_on(async {
        for i in 0..n {
            let path = Path::new(dir).join(format!("vm{i:04}.qmp"));
            let listener = tokio::net::UnixListener::bind(&path).expect("bind a simulator socket");
            let sim = qhmp::sim::Simulator::new();
            tokio::spawn(async move {
                let _ = sim.serve(listener).await;
            });
        }
        std::fs::write(Path::new(dir).join("ready"), "").expect("mark ready");
        std::future::pending::<()>().await;
    });
}

/// Wall time (ms), peak RSS (KiB), stdout line count and CPU time (ms) of one run.
fn measure(command: &mut Command) -> (f64, u64, usize, f64) {
    let out = tempfile::NamedTempFile::new().expect("a temporary file");
    let start = Instant::now();
    // Reaped by wait4 below, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = command
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("qhmp starts");
    let (status, peak, cpu) = wait_with_rusage(child.id());
    let wall = start.elapsed().as_secs_f64() * 1e3;
    assert!(status == 0, "{command:?} exited with status {status}");
    let text = std::fs::read_to_string(out.path()).unwrap_or_default();
    (wall, peak, text.lines().count(), cpu)
}

/// The same work as a shell loop of one-shot runs, one socket at a time.
fn shell_loop(qhmp: &str, dir: &Path) -> (f64, u64) {
    let script = format!(
        "for s in '{}'/*.qmp; do '{qhmp}' --connect \"unix:$s\" --format json \
         -c 'info status' -c 'info block' || exit 1; done",
        dir.display()
    );
    let (wall, peak, _, _) = measure(Command::new("sh").args(["-c", &script]));
    (wall, peak)
}

/// Waits for `pid`; its exit status and peak RSS in KiB (for the shell
/// loop, the largest of its children).
fn wait_with_rusage(pid: u32) -> (i32, u64, f64) {
    let mut status = 0;
    // SAFETY: rusage is plain data, and wait4 writes it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid as libc::pid_t, "wait4 failed");
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    let cpu = ms(usage.ru_utime) + ms(usage.ru_stime);
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64, cpu)
}
