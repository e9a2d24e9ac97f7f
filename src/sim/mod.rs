//! A simulated QEMU 10.0 speaking real QMP, for operator training and for
//! running `qhmp` without a VM.
//!
//! It models one `-machine pc` VM: run state, a virtio disk and an IDE
//! cdrom, SPICE and VNC with clients coming and going, balloon, chardevs,
//! netdevs and NICs, PCI hotplug, migration, QOM, input and screendumps.
//! Replies and events have the shapes (and error classes and texts) of
//! real QEMU 10.0; `tests/sim_schema.rs` checks them against the live
//! `query-qmp-schema`.
//!
//! ```no_run
//! # async fn demo() {
//! let sim = qhmp::sim::Simulator::new();
//! let stream = sim.connect(); // a QMP connection, greeting first
//! # drop(stream);
//! # }
//! ```
//!
//! Time: by default a virtual clock follows real time (migration
//! progresses, viewers connect and leave). With
//! [`SimOptions::manual_clock`] nothing moves until [`Simulator::advance`],
//! which makes scenarios deterministic.
//!
//! Lessons inspect [`Simulator::state`] (run state, drives and media,
//! viewers, QMP clients, keys sent, every event emitted, ...) and make
//! things happen with [`Simulator::script`] / [`Simulator::schedule`].
//!
//! Limits, on purpose:
//! - `human-monitor-command` is answered by qhmp's translator (as the
//!   proxy answers it), over an internal connection whose HMP is the
//!   simulator's own: deterministic guest data in QEMU's layout (`info
//!   registers`, `x`, `xp`, `print`, `info tlb|mem|network`, `boot_set`);
//!   other HMP-only commands answer "not provided by the qhmp simulator".
//!   Every QMP query behind QEMU 10.0's `info` commands is served;
//!   `query-qmp-schema` is not.
//! - Host files are virtual (see [`Block::images`]), except `screendump`,
//!   which writes the requested file like QEMU does.
//! - Migration succeeds to any well-formed URI; failures are scripted
//!   ([`Action::MigrationFail`]).

pub mod args;
mod balloon;
mod block;
mod block_media;
mod chardev;
pub mod commands;
mod devices;
mod display;
mod error;
mod features;
mod guest;
mod hmp;
mod info;
mod input;
mod listen;
mod machine;
mod memdump;
mod migration;
mod migration_cmds;
mod net;
mod pci;
mod qom;
pub mod schema_check;
mod screendump;
mod script;
mod session;
mod state;
mod versions;
mod wire;

pub use balloon::Balloon;
pub use block::{Block, Drive, HostImage, Medium, Stats, Throttle};
pub use chardev::{Chardev, ChardevKind, Chardevs};
pub use devices::{Device, Devices};
pub use display::{Display, Password, SpiceClient, VncClient};
pub use error::{ErrorClass, QmpError};
pub use input::InputLog;
pub use listen::{serve_on, serve_until_ctrl_c, Listen, ListenError, Listener};
pub use machine::{Machine, RunState};
pub use migration::{MigStatus, Migration, Progress};
pub use net::{Net, Netdev};
pub use script::{Action, ScriptError};
pub use state::{QmpClient, State};
pub use versions::SimVersion;

use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};
use tokio::io::DuplexStream;
use tokio::sync::{broadcast, watch};

/// How a simulator runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Time moves only through [`Simulator::advance`].
    pub manual_clock: bool,
    /// VNC and SPICE viewers connect and leave by themselves.
    pub ambient_clients: bool,
    /// The QEMU release played: its greeting, `query-commands` and reply
    /// members (captured from the real binary; see [`SimVersion`]).
    pub qemu_version: crate::grammar::Profile,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            manual_clock: false,
            ambient_clients: true,
            qemu_version: crate::grammar::Profile::DEFAULT,
        }
    }
}

impl SimOptions {
    /// Deterministic: manual clock, no ambient viewers.
    pub fn deterministic() -> Self {
        SimOptions {
            manual_clock: true,
            ambient_clients: false,
            qemu_version: crate::grammar::Profile::DEFAULT,
        }
    }
}

/// The simulated QEMU. Cheap to clone; clones share one VM.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<str>>,
    quit: watch::Sender<bool>,
    manual_clock: bool,
    started: Instant,
    /// Virtual time added by `advance` on top of real time.
    skew: Mutex<Duration>,
    clock_running: AtomicBool,
    next_client: AtomicU64,
}

/// Events buffered per client before a slow one starts losing them.
const EVENT_BACKLOG: usize = 4096;

impl Default for Simulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulator {
    /// A simulator whose clock follows real time, with ambient viewers.
    pub fn new() -> Self {
        Self::with_options(SimOptions::default())
    }

    pub fn with_options(opts: SimOptions) -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let (quit, _) = watch::channel(false);
        Simulator {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(
                    opts.ambient_clients,
                    SimVersion::of(opts.qemu_version),
                )),
                events,
                quit,
                manual_clock: opts.manual_clock,
                started: Instant::now(),
                skew: Mutex::new(Duration::ZERO),
                clock_running: AtomicBool::new(false),
                next_client: AtomicU64::new(1),
            }),
        }
    }

    /// Open a QMP connection to the simulator. The other end is served by
    /// a task on the current Tokio runtime.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn connect(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(64 * 1024);
        self.spawn_session(server, "duplex".into());
        client
    }

    /// Serve QMP on a listener until `quit`; every client gets its own
    /// session and all negotiated clients get all events.
    pub async fn serve(&self, listener: impl Into<Listener>) -> std::io::Result<()> {
        listen::accept_loop(self, listener.into()).await
    }

    pub(crate) fn spawn_session<S>(&self, stream: S, peer: String)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        self.start_clock();
        tokio::spawn(session::run(self.clone(), stream, peer));
    }

    /// A copy of the whole VM state (for checking a lesson's goal).
    pub fn state(&self) -> State {
        self.locked(|st| st.clone())
    }

    /// Look at the state without copying it.
    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.locked(|st| f(st))
    }

    /// Make something happen now (a viewer connects, the guest locks its
    /// cdrom, ...). Its events go to all clients.
    pub fn script(&self, action: Action) -> Result<(), ScriptError> {
        self.locked(|st| script::apply(st, action))
    }

    /// Make something happen after `delay` of virtual time.
    pub fn schedule(&self, delay: Duration, action: Action) {
        self.locked(|st| st.after(delay, state::Task::Script(action)));
    }

    /// Move the virtual clock forward (on top of real time, if it runs).
    pub fn advance(&self, dt: Duration) {
        if !self.inner.manual_clock {
            let mut skew = self
                .inner
                .skew
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *skew += dt;
        }
        self.locked(|st| {
            if self.inner.manual_clock {
                st.advance(dt);
            }
        });
    }

    /// Run a QMP command directly, without a connection.
    pub fn execute(&self, command: &str, arguments: Value) -> Result<Value, QmpError> {
        let Some(cmd) = commands::find(command).filter(|_| self.version().offers(command)) else {
            return Err(QmpError::command_not_found(format!(
                "The command {command} has not been found"
            )));
        };
        let args = match arguments {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return Err(QmpError::generic(
                    "QMP input member 'arguments' must be an object",
                ))
            }
        };
        self.run_command(cmd, &args)
    }

    /// The QEMU release this simulator plays.
    pub fn version(&self) -> &'static SimVersion {
        self.with_state(|st| st.version)
    }

    /// True once `quit` ran: the VM is gone and connections are closed.
    pub fn is_quit(&self) -> bool {
        *self.inner.quit.borrow()
    }

    pub(crate) fn run_command(
        &self,
        cmd: &commands::Cmd,
        args: &Map<String, Value>,
    ) -> Result<Value, QmpError> {
        self.locked(|st| commands::dispatch(st, cmd, args))
    }

    /// Lock the state, bring the clock up to date, run `f`, publish the
    /// events it produced.
    fn locked<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !self.inner.manual_clock {
            let skew = *self
                .inner
                .skew
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let target = self.inner.started.elapsed() + skew;
            if target > st.now {
                let dt = target - st.now;
                st.advance(dt);
            }
        }
        let r = f(&mut st);
        for ev in st.outbox.drain(..) {
            let _ = self
                .inner
                .events
                .send(Arc::from(crate::qjson::to_qemu_json_in_order(&ev)));
        }
        if st.machine.quit_requested && !st.quit {
            st.quit = true;
            self.inner.quit.send_replace(true);
        }
        r
    }

    /// Keep the virtual clock moving while anyone uses the simulator.
    fn start_clock(&self) {
        if self.inner.manual_clock || self.inner.clock_running.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(state::TICK).await;
                let Some(inner) = weak.upgrade() else { return };
                let sim = Simulator { inner };
                if sim.is_quit() {
                    return;
                }
                sim.locked(|_| ());
            }
        });
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.inner.events.subscribe()
    }

    pub(crate) fn quit_signal(&self) -> watch::Receiver<bool> {
        self.inner.quit.subscribe()
    }

    pub(crate) fn register_client(&self, peer: String) -> u64 {
        let id = self.inner.next_client.fetch_add(1, Ordering::SeqCst);
        self.locked(|st| {
            st.qmp_clients.push(QmpClient {
                id,
                peer,
                negotiated: false,
                oob: false,
            })
        });
        id
    }

    pub(crate) fn client_negotiated(&self, id: u64, oob: bool) {
        self.locked(|st| {
            if let Some(c) = st.qmp_clients.iter_mut().find(|c| c.id == id) {
                c.negotiated = true;
                c.oob = oob;
            }
        });
    }

    pub(crate) fn unregister_client(&self, id: u64) {
        self.locked(|st| st.qmp_clients.retain(|c| c.id != id));
    }

    pub(crate) fn set_monitor_address(&self, filename: String) {
        self.locked(|st| st.chardevs.set_monitor_filename(filename));
    }
}
