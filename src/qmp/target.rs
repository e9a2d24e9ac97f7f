//! Where a QMP server is: `unix:PATH`, `tcp:HOST:PORT`, a bare path,
//! `libvirt:DOMAIN[@URI]` (through libvirt's QMP bridge) or `pve:VMID`
//! (Proxmox's socket for that VM).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The address of a QMP server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
    },
    /// A libvirt domain; `uri` is handed to libvirt unchanged (`None`:
    /// `LIBVIRT_DEFAULT_URI`, else libvirt's default).
    Libvirt {
        domain: String,
        uri: Option<String>,
    },
}

/// Where Proxmox VE keeps its QMP sockets (`/var/run` links to `/run`).
const PROXMOX_DIRS: &[&str] = &["/var/run/qemu-server", "/run/qemu-server"];

/// Overrides the Proxmox run directory, for tests on hosts without Proxmox.
pub const PROXMOX_DIR_ENV: &str = "QHMP_PVE_RUN_DIR";

/// The directory `pve:VMID` points into.
fn proxmox_dir() -> PathBuf {
    std::env::var_os(PROXMOX_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(PROXMOX_DIRS[0]))
}

impl Target {
    /// True for sockets that a daemon polls all the time (Proxmox's): a
    /// client should not hold them between commands.
    pub fn owned_by_others(&self) -> bool {
        let Target::Unix(path) = self else {
            return false;
        };
        let dir = proxmox_dir();
        path.parent().is_some_and(|parent| {
            parent == dir
                || PROXMOX_DIRS
                    .iter()
                    .any(|d| parent == std::path::Path::new(d))
        }) && path.extension().is_some_and(|e| e == "qmp")
    }

    /// Who probably holds a socket that accepts but never greets, and how
    /// to share it.
    pub fn busy_hint(&self) -> String {
        let seen = match self {
            Target::Unix(path) => super::holder::socket_holder(path),
            _ => None,
        };
        let guess = match self {
            Target::Libvirt { .. } => "libvirt's QMP bridge (another qhmp on this domain)",
            t if t.owned_by_others() => "Proxmox's daemons (pvestatd, qmeventd) or `qm monitor`",
            Target::Unix(p) if p.to_string_lossy().contains("/libvirt/") => {
                "libvirtd (it keeps its domains' monitor sockets open)"
            }
            _ => "another QMP client (a second qhmp, a management daemon or a script)",
        };
        let holder = match &seen {
            Some(process) => format!("{self} is held by {process}"),
            // Nothing seen: silence is also what a socket that is no QMP
            // socket at all gives.
            None => format!(
                "either this is not a QMP socket (something that stays silent, such as a \
                 chardev socket), or {self} is probably held by {guess}"
            ),
        };
        format!(
            "{holder}; QEMU serves one client per QMP socket. \
             Share it with `qhmp proxy --upstream {self} --listen unix:PATH` and connect to PATH, \
             or use --transient to hold it only while a command runs"
        )
    }
}

/// Why a target string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetParseError {
    #[error("empty QMP target; expected unix:PATH, tcp:HOST:PORT or a socket path")]
    Empty,
    #[error("'{0}': unix: needs a socket path after it")]
    EmptyPath(String),
    #[error("'{0}': tcp: target needs HOST:PORT, e.g. tcp:127.0.0.1:4444")]
    MissingPort(String),
    #[error("'{0}': missing host before the port")]
    EmptyHost(String),
    #[error("'{target}': port '{port}' is not a number from 1 to 65535")]
    BadPort { target: String, port: String },
    #[error("'{0}': write an IPv6 host in brackets, e.g. tcp:[::1]:4444")]
    UnbracketedIpv6(String),
    #[error("'{0}': expected libvirt:DOMAIN or libvirt:DOMAIN@URI")]
    EmptyDomain(String),
    #[error("'{0}': expected pve:VMID with a numeric VM id, e.g. pve:100")]
    BadVmid(String),
    #[error("'{target}': unsupported scheme '{scheme}'; use unix:PATH, tcp:HOST:PORT, libvirt:DOMAIN[@URI] or pve:VMID")]
    UnknownScheme { target: String, scheme: String },
}

impl FromStr for Target {
    type Err = TargetParseError;

    fn from_str(text: &str) -> Result<Target, TargetParseError> {
        if text.is_empty() {
            return Err(TargetParseError::Empty);
        }
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(TargetParseError::EmptyPath(text.to_string()));
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("tcp:") {
            return parse_tcp(text, rest);
        }
        if let Some(rest) = text.strip_prefix("libvirt:") {
            // The domain ends at the first '@'; the URI keeps any of its own.
            let (domain, uri) = match rest.split_once('@') {
                Some((d, u)) => (d, Some(u)),
                None => (rest, None),
            };
            if domain.is_empty() || uri.is_some_and(str::is_empty) {
                return Err(TargetParseError::EmptyDomain(text.to_string()));
            }
            return Ok(Target::Libvirt {
                domain: domain.to_string(),
                uri: uri.map(str::to_string),
            });
        }
        if let Some(vmid) = text.strip_prefix("pve:") {
            if vmid.is_empty() || !vmid.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TargetParseError::BadVmid(text.to_string()));
            }
            return Ok(Target::Unix(proxmox_dir().join(format!("{vmid}.qmp"))));
        }
        if let Some(scheme) = scheme_of(text) {
            return Err(TargetParseError::UnknownScheme {
                target: text.to_string(),
                scheme: scheme.to_string(),
            });
        }
        Ok(Target::Unix(PathBuf::from(text)))
    }
}

/// `HOST:PORT` after `tcp:`; an IPv6 host comes in brackets.
fn parse_tcp(text: &str, rest: &str) -> Result<Target, TargetParseError> {
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| TargetParseError::MissingPort(text.to_string()))?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or_else(|| TargetParseError::UnbracketedIpv6(text.to_string()))?,
        None if host.contains(':') || host.contains(']') => {
            return Err(TargetParseError::UnbracketedIpv6(text.to_string()))
        }
        None => host,
    };
    if host.is_empty() {
        return Err(TargetParseError::EmptyHost(text.to_string()));
    }
    let port = match port.parse::<u16>() {
        Ok(p) if p != 0 => p,
        _ => {
            return Err(TargetParseError::BadPort {
                target: text.to_string(),
                port: port.to_string(),
            })
        }
    };
    Ok(Target::Tcp {
        host: host.to_string(),
        port,
    })
}

/// The `NAME` of a `NAME:...` prefix that looks like a URL scheme rather
/// than part of a file name (letters first, no `/` or `.` before the colon).
fn scheme_of(text: &str) -> Option<&str> {
    let (head, _) = text.split_once(':')?;
    let mut chars = head.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-'))
    .then_some(head)
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
            Target::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Target::Libvirt { domain, uri: None } => write!(f, "libvirt:{domain}"),
            Target::Libvirt {
                domain,
                uri: Some(uri),
            } => write!(f, "libvirt:{domain}@{uri}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Target, TargetParseError> {
        text.parse()
    }

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            parse("unix:/tmp/q.sock"),
            Ok(Target::Unix("/tmp/q.sock".into()))
        );
        assert_eq!(
            parse("/var/run/qemu-server/100.qmp"),
            Ok(Target::Unix("/var/run/qemu-server/100.qmp".into()))
        );
        assert_eq!(parse("q.sock"), Ok(Target::Unix("q.sock".into())));
        assert_eq!(parse("./a:b"), Ok(Target::Unix("./a:b".into())));
        assert_eq!(
            parse("tcp:localhost:4444"),
            Ok(Target::Tcp {
                host: "localhost".into(),
                port: 4444
            })
        );
        assert_eq!(
            parse("tcp:[::1]:4444"),
            Ok(Target::Tcp {
                host: "::1".into(),
                port: 4444
            })
        );
    }

    #[test]
    fn libvirt_and_pve_forms() {
        assert_eq!(
            parse("libvirt:web1@qemu+ssh://root@host2/system"),
            Ok(Target::Libvirt {
                domain: "web1".into(),
                uri: Some("qemu+ssh://root@host2/system".into())
            })
        );
        assert_eq!(parse("libvirt:web1").unwrap().to_string(), "libvirt:web1");
        assert!(matches!(
            parse("libvirt:"),
            Err(TargetParseError::EmptyDomain(_))
        ));
        assert!(matches!(
            parse("libvirt:a@"),
            Err(TargetParseError::EmptyDomain(_))
        ));
        assert!(matches!(parse("pve:1x"), Err(TargetParseError::BadVmid(_))));
        // Without the test override the VM's socket is Proxmox's own path.
        if std::env::var_os(PROXMOX_DIR_ENV).is_none() {
            let t = parse("pve:100").unwrap();
            assert_eq!(t, Target::Unix("/var/run/qemu-server/100.qmp".into()));
            assert!(t.owned_by_others());
            assert!(Target::Unix("/run/qemu-server/7.qmp".into()).owned_by_others());
            assert!(!Target::Unix("/run/qemu/7.qmp".into()).owned_by_others());
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "unix:/tmp/q.sock",
            "tcp:127.0.0.1:1",
            "tcp:[::1]:65535",
            "tcp:host:22",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
        assert_eq!(parse("/x/y").unwrap().to_string(), "unix:/x/y");
    }

    #[test]
    fn clear_errors() {
        assert_eq!(parse(""), Err(TargetParseError::Empty));
        assert!(matches!(
            parse("unix:"),
            Err(TargetParseError::EmptyPath(_))
        ));
        assert!(matches!(
            parse("tcp:localhost"),
            Err(TargetParseError::MissingPort(_))
        ));
        assert!(matches!(
            parse("tcp::44"),
            Err(TargetParseError::EmptyHost(_))
        ));
        assert!(matches!(
            parse("tcp:[]:44"),
            Err(TargetParseError::EmptyHost(_))
        ));
        assert!(matches!(
            parse("tcp:h:0"),
            Err(TargetParseError::BadPort { .. })
        ));
        assert!(matches!(
            parse("tcp:h:70000"),
            Err(TargetParseError::BadPort { .. })
        ));
        assert!(matches!(
            parse("tcp:h:"),
            Err(TargetParseError::BadPort { .. })
        ));
        assert!(matches!(
            parse("tcp:::1:44"),
            Err(TargetParseError::UnbracketedIpv6(_))
        ));
        assert!(matches!(
            parse("tcp:[::1:44"),
            Err(TargetParseError::UnbracketedIpv6(_))
        ));
        let err = parse("telnet:localhost:4444").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'telnet:localhost:4444': unsupported scheme 'telnet'; use unix:PATH, \
             tcp:HOST:PORT, libvirt:DOMAIN[@URI] or pve:VMID"
        );
        let err = parse("tcp:h:x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'tcp:h:x': port 'x' is not a number from 1 to 65535"
        );
    }
}
