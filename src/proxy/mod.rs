//! `qhmp proxy`: many QMP clients share the one QMP socket QEMU gives, and
//! `human-monitor-command` is answered by qhmp's translator.
//!
//! ```text
//! client ─► session: reader (QEMU's JSON rules) ─► in-band queue ─► dispatch ─┐
//!                    └─ exec-oob ─────────────────────────────────► dispatch ─┤
//!        ◄─ writer (QEMU's JSON layout) ◄─ replies, events ◄──────────────────┘
//! dispatch: envelope checks, negotiation, policy; then forward upstream
//!           (ids rewritten) or answer human-monitor-command by translation
//! upstream: one qmp::Client; its events fan out to every negotiated client
//! ```
//!
//! Every client sees what QEMU itself would show it: its own greeting and
//! negotiation, its own ids (any JSON value) on its replies, QEMU's texts
//! for malformed input, and the same bytes on the wire.

mod dispatch;
mod hmc;
pub mod judge;
mod listen;
pub mod policy;
mod session;
mod shared;

pub use listen::{Listen, ListenError};
pub use policy::Policy;

use crate::qmp::{Client, ClientConfig, ClientError, Target};
use shared::Shared;
use std::sync::Arc;
use std::time::Duration;

/// How the proxy behaves.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub upstream: Target,
    pub listen: Listen,
    pub policy: Policy,
    /// Forward every HMP line to QEMU's own HMP instead of translating
    /// (the policy still judges each line by its translation).
    pub native_hmp: bool,
    /// Reconnect (with backoff) when the upstream QEMU goes away, instead of
    /// returning.
    pub reconnect: bool,
    /// Permissions of a unix listen socket (0600 keeps other users out).
    pub socket_mode: u32,
    pub client: ClientConfig,
}

impl ProxyOptions {
    /// Options with the defaults of `qhmp proxy`: translate HMP, no policy,
    /// reconnect, socket mode 0600, no time limit on relayed commands.
    pub fn new(upstream: Target, listen: Listen) -> ProxyOptions {
        ProxyOptions {
            upstream,
            listen,
            policy: Policy::default(),
            native_hmp: false,
            reconnect: true,
            socket_mode: 0o600,
            client: ClientConfig {
                request_timeout: None,
                ..ClientConfig::default()
            },
        }
    }
}

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long clients get to receive the upstream-loss error before the proxy
/// returns (without `reconnect`).
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// Runs the proxy: connects upstream, listens, and serves clients until the
/// upstream is lost (without `reconnect`) or the listener cannot be set up.
/// Dropping the future stops the listener and every session.
pub async fn run(options: ProxyOptions) -> Result<(), ProxyError> {
    let first = Client::connect(&options.upstream, options.client.clone())
        .await
        .map_err(ProxyError::Upstream)?;
    let listener = options
        .listen
        .bind(options.socket_mode)
        .await
        .map_err(ProxyError::Listen)?;
    let shared = Shared::new(options.policy.clone(), options.native_hmp);
    let watch = shared.install_upstream(first);
    let _stop = Stop {
        accept: tokio::spawn(listen::accept_loop(listener, shared.clone())),
        shared: shared.clone(),
    };
    supervise(&shared, &options, watch).await
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
        let lost = shared.drop_upstream();
        shared
            .tell_everyone(
                &format!("qhmp proxy lost its upstream QEMU: {lost}"),
                FLUSH_LIMIT,
            )
            .await;
        if !options.reconnect {
            return Err(ProxyError::Upstream(lost));
        }
        let mut delay = Duration::from_millis(100);
        watch = loop {
            tokio::time::sleep(delay).await;
            match Client::connect(&options.upstream, options.client.clone()).await {
                Ok(client) => break shared.install_upstream(client),
                Err(_) => delay = (delay * 2).min(MAX_BACKOFF),
            }
        };
    }
}

/// Stops the listener, the sessions and the upstream connection when [`run`]
/// returns or its future is dropped.
struct Stop {
    accept: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.shutdown();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream QEMU: {0}")]
    Upstream(ClientError),
    #[error("{0}")]
    Listen(ListenError),
}
