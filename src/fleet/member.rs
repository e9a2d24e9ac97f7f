//! One VM of a fleet: its target, and its monitor while connected.

use crate::monitor::{Monitor, MonitorError, Response};
use crate::parse::FormatDefaults;
use crate::qmp::{Client, ClientConfig, ClientError, Target};
use crate::version::QemuVersion;

/// What one line did on one VM.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// QEMU answered (`failed` set when it refused the command).
    Done(Response),
    /// The line does not parse for this VM's QEMU: nothing was sent.
    Parse(String),
    /// The VM could not be reached.
    Unreachable(String),
    /// The connection broke or qhmp could not carry the line out.
    Failed(String),
}

impl Outcome {
    /// True unless QEMU carried the line out.
    pub fn failed(&self) -> bool {
        match self {
            Outcome::Done(r) => r.failed,
            _ => true,
        }
    }
}

/// A VM and how qhmp holds its socket.
pub struct Member {
    pub target: Target,
    /// Connect for each line and disconnect after it.
    pub transient: bool,
    config: ClientConfig,
    monitor: Option<Monitor>,
    /// The `/fmt` defaults, kept across transient connections.
    defaults: FormatDefaults,
    version: Option<QemuVersion>,
    /// Why the first connection failed: a held connection is not retried
    /// for every line (a busy socket costs the greeting timeout each time).
    dead: Option<String>,
}

impl Member {
    pub fn new(target: Target, transient: bool, config: ClientConfig) -> Member {
        Member {
            target,
            transient,
            config,
            monitor: None,
            defaults: FormatDefaults::default(),
            version: None,
            dead: None,
        }
    }

    /// Connects for the first time; a held connection that fails stays down.
    pub async fn open(&mut self) -> Result<(), String> {
        let opened = self.monitor().await.map(|_| ());
        if let Err(e) = &opened {
            if !self.transient {
                self.dead = Some(e.clone());
            }
        }
        opened
    }

    /// The monitor, connecting first when there is none.
    pub async fn monitor(&mut self) -> Result<&mut Monitor, String> {
        if self.monitor.is_none() {
            let monitor = connect(&self.target, self.config.clone()).await?;
            self.version = Some(monitor.version().clone());
            let mut monitor = monitor;
            monitor.set_format_defaults(self.defaults);
            self.monitor = Some(monitor);
        }
        self.monitor
            .as_mut()
            .ok_or_else(|| "not connected".to_string())
    }

    /// The connected monitor, if any.
    pub fn connected(&self) -> Option<&Monitor> {
        self.monitor.as_ref()
    }

    /// The QEMU version seen on the last connection.
    pub fn version(&self) -> Option<&QemuVersion> {
        self.version.as_ref()
    }

    /// Runs one line; a transient member lets go of the socket afterwards.
    pub async fn run(&mut self, line: &str) -> Outcome {
        if let Some(e) = &self.dead {
            return Outcome::Unreachable(e.clone());
        }
        let monitor = match self.monitor().await {
            Ok(m) => m,
            Err(e) => return Outcome::Unreachable(e),
        };
        let outcome = match monitor.execute(line).await {
            Ok(response) => Outcome::Done(response),
            Err(MonitorError::Parse { error, .. }) => Outcome::Parse(error.message),
            Err(e @ (MonitorError::Transport(_) | MonitorError::Connect(_))) => {
                self.monitor = None;
                return Outcome::Failed(e.to_string());
            }
            Err(e) => Outcome::Failed(e.to_string()),
        };
        if self.transient {
            self.release().await;
        }
        outcome
    }

    /// Disconnects (keeping what later connections need).
    pub async fn release(&mut self) {
        if let Some(monitor) = self.monitor.take() {
            self.defaults = monitor.format_defaults();
            monitor.client().close().await;
        }
    }

    /// The libvirt domain, when the target is one.
    pub fn domain(&self) -> Option<&str> {
        match &self.target {
            Target::Libvirt { domain, .. } => Some(domain),
            _ => None,
        }
    }

    /// A short name for the VM column: the domain, the socket's file stem,
    /// or host:port.
    pub fn short_name(&self) -> String {
        match &self.target {
            Target::Libvirt { domain, .. } => domain.clone(),
            Target::Unix(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            Target::Tcp { host, port } => format!("{host}:{port}"),
        }
    }
}

/// Connects and learns the QEMU; an unanswered socket says who may hold it.
pub async fn connect(target: &Target, config: ClientConfig) -> Result<Monitor, String> {
    let client = Client::connect(target, config)
        .await
        .map_err(|e| describe(target, &e))?;
    Monitor::on_client(client).await.map_err(|e| match e {
        MonitorError::Transport(e) | MonitorError::Connect(e) => describe(target, &e),
        other => format!("{target}: {other}"),
    })
}

/// A connection error, with the busy-socket advice when QEMU never greeted.
pub fn describe(target: &Target, e: &ClientError) -> String {
    match e {
        ClientError::NoGreeting { timeout } => format!(
            "{target}: no QMP greeting within {timeout:?}: {}",
            target.busy_hint()
        ),
        ClientError::Connect { .. } | ClientError::ConnectTimeout { .. } => e.to_string(),
        other => format!("{target}: {other}"),
    }
}
