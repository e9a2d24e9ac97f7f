//! Where the simulator listens (`unix:PATH` or `tcp:127.0.0.1:PORT`) and
//! the accept loop. QMP has no authentication, so TCP is loopback only.

use super::Simulator;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;
use tokio::net::{TcpListener, UnixListener};

/// A listen target, as given to `qhmp sim --listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ListenError {
    #[error("listen address '{0}' must start with 'unix:' or 'tcp:'")]
    UnknownScheme(String),
    #[error("listen address 'unix:' needs a socket path")]
    EmptyPath,
    #[error("listen address 'tcp:{0}' must be HOST:PORT, e.g. tcp:127.0.0.1:4444")]
    BadTcp(String),
    #[error("bad port '{0}' (expected 0-65535)")]
    BadPort(String),
    #[error("refusing to listen on '{0}': QMP has no authentication, use a loopback address")]
    NotLoopback(String),
}

impl FromStr for Listen {
    type Err = ListenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ListenError::EmptyPath);
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        let Some(rest) = s.strip_prefix("tcp:") else {
            return Err(ListenError::UnknownScheme(s.into()));
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| ListenError::BadTcp(rest.into()))?;
        let port: u16 = port
            .parse()
            .map_err(|_| ListenError::BadPort(port.into()))?;
        let host_bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = match host_bare {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            "" => return Err(ListenError::BadTcp(rest.into())),
            h => h
                .parse()
                .map_err(|_| ListenError::NotLoopback(host.into()))?,
        };
        if !ip.is_loopback() {
            return Err(ListenError::NotLoopback(host.into()));
        }
        Ok(Listen::Tcp(SocketAddr::new(ip, port)))
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
            Listen::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// A bound listener the simulator can serve on.
pub enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Self {
        Listener::Unix(l)
    }
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

pub(crate) async fn accept_loop(sim: &Simulator, listener: Listener) -> io::Result<()> {
    let mut quit = sim.quit_signal();
    loop {
        if *quit.borrow() {
            return Ok(());
        }
        let accepted = tokio::select! {
            _ = quit.changed() => return Ok(()),
            a = accept_one(&listener) => a,
        };
        match accepted {
            Ok(Accepted::Unix(s, peer)) => sim.spawn_session(s, peer),
            Ok(Accepted::Tcp(s, peer)) => sim.spawn_session(s, peer),
            // Out of descriptors and the like: wait a little, keep serving.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

enum Accepted {
    Unix(tokio::net::UnixStream, String),
    Tcp(tokio::net::TcpStream, String),
}

async fn accept_one(listener: &Listener) -> io::Result<Accepted> {
    match listener {
        Listener::Unix(l) => {
            let (s, _) = l.accept().await?;
            let path = l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                .unwrap_or_default();
            Ok(Accepted::Unix(s, format!("unix:{path}")))
        }
        Listener::Tcp(l) => {
            let (s, peer) = l.accept().await?;
            Ok(Accepted::Tcp(s, peer.to_string()))
        }
    }
}

/// Remove a stale socket file (only a socket: never clobber other files).
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(_) => Ok(()),
    }
}

/// Serve a simulator on `listen` until `shutdown` resolves or a client
/// sends `quit`. A unix socket is created owner-only and removed after.
pub async fn serve_on(
    sim: Simulator,
    listen: &Listen,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listener = match listen {
        Listen::Unix(path) => {
            remove_stale_socket(path)?;
            let l = UnixListener::bind(path)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            sim.set_monitor_address(format!("unix:{},server=on", path.display()));
            Listener::Unix(l)
        }
        Listen::Tcp(addr) => {
            let l = TcpListener::bind(addr).await?;
            let local = l.local_addr()?;
            sim.set_monitor_address(format!("tcp:{local},server=on"));
            Listener::Tcp(l)
        }
    };
    let result = tokio::select! {
        r = sim.serve(listener) => r,
        _ = shutdown => Ok(()),
    };
    if let Listen::Unix(path) = listen {
        let _ = remove_stale_socket(path);
    }
    result
}

/// `qhmp sim --listen TARGET`: a fresh simulator (real-time clock, viewers
/// coming and going) until Ctrl-C or `quit`.
pub async fn serve_until_ctrl_c(sim: Simulator, listen: Listen) -> io::Result<()> {
    let ctrl_c = async {
        // If the signal handler cannot be installed, serve until `quit`.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    serve_on(sim, &listen, ctrl_c).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets_and_refuses_the_network() {
        assert_eq!(
            "unix:/tmp/q.sock".parse::<Listen>(),
            Ok(Listen::Unix("/tmp/q.sock".into()))
        );
        assert_eq!(
            "tcp:127.0.0.1:4444".parse::<Listen>(),
            Ok(Listen::Tcp(
                "127.0.0.1:4444".parse().unwrap_or_else(|_| unreachable!())
            ))
        );
        assert!(matches!(
            "tcp:[::1]:4444".parse::<Listen>(),
            Ok(Listen::Tcp(_))
        ));
        assert!(matches!(
            "tcp:localhost:1".parse::<Listen>(),
            Ok(Listen::Tcp(_))
        ));
        assert_eq!(
            "tcp:0.0.0.0:4444".parse::<Listen>(),
            Err(ListenError::NotLoopback("0.0.0.0".into()))
        );
        assert_eq!(
            "tcp:example.com:4444".parse::<Listen>(),
            Err(ListenError::NotLoopback("example.com".into()))
        );
        assert_eq!(
            "tcp:127.0.0.1:x".parse::<Listen>(),
            Err(ListenError::BadPort("x".into()))
        );
        assert_eq!("unix:".parse::<Listen>(), Err(ListenError::EmptyPath));
        assert!(matches!(
            "/tmp/x".parse::<Listen>(),
            Err(ListenError::UnknownScheme(_))
        ));
        assert_eq!(
            "tcp:127.0.0.1:4444"
                .parse::<Listen>()
                .map(|l| l.to_string()),
            Ok("tcp:127.0.0.1:4444".to_string())
        );
    }
}
