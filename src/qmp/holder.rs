//! Who holds a unix socket: the process at the other end of the socket's
//! accepted connection, as `ss -xpn` (iproute2) reports it. Only processes
//! the caller may inspect are seen; `None` when nothing is known.

use std::path::Path;
use std::process::{Command, Stdio};

/// `name (pid N)` of the client connected to the server socket at `path`.
pub fn socket_holder(path: &Path) -> Option<String> {
    let output = Command::new("ss")
        .arg("-xpn")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    holder_in(
        &String::from_utf8_lossy(&output.stdout),
        &path.to_string_lossy(),
    )
}

/// Reads `ss -xpn` output: the established row whose local address is
/// `path` names the peer's inode; the row with that local inode names its
/// process.
fn holder_in(table: &str, path: &str) -> Option<String> {
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| f.len() >= 8 && f[1] == "ESTAB")
        .collect();
    let me = std::process::id();
    rows.iter()
        .filter(|f| f[4] == path)
        .filter_map(|server| {
            let peer = server[7];
            rows.iter().find(|f| f[5] == peer && f[4] == "*")
        })
        .filter_map(|client| process_of(client.get(8..)?.join(" ").as_str()))
        .find(|(_, pid)| *pid != me)
        .map(|(name, pid)| format!("{name} (pid {pid})"))
}

/// `users:(("python3",pid=20612,fd=3))` → ("python3", 20612).
fn process_of(users: &str) -> Option<(String, u32)> {
    let rest = users.strip_prefix("users:((\"")?;
    let (name, rest) = rest.split_once('"')?;
    let pid = rest.split("pid=").nth(1)?;
    let pid: u32 = pid
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((name.to_string(), pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_peer_process() {
        let table = "\
Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process
u_str ESTAB 0 768 /tmp/t/real.qmp 79977 * 78966 users:((\"qemu-system-x86\",pid=16900,fd=8))
u_str ESTAB 142 0 * 78966 * 79977 users:((\"python3\",pid=20612,fd=3))
u_str ESTAB 0 0 * 1 * 2 users:((\"other\",pid=1,fd=3))
";
        assert_eq!(
            holder_in(table, "/tmp/t/real.qmp").as_deref(),
            Some("python3 (pid 20612)")
        );
        assert_eq!(holder_in(table, "/tmp/t/other.qmp"), None);
    }
}
