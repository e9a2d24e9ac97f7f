//! A real QEMU 10.0 that a test can freeze (SIGSTOP) and kill (SIGKILL) by
//! its PID, and start again on the same socket path.

use super::{in_ci, poll_until, DEADLINE};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The QEMU 10.0 binary from `QHMP_QEMU_10`, or `None` (with a note)
/// outside CI; under `CI=true` a missing binary fails the test.
pub fn qemu_10() -> Option<PathBuf> {
    let found = std::env::var_os("QHMP_QEMU_10")
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "QHMP_QEMU_10 is not set to a QEMU binary, and CI=true needs the live QEMU"
        );
        eprintln!("note: QHMP_QEMU_10 not set; skipping the live fault test");
    }
    found
}

/// A paused, empty PC with its QMP socket at `socket`.
pub struct Qemu {
    child: Child,
    pid_file: PathBuf,
    log: PathBuf,
    pub socket: PathBuf,
}

impl Qemu {
    /// Starts QEMU and waits (bounded) until its QMP socket is there.
    pub fn start(binary: &Path, socket: &Path, dir: &Path) -> Qemu {
        // A killed QEMU leaves its socket behind; it must not pass for ready.
        let _ = std::fs::remove_file(socket);
        let pid_file = dir.join("qemu.pid");
        let _ = std::fs::remove_file(&pid_file);
        let log = dir.join("qemu.log");
        let child = Command::new(binary)
            .args(["-machine", "pc", "-S", "-nodefaults", "-display", "none"])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .arg("-pidfile")
            .arg(&pid_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a QEMU log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut qemu = Qemu {
            child,
            pid_file,
            log,
            socket: socket.to_path_buf(),
        };
        let ready = poll_until(|| {
            if let Ok(Some(status)) = qemu.child.try_wait() {
                return Some(Err(status));
            }
            (socket.exists() && qemu.pid().is_some()).then_some(Ok(()))
        });
        match ready {
            Some(Ok(())) => qemu,
            Some(Err(status)) => panic!("QEMU exited ({status}): {}", qemu.log_text()),
            None => panic!(
                "QEMU's QMP socket did not appear within {DEADLINE:?}: {}",
                qemu.log_text()
            ),
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// QEMU's own PID, as it wrote it (the binary may be a wrapper script).
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|pid| *pid > 1)
    }

    fn signal(&self, signal: i32) {
        let pid = self.pid().expect("QEMU wrote its PID");
        // SAFETY: kill(2) on a PID this test started; no memory is involved.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Freezes QEMU: requests sent now stay unanswered (in flight) until
    /// it is killed.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// `kill -9` by PID, then reaps the process (bounded).
    pub fn kill(mut self) {
        self.signal(libc::SIGKILL);
        let gone = poll_until(|| self.child.try_wait().ok().flatten());
        assert!(gone.is_some(), "QEMU survived SIGKILL for {DEADLINE:?}");
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = self.pid() {
                // SAFETY: as in `signal`.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
