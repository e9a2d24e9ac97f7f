//! Running the built `qhmp` binary with a time limit, capturing its output.

use super::Fixture;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one qhmp run may take before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// After this many timed-out runs, further runs fail at once, so a hanging
/// qhmp costs minutes, not hours, over a long list of command lines.
const MAX_TIMEOUTS: usize = 3;
static TIMEOUTS: AtomicUsize = AtomicUsize::new(0);

/// What one qhmp process did.
#[derive(Debug, Clone)]
pub struct ProductRun {
    /// Exit code; `None` when killed by a signal or by the time limit.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl ProductRun {
    /// A one-line description of how the process ended, for failure reports.
    pub fn status_text(&self) -> String {
        match (self.timed_out, self.code) {
            (true, _) => format!("killed after {RUN_TIMEOUT:?}"),
            (false, Some(code)) => format!("exit code {code}"),
            (false, None) => "killed by a signal".to_string(),
        }
    }
}

/// The qhmp binary cargo built for this test run.
pub fn qhmp_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qhmp"))
}

/// Runs `qhmp args…` with stdin closed. Output goes through files in
/// `scratch_dir` so a large output cannot block the child on a full pipe.
pub fn run_qhmp(args: &[String], scratch_dir: &Path) -> Result<ProductRun, String> {
    if TIMEOUTS.load(Ordering::Relaxed) >= MAX_TIMEOUTS {
        return Err(format!(
            "not run: qhmp already timed out {MAX_TIMEOUTS} times"
        ));
    }
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let stamp = format!(
        "{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let out_path = scratch_dir.join(format!("qhmp-{stamp}.out"));
    let err_path = scratch_dir.join(format!("qhmp-{stamp}.err"));
    let create = |p: &Path| {
        std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
    };
    let mut child = Command::new(qhmp_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(create(&out_path)?)
        .stderr(create(&err_path)?)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", qhmp_binary().display()))?;
    let deadline = Instant::now() + RUN_TIMEOUT;
    let (status, timed_out) = loop {
        match child.try_wait() {
            Ok(Some(status)) => break (Some(status), false),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                TIMEOUTS.fetch_add(1, Ordering::Relaxed);
                break (None, true);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for qhmp: {e}")),
        }
    };
    let read = |p: &Path| {
        let bytes = std::fs::read(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(ProductRun {
        code: status.and_then(|s| s.code()),
        stdout: read(&out_path),
        stderr: read(&err_path),
        timed_out,
    })
}

/// `qhmp --connect unix:SOCKET --format classic -c LINE`: one command line
/// against a QEMU's spare QMP socket, classic (HMP-identical) output.
pub fn run_line(connect: &str, line: &str, scratch_dir: &Path) -> Result<ProductRun, String> {
    let args = ["--connect", connect, "--format", "classic", "-c", line].map(str::to_string);
    run_qhmp(&args, scratch_dir)
}

/// [`run_line`] against `fx`'s spare QMP socket, then waits until QEMU has seen
/// qhmp disconnect (see [`Fixture::wait_spare_idle`]).
pub fn run_line_on(fx: &Fixture, line: &str) -> Result<ProductRun, String> {
    let run = run_line(&fx.spare_connect_arg(), line, fx.dir());
    fx.wait_spare_idle();
    run
}

/// QEMU's text for qhmp's run: stdout; for a line that does not parse,
/// stderr without qhmp's additions (prefix, caret block, details).
pub fn product_text(run: &ProductRun) -> String {
    if run.code != Some(2) {
        return run.stdout.clone();
    }
    run.stderr
        .lines()
        .filter(|l| !l.starts_with("    ") && !l.starts_with("qhmp: ("))
        .map(|l| format!("{}\n", l.strip_prefix("qhmp: ").unwrap_or(l)))
        .collect()
}

/// qhmp's text agrees with QEMU's: equal, or for a parse error whose cause
/// QEMU writes to its stderr, qhmp's report of it followed by QEMU's text.
pub fn agrees(run: &ProductRun, qemu: &str) -> bool {
    let ours = product_text(run);
    ours == qemu || (run.code == Some(2) && !qemu.is_empty() && ours.ends_with(qemu))
}

/// Native HMP's answer to `line` on `fx`, with `\n` line ends.
pub fn native(fx: &Fixture, line: &str) -> String {
    fx.hmp(line).replace("\r\n", "\n")
}
