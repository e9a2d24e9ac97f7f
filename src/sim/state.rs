//! The simulated VM's whole state, its virtual clock, timers and the
//! outbox of events waiting to be sent to clients.
//!
//! Everything here is plain data behind the simulator's mutex; command
//! handlers and the clock both mutate it synchronously, so every reply and
//! event sequence is deterministic for a given input and clock.

use super::balloon::Balloon;
use super::block::Block;
use super::chardev::Chardevs;
use super::devices::Devices;
use super::display::Display;
use super::input::InputLog;
use super::machine::Machine;
use super::migration::Migration;
use super::net::Net;
use super::script::Action;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Clock steps are never longer than this, so progress is smooth.
pub const TICK: Duration = Duration::from_millis(100);

/// A QMP client as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QmpClient {
    pub id: u64,
    /// `duplex`, a unix socket path or `ip:port`.
    pub peer: String,
    pub negotiated: bool,
    pub oob: bool,
}

/// Things the guest or a script does later.
#[derive(Debug, Clone)]
pub(crate) enum Task {
    /// The guest OS reacts to an ACPI power button press.
    GuestShutdown,
    /// The guest reboots itself (ctrl-alt-delete).
    GuestReset,
    /// The guest acknowledges an unplug request for this device id/path.
    GuestUnplug(String),
    /// The guest unlocks and opens a tray after an eject request.
    GuestOpenTray(String),
    /// The guest prints a line on its serial console.
    ConsoleLine(String),
    /// A scheduled script action.
    Script(Action),
}

#[derive(Debug, Clone)]
pub(crate) struct Timer {
    /// Due time, on the wall clock or on the guest clock.
    pub at: Duration,
    /// When true `at` is measured in guest (running) time.
    pub guest: bool,
    pub task: Task,
}

/// The simulated VM. Public fields are for inspection (lessons check goals
/// against them); change state through commands or [`Action`]s.
#[derive(Debug, Clone)]
pub struct State {
    /// Virtual time since the simulator started.
    pub now: Duration,
    /// Virtual time the vCPUs have spent running.
    pub guest_time: Duration,
    pub machine: Machine,
    pub block: Block,
    pub display: Display,
    pub balloon: Option<Balloon>,
    pub chardevs: Chardevs,
    pub net: Net,
    pub devices: Devices,
    pub migration: Migration,
    pub input: InputLog,
    pub qmp_clients: Vec<QmpClient>,
    /// Set by `quit`: the VM is gone and connections close.
    pub quit: bool,
    /// Every event emitted so far, oldest first (bounded).
    pub event_log: Vec<Value>,
    pub(crate) timers: Vec<Timer>,
    pub(crate) outbox: Vec<Value>,
    /// The `/fmt` defaults of the simulator's own HMP (`x`, `xp`), kept
    /// per process as QEMU does.
    pub(crate) hmp_formats: crate::parse::FormatDefaults,
    epoch: SystemTime,
    last_stamp_us: u128,
    /// The QEMU release played.
    pub version: &'static super::versions::SimVersion,
}

/// How many past events [`State::event_log`] keeps.
const EVENT_LOG_CAP: usize = 1000;

impl State {
    pub(crate) fn new(
        ambient_clients: bool,
        version: &'static super::versions::SimVersion,
    ) -> Self {
        State {
            now: Duration::ZERO,
            guest_time: Duration::ZERO,
            machine: Machine::default(),
            block: Block::default(),
            display: Display::new(ambient_clients),
            balloon: Some(Balloon::new(super::machine::RAM_SIZE)),
            chardevs: Chardevs::default(),
            net: Net::default(),
            devices: Devices::default(),
            migration: Migration::default(),
            input: InputLog::default(),
            qmp_clients: Vec::new(),
            quit: false,
            event_log: Vec::new(),
            timers: Vec::new(),
            outbox: Vec::new(),
            hmp_formats: Default::default(),
            epoch: SystemTime::now(),
            last_stamp_us: 0,
            version,
        }
    }

    /// Queue an event for every negotiated client, stamped with the
    /// virtual clock (strictly increasing, like QEMU's stamps in practice).
    pub(crate) fn emit(&mut self, name: &str, data: Option<Value>) {
        let base = self.epoch.duration_since(UNIX_EPOCH).unwrap_or_default() + self.now;
        let us = base.as_micros().max(self.last_stamp_us + 1);
        self.last_stamp_us = us;
        let stamp = json!({"seconds": (us / 1_000_000) as u64,
                           "microseconds": (us % 1_000_000) as u64});
        let mut ev = serde_json::Map::new();
        ev.insert("timestamp".into(), stamp);
        ev.insert("event".into(), Value::String(name.into()));
        if let Some(d) = data {
            ev.insert("data".into(), d);
        }
        let ev = Value::Object(ev);
        if self.event_log.len() >= EVENT_LOG_CAP {
            self.event_log.remove(0);
        }
        self.event_log.push(ev.clone());
        self.outbox.push(ev);
    }

    /// Run `task` after `delay` of wall-clock time.
    pub(crate) fn after(&mut self, delay: Duration, task: Task) {
        let at = self.now + delay;
        self.timers.push(Timer {
            at,
            guest: false,
            task,
        });
    }

    /// True while something is under way that an operator waits for before
    /// the next step: a migration, or the guest still to act on an unplug
    /// or eject request (it only can while it runs).
    pub fn operator_waits(&self) -> bool {
        let guest_acts = |t: &Timer| {
            matches!(
                t.task,
                Task::GuestUnplug(_) | Task::GuestOpenTray(_) | Task::GuestShutdown
            )
        };
        self.migration.status.in_progress()
            || (self.machine.run_state.is_running() && self.timers.iter().any(guest_acts))
    }

    /// Run `task` after the guest has run for `delay` (paused time does not
    /// count: a stopped guest cannot react).
    pub(crate) fn after_guest(&mut self, delay: Duration, task: Task) {
        let at = self.guest_time + delay;
        self.timers.push(Timer {
            at,
            guest: true,
            task,
        });
    }

    /// Drop pending guest reactions, e.g. when the machine resets.
    pub(crate) fn cancel_guest_tasks(&mut self, keep: impl Fn(&Task) -> bool) {
        self.timers.retain(|t| !t.guest || keep(&t.task));
    }

    /// Advance the virtual clock by `dt`, in steps of at most [`TICK`].
    pub(crate) fn advance(&mut self, dt: Duration) {
        let mut left = dt;
        while !left.is_zero() && !self.quit {
            let step = left.min(TICK);
            left -= step;
            self.now += step;
            if self.machine.run_state.is_running() {
                self.guest_time += step;
            }
            self.tick(step);
            self.fire_due_timers();
        }
    }

    fn tick(&mut self, step: Duration) {
        let running = self.machine.run_state.is_running();
        self.block.tick(self.now, step, running);
        super::balloon::tick(self, step);
        super::migration::tick(self, step);
        super::display::tick(self);
    }

    fn fire_due_timers(&mut self) {
        loop {
            let (now, guest_now) = (self.now, self.guest_time);
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.at <= if t.guest { guest_now } else { now })
                .min_by_key(|(_, t)| t.at)
                .map(|(i, _)| i);
            let Some(i) = due else { break };
            let timer = self.timers.remove(i);
            self.run_task(timer.task);
        }
    }

    fn run_task(&mut self, task: Task) {
        match task {
            Task::GuestShutdown => super::machine::guest_shutdown(self),
            Task::GuestReset => super::machine::guest_reset(self),
            Task::GuestUnplug(id) => super::devices::guest_unplug(self, &id),
            Task::GuestOpenTray(dev) => super::block::guest_open_tray(self, &dev),
            Task::ConsoleLine(line) => self.chardevs.guest_console(&line),
            Task::Script(action) => {
                // Errors from scheduled actions have nobody to report to;
                // they leave the state unchanged.
                let _ = super::script::apply(self, action);
            }
        }
    }

    /// Wall-clock seconds since the Unix epoch, on the virtual clock.
    pub(crate) fn wall_secs(&self) -> u64 {
        (self.epoch.duration_since(UNIX_EPOCH).unwrap_or_default() + self.now).as_secs()
    }

    /// A fresh counter value, for node names and the like.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.machine.seq += 1;
        self.machine.seq
    }
}
