//! The built `qhmp` binary: one-shot runs with a bounded wait, and a proxy
//! process owned by the test (killed by its PID when dropped).

use super::{poll_until, DEADLINE};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

pub fn qhmp_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qhmp"))
}

/// How a one-shot qhmp ended.
#[derive(Debug)]
pub struct Outcome {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A file in `dir` no other run uses.
fn scratch(dir: &Path, what: &str) -> PathBuf {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    dir.join(format!("{what}-{}", RUNS.fetch_add(1, Ordering::Relaxed)))
}

fn file(path: &Path) -> std::fs::File {
    std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
}

/// A qhmp process whose output goes to files (a full pipe cannot stall it).
pub struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    /// Starts `qhmp args…`, standard input from `stdin` (or closed).
    pub fn start(args: &[&str], stdin: Option<&Path>, dir: &Path) -> Running {
        let stdout = scratch(dir, "out");
        let stderr = scratch(dir, "err");
        let input = match stdin {
            Some(path) => Stdio::from(
                std::fs::File::open(path)
                    .unwrap_or_else(|e| panic!("open {}: {e}", path.display())),
            ),
            None => Stdio::null(),
        };
        let child = Command::new(qhmp_binary())
            .args(args)
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .stdin(input)
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start qhmp: {e}"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout)
    }

    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr)
    }

    /// The exit status once the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits (bounded) for the process to end by itself.
    pub fn wait(mut self, what: &str) -> Outcome {
        let status = poll_until(|| self.exited());
        let Some(status) = status else {
            let stderr = self.stderr();
            panic!("{what}: qhmp still running after {DEADLINE:?} (a hang); stderr:\n{stderr}");
        };
        Outcome {
            code: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stdout);
        let _ = std::fs::remove_file(&self.stderr);
    }
}

fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// `qhmp --connect TARGET --format classic -c LINE…`, waited for (bounded).
pub fn one_shot(target: &str, lines: &[&str], dir: &Path) -> Outcome {
    let mut args = vec!["--connect", target, "--format", "classic"];
    for line in lines {
        args.extend(["-c", line]);
    }
    Running::start(&args, None, dir).wait(&format!("qhmp -c {lines:?}"))
}

/// `qhmp proxy --upstream UPSTREAM --listen unix:LISTEN EXTRA…`.
pub struct Proxy {
    pub running: Running,
    pub listen: PathBuf,
}

impl Proxy {
    /// Starts the proxy and waits (bounded) for its socket to appear.
    pub fn start(upstream: &str, listen: &Path, extra: &[&str], dir: &Path) -> Proxy {
        let _ = std::fs::remove_file(listen);
        let listen_arg = format!("unix:{}", listen.display());
        let mut args = vec!["proxy", "--upstream", upstream, "--listen", &listen_arg];
        args.extend(extra);
        let mut running = Running::start(&args, None, dir);
        let ready = poll_until(|| {
            if listen.exists() {
                return Some(Ok(()));
            }
            running.exited().map(Err)
        });
        match ready {
            Some(Ok(())) => {}
            Some(Err(status)) => panic!(
                "the proxy exited ({status}) before listening; stderr:\n{}",
                running.stderr()
            ),
            None => panic!(
                "the proxy did not listen within {DEADLINE:?}; stderr:\n{}",
                running.stderr()
            ),
        }
        Proxy {
            running,
            listen: listen.to_path_buf(),
        }
    }

    /// Fails the test unless the proxy is still running.
    pub fn assert_running(&mut self, when: &str) {
        if let Some(status) = self.running.exited() {
            panic!(
                "{when}: the proxy exited ({status}); stderr:\n{}",
                self.running.stderr()
            );
        }
    }
}
