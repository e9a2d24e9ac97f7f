//! `qhmp proxy`: many QMP clients share the one QMP socket QEMU gives, and
//! `human-monitor-command` is answered by qhmp's translator.
//!
//! ```text
//! clients ──► session (greeting, negotiation, policy) ──► upstream Client ──► QEMU
//!        ◄── events fanned out to every negotiated session ◄──┘
//! ```

mod listen;
pub mod qjson;
pub mod policy;
mod session;

pub use listen::{Listen, ListenError};
pub use policy::Policy;

use crate::monitor::{Monitor, MonitorError};
use crate::qmp::{Client, ClientConfig, ClientError, Target};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, RwLock};

/// Largest request line accepted from a client.
pub const MAX_CLIENT_LINE: usize = 16 << 20;

/// How the proxy behaves.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub upstream: Target,
    pub listen: Listen,
    pub policy: Policy,
    /// Forward every HMP line to QEMU's own HMP instead of translating.
    pub native_hmp: bool,
    /// Reconnect (with backoff) when the upstream QEMU goes away, instead of exiting.
    pub reconnect: bool,
    /// Unix socket permissions.
    pub socket_mode: u32,
    pub client: ClientConfig,
}

/// State every session shares.
pub struct Shared {
    upstream: RwLock<Option<Client>>,
    greeting: Mutex<Value>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Value>>>,
    pub policy: Policy,
    pub native_hmp: bool,
}

impl Shared {
    fn new(policy: Policy, native_hmp: bool) -> Arc<Shared> {
        Arc::new(Shared {
            upstream: RwLock::new(None),
            greeting: Mutex::new(Value::Null),
            subscribers: Mutex::new(Vec::new()),
            policy,
            native_hmp,
        })
    }

    /// The greeting each client gets: the upstream QEMU's own.
    pub fn greeting(&self) -> Value {
        self.greeting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub async fn upstream(&self) -> Option<Client> {
        self.upstream.read().await.clone()
    }

    /// A translator on the current upstream connection.
    pub async fn monitor(&self) -> Result<Monitor, MonitorError> {
        let client = self.upstream().await.ok_or(MonitorError::Walk(
            "the upstream QEMU is not connected".into(),
        ))?;
        Monitor::on_client(client).await
    }

    pub fn subscribe(&self, tx: mpsc::UnboundedSender<Value>) {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tx);
    }

    pub fn forget_subscriber(&self, tx: &mpsc::UnboundedSender<Value>) {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|s| !s.same_channel(tx));
    }

    /// Sends a message to every negotiated client, dropping departed ones.
    fn broadcast(&self, message: &Value) {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|s| s.send(message.clone()).is_ok());
    }
}

/// Runs the proxy until the upstream is lost (without `reconnect`) or the
/// listener fails.
pub async fn run(options: ProxyOptions) -> Result<(), ProxyError> {
    let shared = Shared::new(options.policy.clone(), options.native_hmp);
    let first = Client::connect(&options.upstream, options.client.clone())
        .await
        .map_err(ProxyError::Upstream)?;
    let listener = options
        .listen
        .bind(options.socket_mode)
        .await
        .map_err(ProxyError::Listen)?;
    let watch = install_upstream(&shared, first).await;
    let accept = tokio::spawn(listen::accept_loop(listener, shared.clone()));
    let outcome = supervise(&shared, &options, watch).await;
    accept.abort();
    outcome
}

/// Makes `client` the upstream and fans its events out to every client.
/// The returned task ends when the upstream connection does.
async fn install_upstream(shared: &Arc<Shared>, client: Client) -> tokio::task::JoinHandle<()> {
    *shared
        .greeting
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = client.greeting().raw.clone();
    let mut events = client.events();
    *shared.upstream.write().await = Some(client);
    let fanout = shared.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            fanout.broadcast(&event.raw);
        }
    })
}

/// Watches the upstream connection; on loss tells every client, then
/// reconnects with backoff or gives up.
async fn supervise(
    shared: &Arc<Shared>,
    options: &ProxyOptions,
    mut watch: tokio::task::JoinHandle<()>,
) -> Result<(), ProxyError> {
    loop {
        let _ = (&mut watch).await;
        let Some(client) = shared.upstream.write().await.take() else {
            return Ok(());
        };
        let lost = client.fatal_error().unwrap_or(ClientError::Closed);
        shared.broadcast(&json!({"error": {"class": "GenericError",
            "desc": format!("qhmp proxy lost its upstream QEMU: {lost}")}}));
        if !options.reconnect {
            return Err(ProxyError::Upstream(lost));
        }
        let mut delay = Duration::from_millis(100);
        loop {
            tokio::time::sleep(delay).await;
            match Client::connect(&options.upstream, options.client.clone()).await {
                Ok(client) => {
                    watch = install_upstream(shared, client).await;
                    break;
                }
                Err(_) => delay = (delay * 2).min(Duration::from_secs(5)),
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream QEMU: {0}")]
    Upstream(ClientError),
    #[error("{0}")]
    Listen(ListenError),
}
