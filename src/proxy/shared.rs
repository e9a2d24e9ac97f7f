//! State all sessions share: the upstream connection, the clients to fan
//! events out to, and the translator template.
//!
//! Ordering: QEMU's reader hands an event to the event stream before it
//! hands over the reply that followed it, and a reply is only passed to its
//! client after the events pending at that moment went out (under the same
//! lock the fan-out uses). So a client sees every event QEMU sent before a
//! reply (`STOP` before the answer to `stop`) ahead of that reply.

use super::audit::Audit;
use super::judge::{judge_line, LineVerdict};
use super::policy::Policy;
use super::{Access, Limits, ProxyOptions};
use crate::monitor::Monitor;
use crate::parse::FormatDefaults;
use crate::qjson;
use crate::qmp::{Client, ClientError, Event, Gate};
use crate::translate::QemuFacts;
use serde_json::{json, Value};
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// What a session's writer is handed.
pub enum Out {
    /// One message, already laid out as QEMU writes it (shared between the
    /// clients an event goes to).
    Line(Arc<Vec<u8>>),
    /// Answered once everything queued before it has been written.
    Flush(oneshot::Sender<()>),
}

/// A session as the shared state knows it.
#[derive(Clone)]
pub struct Link {
    out: mpsc::UnboundedSender<Out>,
    negotiated: Arc<AtomicBool>,
    pub queue: Arc<Queue>,
}

/// How much waits in one client's output queue, for the limits.
#[derive(Default)]
pub struct Queue {
    /// Bytes queued and not yet written.
    bytes: AtomicUsize,
    /// Events dropped since the client was last told.
    dropped: AtomicU64,
    /// Set when the writer has stopped (client gone or too slow).
    closed: AtomicBool,
    /// Woken whenever bytes are written or the writer stops.
    drained: Notify,
}

impl Queue {
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::SeqCst)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Called by the writer once `written` bytes have left.
    pub fn written(&self, written: usize) {
        self.bytes.fetch_sub(written, Ordering::SeqCst);
        self.drained.notify_waiters();
    }

    /// Called by the writer when it stops.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.drained.notify_waiters();
    }

    /// Events dropped since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::SeqCst)
    }

    /// Waits until at most `limit` bytes are queued (or the writer stopped):
    /// a client that does not read its replies is not read from either.
    pub async fn room(&self, limit: usize) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.bytes() <= limit || self.is_closed() {
                return;
            }
            drained.await;
        }
    }

    /// Waits until the writer has stopped.
    pub async fn closed(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.is_closed() {
                return;
            }
            drained.await;
        }
    }
}

impl Link {
    pub fn new(out: mpsc::UnboundedSender<Out>) -> Link {
        Link {
            out,
            negotiated: Arc::new(AtomicBool::new(false)),
            queue: Arc::new(Queue::default()),
        }
    }

    pub fn negotiated(&self) -> bool {
        self.negotiated.load(Ordering::SeqCst)
    }

    /// Queues a message (replies are never dropped).
    pub fn send(&self, message: &Value) {
        self.send_line(Arc::new(qjson::message_line(message)));
    }

    fn send_line(&self, line: Arc<Vec<u8>>) {
        self.queue.bytes.fetch_add(line.len(), Ordering::SeqCst);
        if self.out.send(Out::Line(line)).is_err() {
            self.queue.close();
        }
    }

    /// Queues an event unless the client already has `limit` bytes waiting;
    /// a dropped event is counted and the client told once it reads again.
    fn offer_event(&self, line: &Arc<Vec<u8>>, limit: usize) {
        if self.queue.bytes() > limit {
            self.queue.dropped.fetch_add(1, Ordering::SeqCst);
        } else {
            self.send_line(line.clone());
        }
    }
}

struct Upstream {
    client: Client,
    generation: u64,
}

pub struct Shared {
    upstream: RwLock<Option<Upstream>>,
    generation: AtomicU64,
    greeting: Mutex<Value>,
    sessions: Mutex<Vec<Link>>,
    /// The upstream's event stream, read by the fan-out task and drained
    /// before each reply.
    events: Mutex<Option<mpsc::UnboundedReceiver<Event>>>,
    /// A translator for the current upstream, cloned into sessions.
    template: tokio::sync::Mutex<Option<(u64, Monitor)>>,
    /// QEMU keeps one `/fmt` default pair per process; so does the proxy.
    format_defaults: Mutex<FormatDefaults>,
    /// The task fanning the current upstream's events out.
    fanout: Mutex<Option<tokio::task::AbortHandle>>,
    /// Notes already printed (each is printed once).
    noted: Mutex<std::collections::BTreeSet<String>>,
    pub policy: Policy,
    pub native_hmp: bool,
    pub limits: Limits,
    pub access: Access,
    pub audit: Option<Audit>,
    /// Numbers clients in the audit log.
    pub serial: AtomicU64,
}

/// The policy's last check, at the upstream socket: whatever computed a
/// request (a client, a translation, a follow-up), a refused one is not sent.
fn gate(policy: &Policy, client: &Client) -> Gate {
    let policy = policy.clone();
    let facts = QemuFacts {
        version: client.greeting().version.clone(),
        commands: None,
    };
    Arc::new(move |request| {
        policy.gate(request, |line| match judge_line(&policy, &facts, line) {
            LineVerdict::Allowed => Ok(()),
            LineVerdict::Refused(why) => Err(why),
            LineVerdict::Answer(_) => {
                Err("qhmp proxy: a line qhmp cannot parse is not passed on under a policy".into())
            }
        })
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(options: &ProxyOptions, audit: Option<Audit>) -> Arc<Shared> {
        Arc::new(Shared {
            upstream: RwLock::new(None),
            generation: AtomicU64::new(0),
            greeting: Mutex::new(Value::Null),
            sessions: Mutex::new(Vec::new()),
            events: Mutex::new(None),
            template: tokio::sync::Mutex::new(None),
            format_defaults: Mutex::new(FormatDefaults::default()),
            noted: Mutex::new(std::collections::BTreeSet::new()),
            fanout: Mutex::new(None),
            policy: options.policy.clone(),
            native_hmp: options.native_hmp,
            limits: options.limits.clone(),
            access: options.access.clone(),
            audit,
            serial: AtomicU64::new(0),
        })
    }

    /// The greeting each client gets: the upstream QEMU's own.
    pub fn greeting(&self) -> Value {
        lock(&self.greeting).clone()
    }

    /// The current upstream connection and its generation (which changes
    /// on every reconnection).
    pub fn client(&self) -> Option<(Client, u64)> {
        self.upstream
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|u| (u.client.clone(), u.generation))
    }

    /// Makes `client` the upstream and starts fanning its events out. The
    /// returned task ends when the upstream connection does.
    pub fn install_upstream(self: &Arc<Self>, client: Client) -> tokio::task::JoinHandle<()> {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if !self.policy.is_open() {
            client.set_gate(gate(&self.policy, &client));
        }
        *lock(&self.greeting) = client.greeting().raw.clone();
        *lock(&self.events) = Some(client.events());
        *self
            .upstream
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Upstream { client, generation });
        let shared = self.clone();
        let task = tokio::spawn(async move {
            poll_fn(|cx| {
                let mut events = lock(&shared.events);
                let Some(rx) = events.as_mut() else {
                    return Poll::Ready(());
                };
                loop {
                    match rx.poll_recv(cx) {
                        Poll::Ready(Some(event)) => shared.broadcast(&event.raw),
                        Poll::Ready(None) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            })
            .await;
        });
        *lock(&self.fanout) = Some(task.abort_handle());
        task
    }

    /// Lets go of the upstream connection and stops the fan-out (when the
    /// proxy stops), so that QEMU's QMP socket is free for others.
    pub fn shutdown(&self) {
        if let Some(fanout) = lock(&self.fanout).take() {
            fanout.abort();
        }
        self.drop_upstream();
        *lock(&self.events) = None;
        lock(&self.sessions).clear();
        if let Ok(mut template) = self.template.try_lock() {
            *template = None;
        }
    }

    /// Forgets the upstream after its connection ended; returns why it did.
    pub fn drop_upstream(&self) -> ClientError {
        let old = self
            .upstream
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        old.and_then(|u| u.client.fatal_error())
            .unwrap_or(ClientError::Closed)
    }

    /// A translator on the current upstream (built once per connection).
    pub async fn monitor(&self) -> Result<(u64, Monitor), String> {
        let Some((client, generation)) = self.client() else {
            return Err("the upstream QEMU is not connected".into());
        };
        let mut template = self.template.lock().await;
        if let Some((built_for, monitor)) = template.as_ref() {
            if *built_for == generation {
                return Ok((generation, monitor.clone()));
            }
        }
        let monitor = Monitor::on_client(client)
            .await
            .map_err(|e| e.to_string())?;
        *template = Some((generation, monitor.clone()));
        Ok((generation, monitor))
    }

    pub fn format_defaults(&self) -> FormatDefaults {
        *lock(&self.format_defaults)
    }

    pub fn set_format_defaults(&self, defaults: FormatDefaults) {
        *lock(&self.format_defaults) = defaults;
    }

    /// Prints a note on stderr the first time it comes up.
    pub fn note_once(&self, note: String) {
        let mut noted = lock(&self.noted);
        if !noted.contains(&note) {
            eprintln!("qhmp proxy: {}", crate::render::escape_controls(&note));
            noted.insert(note);
        }
    }

    /// Registers a new client; events reach it once it has negotiated.
    pub fn register(&self, link: &Link) {
        lock(&self.sessions).push(link.clone());
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub fn unregister(&self, link: &Link) {
        link.queue.close();
        lock(&self.sessions).retain(|l| !l.out.same_channel(&link.out));
    }

    /// Marks `link` negotiated and sends it `reply`, with no event between
    /// (QEMU sends events only after the negotiation reply).
    pub fn complete_negotiation(&self, link: &Link, reply: Value) {
        let _sessions = lock(&self.sessions);
        link.negotiated.store(true, Ordering::SeqCst);
        link.send(&reply);
    }

    /// Sends a reply after the events QEMU sent before it.
    pub fn deliver(&self, link: &Link, reply: Value) {
        let mut events = lock(&self.events);
        if let Some(rx) = events.as_mut() {
            while let Ok(event) = rx.try_recv() {
                self.broadcast(&event.raw);
            }
        }
        link.send(&reply);
    }

    /// Sends an event to every negotiated client, forgetting departed ones.
    /// It is laid out once; a client whose queue is full misses it (and is
    /// told), so a stalled client costs neither memory nor anyone's time.
    fn broadcast(&self, event: &Value) {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|l| !l.out.is_closed());
        let line = Arc::new(qjson::message_line(event));
        for link in sessions.iter().filter(|l| l.negotiated()) {
            link.offer_event(&line, self.limits.queue_bytes);
        }
    }

    /// Sends every client an error message (no id, as QEMU's own
    /// unsolicited errors) and waits up to `limit` for it to be written.
    pub async fn tell_everyone(&self, desc: &str, limit: Duration) {
        let message = json!({"error": {"class": "GenericError", "desc": desc}});
        let flushed: Vec<_> = lock(&self.sessions)
            .iter()
            .map(|link| {
                let (tx, rx) = oneshot::channel();
                link.send(&message);
                let _ = link.out.send(Out::Flush(tx));
                rx
            })
            .collect();
        let _ = tokio::time::timeout(limit, async {
            for rx in flushed {
                let _ = rx.await;
            }
        })
        .await;
    }
}
