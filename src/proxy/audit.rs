//! The audit trail (`--audit FILE`, `-` for stderr): one line per client
//! request with the time, the client, what it asked, the decision and why;
//! plus start-up, connects and disconnects. Text from clients is written
//! with control characters escaped, so a line cannot forge another.

use super::shared::Shared;
use std::fmt;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Who a client is: a serial number, and its credentials when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    pub serial: u64,
    /// Unix socket peer credentials (SO_PEERCRED).
    pub pid: Option<i32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// A TCP client's address.
    pub address: Option<String>,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client={}", self.serial)?;
        if let Some(pid) = self.pid {
            write!(f, " pid={pid}")?;
        }
        if let Some(uid) = self.uid {
            write!(f, " uid={uid}")?;
        }
        if let Some(gid) = self.gid {
            write!(f, " gid={gid}")?;
        }
        if let Some(address) = &self.address {
            write!(f, " addr={address}")?;
        }
        Ok(())
    }
}

/// Where audit lines go.
pub struct Audit {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Audit {
    /// `-` is stderr; anything else a file appended to (created 0600).
    pub fn open(target: &str) -> std::io::Result<Audit> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stderr())
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(target)?,
            )
        };
        Ok(Audit {
            out: Mutex::new(out),
        })
    }

    /// Writes one line, stamped with the time (UTC).
    pub fn line(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(out, "{} {}", timestamp(SystemTime::now()), text);
        let _ = out.flush();
    }
}

impl fmt::Debug for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Audit")
    }
}

/// Logs an event of the proxy itself (connects, disconnects).
pub fn note(shared: &Shared, text: &str) {
    if let Some(audit) = &shared.audit {
        audit.line(text);
    }
}

/// Logs one request and what became of it.
pub fn request(shared: &Shared, peer: &Peer, what: &str, refused: Option<&str>) {
    if let Some(audit) = &shared.audit {
        let decision = match refused {
            Some(why) => format!("refused why={}", quoted(why)),
            None => "allowed".to_string(),
        };
        audit.line(&format!("{peer} request={} {decision}", quoted(what)));
    }
}

/// Text in double quotes with `"`, `\` and every control character
/// escaped: unambiguous in a log line.
pub fn quoted(text: &str) -> String {
    let escaped = crate::render::escape_control_chars(&text.replace('\\', "\\\\"), |_| true);
    format!("\"{}\"", escaped.replace('"', "\\\""))
}

/// `2026-12-01T22:40:03.123Z`.
fn timestamp(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_164_803_123);
        assert_eq!(timestamp(at), "2026-12-01T22:40:03.123Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        assert_eq!(
            quoted("info status\n2026 forged \"x\"\u{1b}[2J\0\\"),
            "\"info status\\u{a}2026 forged \\\"x\\\"\\u{1b}[2J\\u{0}\\\\\""
        );
        let peer = Peer {
            serial: 3,
            pid: Some(42),
            uid: Some(1000),
            gid: Some(100),
            address: None,
        };
        assert_eq!(peer.to_string(), "client=3 pid=42 uid=1000 gid=100");
    }
}
