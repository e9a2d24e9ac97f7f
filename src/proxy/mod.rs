//! `qhmp proxy`: many QMP clients share the one QMP socket QEMU gives, and
//! `human-monitor-command` is answered by qhmp's translator.
//!
//! ```text
//! client ─► session: reader (QEMU's JSON rules) ─► in-band queue ─► dispatch ─┐
//!                    └─ exec-oob ─────────────────────────────────► dispatch ─┤
//!        ◄─ writer (QEMU's JSON layout) ◄─ replies, events ◄──────────────────┘
//! dispatch: envelope checks, negotiation, policy; then forward upstream
//!           (ids rewritten) or answer human-monitor-command by translation
//! upstream: one qmp::Client; its events fan out to every negotiated client;
//!           a gate on it judges every request again before it is written
//! ```
//!
//! The policy (`policy`, `judge`) decides by effect class from
//! `grammar/effects.tsv`; `session` bounds what each client may cost;
//! `audit` logs every request; `listen` and `token` decide who may connect.
//!
//! Every client sees what QEMU itself would show it: its own greeting and
//! negotiation, its own ids (any JSON value) on its replies, QEMU's texts
//! for malformed input, and the same bytes on the wire.

pub mod audit;
mod dispatch;
mod hmc;
pub mod judge;
mod listen;
pub mod policy;
mod session;
mod shared;
mod token;

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
    pub limits: Limits,
    pub access: Access,
    /// Where the audit trail goes (`-`: stderr); `None`: no audit.
    pub audit: Option<String>,
}

/// What one client may cost the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Clients served at once; more are told so and disconnected.
    pub max_clients: usize,
    /// Bytes waiting in one client's output queue beyond which its events
    /// are dropped (it gets a `QHMP_EVENTS_DROPPED` event when it reads
    /// again) and it is not read from (its replies wait for room).
    pub queue_bytes: usize,
    /// `exec-oob` requests of one client running at once.
    pub pending_oob: usize,
    /// Longest request accepted from a client (QEMU's own limits, 64 MiB
    /// of token text per message, apply in any case).
    pub max_request_bytes: Option<usize>,
    /// A client that sends nothing for this long is disconnected.
    pub idle_timeout: Option<Duration>,
    /// A client that takes none of its output for this long is disconnected.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 64,
            queue_bytes: 1024 * 1024,
            pending_oob: 8,
            max_request_bytes: None,
            idle_timeout: None,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Who may connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Unix clients whose user id (peer credentials) is listed, or whose
    /// group id is in `allow_gid`, may connect; anyone when both are empty.
    pub allow_uid: Vec<u32>,
    pub allow_gid: Vec<u32>,
    /// TCP clients must send this line before anything else.
    pub token: Option<String>,
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
            limits: Limits::default(),
            access: Access::default(),
            audit: None,
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
    let audit = options
        .audit
        .as_deref()
        .map(audit::Audit::open)
        .transpose()
        .map_err(ProxyError::Audit)?;
    let shared = Shared::new(&options, audit);
    audit::note(
        &shared,
        &format!(
            "start upstream={} listen={} hmp={} {}",
            options.upstream,
            options.listen,
            if options.native_hmp {
                "native"
            } else {
                "translate"
            },
            describe(&options.policy)
        ),
    );
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

/// The policy in the words of its options, for the audit log.
fn describe(policy: &Policy) -> String {
    let list =
        |l: &std::collections::BTreeSet<String>| l.iter().cloned().collect::<Vec<_>>().join(",");
    let mut out = format!("read-only={}", policy.read_only);
    if let Some(allow) = &policy.allow {
        out.push_str(&format!(" allow={}", list(allow)));
    }
    if !policy.deny.is_empty() {
        out.push_str(&format!(" deny={}", list(&policy.deny)));
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("--audit: {0}")]
    Audit(std::io::Error),
    #[error("upstream QEMU: {0}")]
    Upstream(ClientError),
    #[error("{0}")]
    Listen(ListenError),
}
