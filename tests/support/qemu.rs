//! Finding the QEMU binaries, free loopback ports, and owning a QEMU process.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The QEMU release lines the harness knows, in the form tests pass around.
pub const VERSIONS: [&str; 5] = ["5.2", "7.2", "8.2", "10.0", "11.1"];

/// Locates the QEMU system emulator of one release line.
pub struct QemuBinary;

impl QemuBinary {
    /// The environment variable naming the binary for `version`.
    pub fn env_var(version: &str) -> &'static str {
        match version {
            "5.2" => "QHMP_QEMU_5",
            "7.2" => "QHMP_QEMU_7",
            "8.2" => "QHMP_QEMU_8",
            "10.0" => "QHMP_QEMU_10",
            "11.1" => "QHMP_QEMU_11",
            other => panic!("unknown QEMU version {other:?}; the harness knows {VERSIONS:?}"),
        }
    }

    /// The binary from QHMP_QEMU_5 / _7 / _8 / _10 / _11, if set and present.
    pub fn from_env(version: &str) -> Option<PathBuf> {
        let value = std::env::var_os(Self::env_var(version))?;
        let path = PathBuf::from(value);
        if path.as_os_str().is_empty() || !path.is_file() {
            return None;
        }
        Some(path)
    }
}

/// True when running under CI, where a missing QEMU is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The binary for `version`, or `None` (with a note) so the test can return early.
/// Under CI=true a missing binary fails the test instead.
pub fn require_qemu(version: &str) -> Option<PathBuf> {
    if let Some(path) = QemuBinary::from_env(version) {
        return Some(path);
    }
    let var = QemuBinary::env_var(version);
    let message =
        format!("QEMU {version} not available: set {var} to the path of its qemu-system-x86_64");
    if in_ci() {
        panic!("{message} (CI=true: live-QEMU tests may not be skipped)");
    }
    eprintln!("note: skipping live test: {message}");
    None
}

/// `qemu-img`: QHMP_QEMU_IMG, else one beside `qemu`, else the one on PATH.
pub fn qemu_img(qemu: &Path) -> PathBuf {
    if let Some(path) = std::env::var_os("QHMP_QEMU_IMG") {
        return PathBuf::from(path);
    }
    let sibling = qemu.with_file_name("qemu-img");
    if sibling.is_file() {
        return sibling;
    }
    PathBuf::from("qemu-img")
}

/// Runs a helper program to completion; the error carries its stderr.
pub fn run_tool(program: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{} {} failed ({}): {}",
        program.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// A loopback TCP port nobody listens on right now (from the kernel's ephemeral
/// range, so always above 5900 + 100 and usable as a VNC display). QEMU may
/// still lose a race for it, so launchers retry with fresh ports.
pub fn free_tcp_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cannot read bound port: {e}"))?
        .port();
    if port < 6000 {
        return Err(format!(
            "kernel handed out port {port}, below the VNC range"
        ));
    }
    Ok(port)
}

/// A running QEMU that is killed (by PID) when dropped.
pub struct QemuProcess {
    child: Child,
    pid_file: PathBuf,
    log_file: PathBuf,
}

impl QemuProcess {
    /// Starts `qemu args…` with stderr to `log_file` and `-pidfile pid_file`.
    pub fn spawn(
        qemu: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log_file: &Path,
        pid_file: &Path,
    ) -> Result<QemuProcess, String> {
        let log = fs::File::create(log_file)
            .map_err(|e| format!("cannot create {}: {e}", log_file.display()))?;
        let mut command = Command::new(qemu);
        command
            .args(args)
            .arg("-pidfile")
            .arg(pid_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
        Ok(QemuProcess {
            child,
            pid_file: pid_file.to_path_buf(),
            log_file: log_file.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// QEMU's stderr so far (for error messages).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// `Some(description)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot query process state: {e}")),
        }
    }

    /// Waits until `path` exists, failing early when QEMU exits, within `wait`.
    pub fn wait_for_path(&mut self, path: &Path, wait: Duration) -> Result<(), String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "QEMU exited ({status}) during start-up:\n{}",
                    self.log()
                ));
            }
            if path.exists() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "QEMU did not create {} within {wait:?}; its stderr:\n{}",
                    path.display(),
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for QemuProcess {
    fn drop(&mut self) {
        // A wrapper script may have forked instead of exec'ing: kill the PID QEMU
        // itself wrote too, if it is a different process.
        let qemu_pid = fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(pid) = qemu_pid.filter(|&pid| pid != self.child.id() && pid > 1) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}
