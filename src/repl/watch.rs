//! QEMU's events printed above the prompt as they arrive, and noticing at
//! once when QEMU goes away, even while the prompt waits for a key.
//!
//! The line editor blocks in `readline`; the only way in from outside is a
//! signal: rustyline turns SIGINT into `Interrupted` while it reads. So when
//! the connection ends, the watcher marks it and sends SIGINT to this process
//! until the main loop has noticed (outside `readline`, tokio's handler
//! swallows the signal; see [`guard_sigint`]).

use crate::qmp::Client;
use crate::render::event::event_line;
use rustyline::ExternalPrinter;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIVE: u8 = 0;
/// The user asked QEMU to quit; the end of the connection is expected.
const QUITTING: u8 = 1;
/// The connection ended by itself; the main loop has not noticed yet.
const GONE: u8 = 2;
/// The main loop has noticed (or is leaving).
const NOTICED: u8 = 3;

/// How often the watcher repeats its SIGINT until the main loop notices.
const NUDGE_EVERY: Duration = Duration::from_millis(200);

/// The state of one connection, shared with its watcher thread.
pub struct Watch {
    state: Arc<AtomicU8>,
}

impl Watch {
    /// Starts printing `client`'s events through `printer` (or to standard
    /// output when there is none) on a thread of its own: the line editor's
    /// printer may block, and must never stall the async runtime.
    pub fn start<P>(client: &Client, printer: Option<P>) -> Watch
    where
        P: ExternalPrinter + Send + 'static,
    {
        let state = Arc::new(AtomicU8::new(LIVE));
        let mut events = client.events();
        let shared = Arc::clone(&state);
        let spawned = std::thread::Builder::new()
            .name("qhmp-events".into())
            .spawn(move || {
                let mut printer = printer;
                while let Some(event) = events.blocking_recv() {
                    let line = format!("{}\n", event_line(&event.raw));
                    match printer.as_mut() {
                        Some(p) => {
                            if p.print(line).is_err() {
                                break;
                            }
                        }
                        None => print!("{line}"),
                    }
                }
                if shared
                    .compare_exchange(LIVE, GONE, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    while shared.load(Ordering::SeqCst) == GONE {
                        interrupt_self();
                        std::thread::sleep(NUDGE_EVERY);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("qhmp: cannot watch for events: {e}");
        }
        Watch { state }
    }

    /// True once the connection has ended by itself; marks it noticed.
    pub fn take_gone(&self) -> bool {
        self.state
            .compare_exchange(GONE, NOTICED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            || self.state.load(Ordering::SeqCst) == NOTICED
    }

    /// The connection is about to end on purpose (`quit`).
    pub fn expect_end(&self) {
        let _ = self
            .state
            .compare_exchange(LIVE, QUITTING, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// `quit` was not sent after all.
    pub fn cancel_end(&self) {
        let _ = self
            .state
            .compare_exchange(QUITTING, LIVE, Ordering::SeqCst, Ordering::SeqCst);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.store(NOTICED, Ordering::SeqCst);
    }
}

/// Set once tokio's SIGINT handler is in place: only then may the watcher
/// signal this process.
static SIGINT_GUARDED: AtomicBool = AtomicBool::new(false);

/// Makes SIGINT harmless outside `readline` (it would otherwise end the
/// process with the terminal still in raw mode). tokio's handler, once
/// installed, stays for the life of the process.
pub fn guard_sigint(runtime: &tokio::runtime::Runtime) {
    let installed = runtime.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    });
    match installed {
        Ok(_) => SIGINT_GUARDED.store(true, Ordering::SeqCst),
        Err(e) => eprintln!("qhmp: cannot handle SIGINT: {e}"),
    }
}

fn interrupt_self() {
    if !SIGINT_GUARDED.load(Ordering::SeqCst) {
        return;
    }
    // SAFETY: kill(2) with our own pid and a signal whose handler is
    // installed (rustyline's while reading, tokio's otherwise) has no
    // memory-safety preconditions.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGINT);
    }
}
