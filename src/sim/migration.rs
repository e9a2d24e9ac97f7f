//! Outgoing live migration: `migrate` to any URI starts a precopy that
//! transfers RAM at `max-bandwidth`, re-sends what the running guest
//! dirties, and switches over once the rest fits in `downtime-limit`.
//! Commands, parameters and capabilities are in `migration_cmds.rs`.

use super::machine::{vm_start, vm_stop, RunState, RAM_SIZE};
use super::state::State;
use serde_json::{json, Map, Value};
use std::time::Duration;

pub const PAGE: i64 = 4096;
/// RAM plus device memory (VGA, ROMs) that migration reports as total.
pub const TOTAL: i64 = RAM_SIZE + 17_637_376;
/// Share of guest pages that are zero and cost (almost) nothing to send.
const ZERO_SHARE_PERCENT: i64 = 70;
/// Bytes per second a running guest dirties (before auto-converge).
const DIRTY_RATE: i64 = 24 << 20;
/// Bytes per second the simulated link carries at most.
const LINK_RATE: i64 = 1_250_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigStatus {
    None,
    Setup,
    Active,
    Device,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl MigStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MigStatus::None => "none",
            MigStatus::Setup => "setup",
            MigStatus::Active => "active",
            MigStatus::Device => "device",
            MigStatus::Completed => "completed",
            MigStatus::Cancelling => "cancelling",
            MigStatus::Cancelled => "cancelled",
            MigStatus::Failed => "failed",
        }
    }

    /// A migration is under way (another `migrate` is refused).
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            MigStatus::Setup | MigStatus::Active | MigStatus::Device | MigStatus::Cancelling
        )
    }
}

/// Counters of the current (or last) migration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub started: Duration,
    pub ended: Option<Duration>,
    pub transferred: i64,
    /// Bytes still to scan in this pass.
    pub remaining: i64,
    pub duplicate: i64,
    pub normal: i64,
    pub passes: i64,
    pub dirtied_this_pass: i64,
    pub bandwidth: i64,
    pub expected_downtime_ms: Option<i64>,
    pub downtime_ms: i64,
    pub throttle_percent: i64,
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub status: MigStatus,
    pub uri: Option<String>,
    /// All capabilities in QEMU's order, with their state.
    pub capabilities: Vec<(&'static str, bool)>,
    pub parameters: Map<String, Value>,
    pub progress: Progress,
    pub error: Option<String>,
    /// The run state the switchover took the VM from, restored if the
    /// migration is cancelled or fails.
    pub(crate) stopped_from: Option<RunState>,
}

pub const CAPABILITIES: [&str; 22] = [
    "xbzrle",
    "rdma-pin-all",
    "auto-converge",
    "zero-blocks",
    "events",
    "postcopy-ram",
    "x-colo",
    "release-ram",
    "return-path",
    "pause-before-switchover",
    "multifd",
    "dirty-bitmaps",
    "postcopy-blocktime",
    "late-block-activate",
    "x-ignore-shared",
    "validate-uuid",
    "background-snapshot",
    "zero-copy-send",
    "postcopy-preempt",
    "switchover-ack",
    "dirty-limit",
    "mapped-ram",
];

impl Default for Migration {
    fn default() -> Self {
        let parameters = json!({
            "announce-initial": 50, "announce-max": 550, "announce-rounds": 5,
            "announce-step": 100, "throttle-trigger-threshold": 50,
            "cpu-throttle-initial": 20, "cpu-throttle-increment": 10,
            "cpu-throttle-tailslow": false, "tls-creds": "", "tls-hostname": "",
            "tls-authz": "", "max-bandwidth": 134_217_728, "avail-switchover-bandwidth": 0,
            "downtime-limit": 300, "x-checkpoint-delay": 20000, "multifd-channels": 2,
            "xbzrle-cache-size": 67_108_864, "max-postcopy-bandwidth": 0,
            "max-cpu-throttle": 99, "multifd-compression": "none", "multifd-zlib-level": 1,
            "multifd-qatzip-level": 1, "multifd-zstd-level": 1,
            "x-vcpu-dirty-limit-period": 1000, "vcpu-dirty-limit": 1, "mode": "normal",
            "zero-page-detection": "multifd", "direct-io": false});
        Migration {
            status: MigStatus::None,
            uri: None,
            capabilities: CAPABILITIES.iter().map(|c| (*c, false)).collect(),
            parameters: parameters.as_object().cloned().unwrap_or_default(),
            progress: Progress::default(),
            error: None,
            stopped_from: None,
        }
    }
}

impl Migration {
    pub fn capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|(c, on)| *c == name && *on)
    }

    pub fn param_i64(&self, name: &str) -> i64 {
        self.parameters
            .get(name)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }
}

/// Move to `status`, with a MIGRATION event when the `events` capability
/// is on (QEMU sends none otherwise).
pub(crate) fn set_status(st: &mut State, status: MigStatus) {
    st.migration.status = status;
    if st.migration.capability("events") {
        st.emit("MIGRATION", Some(json!({"status": status.as_str()})));
    }
}

fn pass_event(st: &mut State) {
    st.migration.progress.passes += 1;
    let pass = st.migration.progress.passes;
    if st.migration.capability("events") {
        st.emit("MIGRATION_PASS", Some(json!({"pass": pass})));
    }
}

/// Start a migration (after `migrate` checked its arguments).
pub(crate) fn start(st: &mut State, uri: String) {
    let m = &mut st.migration;
    m.uri = Some(uri);
    m.error = None;
    m.stopped_from = None;
    m.progress = Progress {
        started: st.now,
        remaining: TOTAL,
        ..Progress::default()
    };
    set_status(st, MigStatus::Setup);
}

/// End a migration as failed (a script breaks the connection, say).
pub(crate) fn fail(st: &mut State, desc: &str) {
    if !st.migration.status.in_progress() {
        return;
    }
    st.migration.error = Some(desc.into());
    st.migration.progress.ended = Some(st.now);
    set_status(st, MigStatus::Failed);
    restart_vm(st);
}

fn restart_vm(st: &mut State) {
    match st.migration.stopped_from.take() {
        Some(RunState::Running) => vm_start(st),
        Some(prev) => st.machine.run_state = prev,
        None => {}
    }
}

pub(crate) fn tick(st: &mut State, step: Duration) {
    match st.migration.status {
        MigStatus::Setup => {
            pass_event(st);
            set_status(st, MigStatus::Active);
        }
        MigStatus::Active => transfer(st, step),
        MigStatus::Device => complete(st),
        MigStatus::Cancelling => {
            st.migration.progress.ended = Some(st.now);
            set_status(st, MigStatus::Cancelled);
            restart_vm(st);
        }
        _ => {}
    }
}

fn transfer(st: &mut State, step: Duration) {
    let running = st.machine.run_state.is_running();
    let m = &mut st.migration;
    let bw = m.param_i64("max-bandwidth").clamp(1, LINK_RATE);
    let limit = m.param_i64("downtime-limit");
    let ms = step.as_millis() as i64;
    let p = &mut m.progress;
    p.bandwidth = bw;
    let budget = bw * ms / 1000;
    // First pass: zero pages are nearly free; later passes are all dirty data.
    let first = p.passes <= 1;
    let scan = if first {
        budget * 100 / (100 - ZERO_SHARE_PERCENT)
    } else {
        budget
    }
    .min(p.remaining);
    let zero = if first {
        scan * ZERO_SHARE_PERCENT / 100
    } else {
        0
    };
    p.duplicate += zero / PAGE;
    p.normal += (scan - zero) / PAGE;
    p.transferred += scan - zero + zero / PAGE * 9;
    p.remaining -= scan;
    if running {
        let throttle = p.throttle_percent;
        p.dirtied_this_pass += DIRTY_RATE * ms / 1000 * (100 - throttle) / 100;
    }
    if p.remaining > 0 {
        return;
    }
    // End of a pass: what got dirtied meanwhile is the next pass.
    let left = p.dirtied_this_pass.min(TOTAL);
    p.dirtied_this_pass = 0;
    let downtime_ms = left * 1000 / bw;
    p.expected_downtime_ms = Some(downtime_ms);
    if downtime_ms <= limit {
        p.remaining = left;
        switchover(st);
        return;
    }
    p.remaining = left;
    if m.capability("auto-converge") {
        let initial = m.param_i64("cpu-throttle-initial");
        let inc = m.param_i64("cpu-throttle-increment");
        let max = m.param_i64("max-cpu-throttle");
        let p = &mut m.progress;
        p.throttle_percent = if p.throttle_percent == 0 {
            initial
        } else {
            (p.throttle_percent + inc).min(max)
        };
    }
    pass_event(st);
}

fn switchover(st: &mut State) {
    st.migration.stopped_from = Some(st.machine.run_state);
    if !vm_stop(st, RunState::FinishMigrate) {
        st.machine.run_state = RunState::FinishMigrate;
    }
    set_status(st, MigStatus::Device);
    pass_event(st);
}

fn complete(st: &mut State) {
    let p = &mut st.migration.progress;
    let bw = p.bandwidth.max(1);
    p.downtime_ms = p.remaining * 1000 / bw + 4;
    p.transferred += p.remaining;
    p.normal += p.remaining / PAGE;
    p.remaining = 0;
    p.ended = Some(st.now);
    st.migration.stopped_from = None;
    st.machine.run_state = RunState::Postmigrate;
    set_status(st, MigStatus::Completed);
}

fn ram_json(st: &State) -> Value {
    let p = &st.migration.progress;
    let elapsed = st.now.saturating_sub(p.started).as_millis().max(1) as i64;
    let active = st.migration.status.in_progress();
    let mbps = if active {
        p.bandwidth as f64 * 8.0 / 1e6
    } else {
        p.transferred as f64 * 8.0 / 1e3 / elapsed as f64
    };
    let dirty_rate = if p.passes > 1 && st.machine.run_state.is_running() {
        DIRTY_RATE / PAGE
    } else {
        0
    };
    json!({"transferred": p.transferred, "remaining": p.remaining, "total": TOTAL,
           "duplicate": p.duplicate, "normal": p.normal, "normal-bytes": p.normal * PAGE,
           "dirty-pages-rate": dirty_rate, "mbps": mbps, "dirty-sync-count": p.passes,
           "postcopy-requests": 0, "page-size": PAGE, "multifd-bytes": 0,
           "pages-per-second": if active { p.bandwidth / PAGE } else { 0 },
           "precopy-bytes": p.transferred, "downtime-bytes": 0, "postcopy-bytes": 0,
           "dirty-sync-missed-zero-copy": 0})
}

/// The `query-migrate` reply.
pub(crate) fn info(st: &State) -> Value {
    let m = &st.migration;
    let p = &m.progress;
    let total_ms = |end: Duration| end.saturating_sub(p.started).as_millis() as i64 + 1;
    let mut v = json!({"status": m.status.as_str()});
    match m.status {
        MigStatus::None => return json!({}),
        MigStatus::Setup | MigStatus::Cancelled => return v,
        MigStatus::Failed => {
            v["error-desc"] = json!(m.error.clone().unwrap_or_default());
            return v;
        }
        _ => {}
    }
    v["setup-time"] = json!(1);
    if m.status == MigStatus::Completed {
        v["downtime"] = json!(p.downtime_ms);
        v["total-time"] = json!(total_ms(p.ended.unwrap_or(st.now)));
    } else {
        let limit = m.param_i64("downtime-limit");
        v["expected-downtime"] = json!(p.expected_downtime_ms.unwrap_or(limit));
        v["total-time"] = json!(total_ms(st.now));
    }
    if p.throttle_percent > 0 && m.status.in_progress() {
        v["cpu-throttle-percentage"] = json!(p.throttle_percent);
    }
    v["ram"] = ram_json(st);
    if m.capability("xbzrle") {
        v["xbzrle-cache"] = json!({"cache-size": m.param_i64("xbzrle-cache-size"),
            "bytes": 0, "pages": 0, "cache-miss": 0, "cache-miss-rate": 0,
            "encoding-rate": 0, "overflow": 0});
    }
    v
}
