//! Where the proxy listens: `unix:PATH` (mode 0600 by default) or
//! `tcp:HOST:PORT` (loopback only unless remote clients are allowed).

use super::audit::{self, Peer};
use super::session;
use super::shared::Shared;
use super::token;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
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
            Listen::Unix(path) => bind_unix(path, socket_mode)
                .map(Bound::Unix)
                .map_err(bind_error),
            Listen::Tcp { host, port } => {
                let listener = TcpListener::bind((host.as_str(), *port))
                    .await
                    .map_err(bind_error)?;
                Ok(Bound::Tcp(listener))
            }
        }
    }
}

/// Binds a unix socket that nobody can reach before it has `mode`: it is
/// bound in a private directory with an unpredictable name, given its mode,
/// then linked into place, which fails rather than replace anything that
/// appeared there meanwhile. A socket file left by an earlier run is
/// replaced; a live one, or anything else, is not.
fn bind_unix(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the path exists and is not a socket",
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another server is listening there",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = (0..16)
        .map(|_| parent.join(format!(".qhmp-{:016x}", unpredictable())))
        .find(|dir| std::fs::DirBuilder::new().mode(0o700).create(dir).is_ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "cannot create a private staging directory beside the listen path",
            )
        })?;
    let staged = staging.join("s");
    let placed = UnixListener::bind(&staged).and_then(|listener| {
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))?;
        std::fs::hard_link(&staged, path)?;
        Ok(listener)
    });
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&staging);
    placed
}

/// 64 random bits (the standard library's per-process random hash keys,
/// mixed with the time and a counter).
fn unpredictable() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

pub enum Bound {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Accepts clients until aborted; each gets its own session task, and the
/// sessions end with this task. Clients beyond `--max-clients`, unix
/// clients whose credentials are not allowed and TCP clients without the
/// token are turned away.
pub async fn accept_loop(listener: Bound, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        let accepted = match &listener {
            Bound::Unix(l) => l.accept().await.map(|(stream, _)| {
                let mut peer = next_peer(&shared);
                if let Ok(cred) = stream.peer_cred() {
                    peer.pid = cred.pid();
                    peer.uid = Some(cred.uid());
                    peer.gid = Some(cred.gid());
                }
                let full = sessions.len() >= shared.limits.max_clients;
                let shared = shared.clone();
                sessions.spawn(async move {
                    if let Some(why) = turned_away(&shared, &peer, full) {
                        refuse(stream, &shared, &peer, &why).await;
                    } else {
                        session::serve(stream, shared, peer).await;
                    }
                });
            }),
            Bound::Tcp(l) => l.accept().await.map(|(stream, address)| {
                let _ = stream.set_nodelay(true);
                let mut peer = next_peer(&shared);
                peer.address = Some(address.to_string());
                let full = sessions.len() >= shared.limits.max_clients;
                let shared = shared.clone();
                sessions.spawn(async move {
                    let mut stream = stream;
                    if let Some(why) = turned_away(&shared, &peer, full) {
                        refuse(stream, &shared, &peer, &why).await;
                    } else if let Err(why) = token::check(&mut stream, &shared.access).await {
                        refuse(stream, &shared, &peer, &why).await;
                    } else {
                        session::serve(stream, shared, peer).await;
                    }
                });
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

fn next_peer(shared: &Shared) -> Peer {
    Peer {
        serial: shared
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1,
        ..Peer::default()
    }
}

/// Why a client may not connect, if it may not.
fn turned_away(shared: &Shared, peer: &Peer, full: bool) -> Option<String> {
    let access = &shared.access;
    if full {
        return Some(format!(
            "too many clients (--max-clients {})",
            shared.limits.max_clients
        ));
    }
    let restricted = !access.allow_uid.is_empty() || !access.allow_gid.is_empty();
    let unix = peer.address.is_none();
    let allowed = peer.uid.is_some_and(|u| access.allow_uid.contains(&u))
        || peer.gid.is_some_and(|g| access.allow_gid.contains(&g));
    (restricted && unix && !allowed)
        .then(|| "its user and group are not in --allow-uid/--allow-gid".to_string())
}

/// Tells a client why it is turned away (one QMP error line, no greeting)
/// and hangs up.
async fn refuse<S: AsyncWrite + Unpin>(mut stream: S, shared: &Shared, peer: &Peer, why: &str) {
    audit::note(shared, &format!("refused {peer}: {why}"));
    let line = serde_json::json!({"error": {"class": "GenericError",
        "desc": format!("qhmp proxy: connection refused: {why}")}});
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        stream.write_all(&crate::qjson::message_line(&line)).await?;
        stream.shutdown().await
    })
    .await;
}

/// How long a turned-away client gets to take its error line.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

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

    #[tokio::test]
    async fn unix_sockets_get_their_mode_and_live_ones_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.sock");
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        let first = bind_unix(&path, 0o600).expect("bound");
        assert_eq!(mode(&path).ok(), Some(0o600));
        // Reachable at its final path.
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        let live = bind_unix(&path, 0o600).expect_err("a live socket is not replaced");
        assert_eq!(live.kind(), std::io::ErrorKind::AddrInUse);
        drop(first);
        let _second = bind_unix(&path, 0o660).expect("a stale socket is replaced");
        assert_eq!(mode(&path).ok(), Some(0o660));
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").expect("a file");
        assert!(bind_unix(&file, 0o600).is_err());
        assert_eq!(std::fs::read(&file).ok(), Some(b"x".to_vec()));
        // Nothing is left behind but the sockets and the file.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listing")
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        assert_eq!(names, ["p.sock", "plain"]);
        // The staging name cannot be guessed ahead (it used to be the pid).
        assert_ne!(unpredictable(), unpredictable());
    }
}
