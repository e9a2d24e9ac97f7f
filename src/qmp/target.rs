//! Where a QMP socket is: `unix:PATH`, `tcp:HOST:PORT` or a bare path.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The address of a QMP server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
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
    #[error("'{target}': unsupported scheme '{scheme}'; use unix:PATH or tcp:HOST:PORT")]
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
            "'telnet:localhost:4444': unsupported scheme 'telnet'; use unix:PATH or tcp:HOST:PORT"
        );
        let err = parse("tcp:h:x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'tcp:h:x': port 'x' is not a number from 1 to 65535"
        );
    }
}
