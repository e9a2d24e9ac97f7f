//! Where the proxy listens: `unix:PATH` (mode 0600 by default) or
//! `tcp:HOST:PORT` (loopback only unless remote clients are allowed).

use super::session;
use super::shared::Shared;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinSet;

/// Pause after a failed accept.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("listen address '{0}': expected unix:PATH or tcp:HOST:PORT")]
    Syntax(String),
    #[error("listen address '{0}' is not a loopback address; pass --allow-remote to accept remote clients")]
    NotLoopback(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

impl FromStr for Listen {
    type Err = ListenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ListenError::Syntax(s.into()));
            }
            return Ok(Listen::Unix(path.into()));
        }
        let Some(rest) = s.strip_prefix("tcp:") else {
            return Err(ListenError::Syntax(s.into()));
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| ListenError::Syntax(s.into()))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = port.parse().map_err(|_| ListenError::Syntax(s.into()))?;
        Ok(Listen::Tcp { host, port })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
            Listen::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Listen::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
        }
    }
}

impl Listen {
    /// Refuses non-loopback TCP addresses unless `allow_remote`.
    pub fn check_loopback(&self, allow_remote: bool) -> Result<(), ListenError> {
        match self {
            Listen::Tcp { host, .. } if !allow_remote => {
                let loopback =
                    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
                if loopback {
                    Ok(())
                } else {
                    Err(ListenError::NotLoopback(self.to_string()))
                }
            }
            _ => Ok(()),
        }
    }

    pub async fn bind(&self, socket_mode: u32) -> Result<Bound, ListenError> {
        let bind_error = |source| ListenError::Bind {
            address: self.to_string(),
            source,
        };
        match self {
            Listen::Unix(path) => {
                // A stale socket from an earlier run would make bind fail.
                if std::fs::symlink_metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    let _ = std::fs::remove_file(path);
                }
                let listener = UnixListener::bind(path).map_err(bind_error)?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(socket_mode))
                    .map_err(bind_error)?;
                Ok(Bound::Unix(listener))
            }
            Listen::Tcp { host, port } => {
                let listener = TcpListener::bind((host.as_str(), *port))
                    .await
                    .map_err(bind_error)?;
                Ok(Bound::Tcp(listener))
            }
        }
    }
}

pub enum Bound {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Accepts clients until aborted; each gets its own session task, and the
/// sessions end with this task.
pub async fn accept_loop(listener: Bound, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        let accepted = match &listener {
            Bound::Unix(l) => l.accept().await.map(|(stream, _)| {
                sessions.spawn(session::serve(stream, shared.clone()));
            }),
            Bound::Tcp(l) => l.accept().await.map(|(stream, _)| {
                let _ = stream.set_nodelay(true);
                sessions.spawn(session::serve(stream, shared.clone()));
            }),
        };
        while sessions.try_join_next().is_some() {}
        if let Err(e) = accepted {
            // Out of file descriptors and the like: wait rather than spin.
            eprintln!("qhmp proxy: accepting a client: {e}");
            tokio::time::sleep(ACCEPT_RETRY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_the_loopback_rule() {
        assert_eq!(
            "unix:/tmp/p.sock".parse::<Listen>().unwrap(),
            Listen::Unix("/tmp/p.sock".into())
        );
        let tcp: Listen = "tcp:[::1]:4444".parse().unwrap();
        assert_eq!(tcp.to_string(), "tcp:[::1]:4444");
        assert!(tcp.check_loopback(false).is_ok());
        let remote: Listen = "tcp:0.0.0.0:4444".parse().unwrap();
        assert!(remote.check_loopback(false).is_err());
        assert!(remote.check_loopback(true).is_ok());
        assert!("udp:1".parse::<Listen>().is_err());
        assert!("tcp:host".parse::<Listen>().is_err());
    }
}
