//! libvirt domains, reached through libvirt's own QMP bridge
//! `virt-qemu-qmp-proxy` (package libvirt-clients-qemu).
//!
//! Why the bridge: libvirt holds each domain's monitor socket itself. The
//! bridge serves a real QMP socket backed by libvirt's monitor API, with
//! QEMU's events and fd passing, over any libvirt URI (remote ones too), so
//! everything qhmp does on a socket works unchanged. `virsh
//! qemu-monitor-command` would cost a process per command and events would
//! need a second tool (`qemu-monitor-event`); the C library (`virt` crate)
//! would make libvirt's development files a build dependency.
//!
//! The bridge answers one command at a time (two requests arriving in one
//! read are never answered), so a pump here releases the client's requests
//! one by one, each after the previous reply.

use super::error::ClientError;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

/// The bridge's name, as installed by libvirt-clients-qemu.
const BRIDGE: &str = "virt-qemu-qmp-proxy";

/// Overrides where the bridge is (a path), e.g. for a libvirt built from source.
pub const BRIDGE_ENV: &str = "QHMP_VIRT_QMP_PROXY";

/// The system Python, which has python3-libvirt (a virtualenv's may not).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Opens `domain` through the bridge and returns the client's end of a QMP
/// stream. The bridge process ends with the stream.
pub(crate) async fn open(
    domain: &str,
    uri: Option<&str>,
    limit: Duration,
) -> Result<DuplexStream, ClientError> {
    let bridge = find_bridge()?;
    let dir = private_dir().map_err(|e| bridge_error(format!("temporary directory: {e}")))?;
    let socket = dir.join("qmp.sock");
    let mut command = if Path::new(SYSTEM_PYTHON).exists() {
        let mut c = Command::new(SYSTEM_PYTHON);
        c.arg(&bridge);
        c
    } else {
        Command::new(&bridge)
    };
    if let Some(uri) = uri {
        command.arg("-c").arg(uri);
    }
    command
        .arg(domain)
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| bridge_error(format!("cannot run {}: {e}", bridge.display())))?;
    let opened = wait_for_socket(&mut child, &socket, limit).await;
    // Once connected the name is no longer needed; nobody else may join.
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_dir(&dir);
    let stream = opened?;
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    tokio::spawn(pump(theirs, stream, child));
    Ok(ours)
}

fn bridge_error(message: String) -> ClientError {
    ClientError::Bridge(message)
}

fn find_bridge() -> Result<PathBuf, ClientError> {
    let found = match std::env::var_os(BRIDGE_ENV).filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/bin")])
                .map(|dir| dir.join(BRIDGE))
                .find(|p| p.is_file())
        }
    };
    found.ok_or_else(|| {
        bridge_error(format!(
            "libvirt's QMP bridge '{BRIDGE}' is not installed; install the package \
                 libvirt-clients-qemu (Debian/Ubuntu; it needs python3-libvirt) or set \
                 {BRIDGE_ENV} to its path"
        ))
    })
}

/// A fresh directory only this user can enter, for the bridge's socket.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("qhmp-libvirt-{}-{n}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// Waits for the bridge to listen; if it exits first, says why in its words.
async fn wait_for_socket(
    child: &mut Child,
    socket: &Path,
    limit: Duration,
) -> Result<UnixStream, ClientError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let said = output_of(child).await;
            return Err(bridge_error(explain_exit(&said, status)));
        }
        if socket.exists() {
            if let Ok(stream) = UnixStream::connect(socket).await {
                return Ok(stream);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(bridge_error(format!(
                "{BRIDGE} did not open its socket within {limit:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

async fn output_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text).await;
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text).await;
    }
    text
}

/// The bridge's last words, with advice for a missing Python binding.
fn explain_exit(said: &str, status: std::process::ExitStatus) -> String {
    let last = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let last = last
        .strip_prefix("/usr/bin/virt-qemu-qmp-proxy: ")
        .unwrap_or(last);
    if said.contains("No module named 'libvirt") {
        return format!(
            "{BRIDGE} needs libvirt's Python binding: install the package python3-libvirt ({last})"
        );
    }
    if last.is_empty() {
        return format!("{BRIDGE} exited ({status})");
    }
    format!("libvirt: {last}")
}

/// Copies QMP between the client and the bridge, letting one request
/// through at a time: the next goes when the previous one's reply is back.
async fn pump(client: DuplexStream, bridge: UnixStream, mut child: Child) {
    let (bridge_read, mut bridge_write) = bridge.into_split();
    let (client_read, mut client_write) = tokio::io::split(client);
    let replies = Arc::new(Semaphore::new(0));
    let up = {
        let replies = Arc::clone(&replies);
        async move {
            let mut lines = BufReader::new(bridge_read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if is_reply(&line) {
                    replies.add_permits(1);
                }
                let framed = format!("{line}\r\n");
                if client_write.write_all(framed.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut lines = BufReader::new(client_read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let framed = format!("{line}\n");
            if bridge_write.write_all(framed.as_bytes()).await.is_err() {
                return;
            }
            match replies.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => return,
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = child.wait() => {}
    }
    let _ = child.start_kill();
}

/// A reply (rather than the greeting or an event).
fn is_reply(line: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(line),
        Ok(serde_json::Value::Object(m)) if m.contains_key("return") || m.contains_key("error")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_told_from_events() {
        assert!(is_reply(r#"{"return": {}, "id": 1}"#));
        assert!(is_reply(r#"{"error": {"class": "X", "desc": "y"}}"#));
        assert!(!is_reply(r#"{"event": "STOP", "timestamp": {}}"#));
        assert!(!is_reply(r#"{"QMP": {"version": {}}}"#));
        assert!(!is_reply("not json"));
    }
}
