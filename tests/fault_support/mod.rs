//! Shared pieces of the fault-injection tests (`mod fault_support;`):
//!
//! ```text
//! fake      a scripted QMP server on a unix socket (misbehaves on cue)
//! process   the built qhmp binary: one-shot runs and a proxy process
//! peer      a small blocking QMP client, for talking to the proxy
//! terminal  a tmux server of the test's own, for the interactive monitor
//! qemu      a real QEMU 10.0 that can be frozen and killed by its PID
//! ```
//!
//! Every wait is bounded by [`DEADLINE`]: a hang fails the test instead of
//! stalling the suite. Nothing asserts on how long anything took.
// Each test binary uses a different subset.
#![allow(dead_code)]

pub mod fake;
pub mod peer;
pub mod process;
pub mod qemu;
pub mod terminal;

use std::time::{Duration, Instant};

/// Longest wait for anything (the machine may be busy).
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How often a condition is checked again.
pub const POLL: Duration = Duration::from_millis(50);

/// True under CI, where a missing QEMU or tmux fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Checks `check` until it yields a value, for at most [`DEADLINE`].
pub fn poll_until<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > DEADLINE {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// [`poll_until`], failing the test with `what` when time runs out.
pub fn wait_until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    poll_until(check).unwrap_or_else(|| panic!("{what}: not within {DEADLINE:?}"))
}
