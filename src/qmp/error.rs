//! What can go wrong talking QMP.

use super::decoder::DecodeError;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// A failure of the QMP transport (never a QMP error reply: those are
/// [`super::QmpErrorReply`] inside an `Ok`).
///
/// Cloneable so that one fatal stream error can be handed to every request
/// waiting on the connection and to every later call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be opened.
    #[error("cannot connect to QMP at {target}: {source}{hint}")]
    Connect {
        target: String,
        #[source]
        source: Arc<io::Error>,
        /// Advice for the common cases, starting with "; " (or empty).
        hint: String,
    },
    /// Opening the socket took longer than `connect_timeout`.
    #[error("cannot connect to QMP at {target}: no answer within {timeout:?}")]
    ConnectTimeout { target: String, timeout: Duration },
    /// The bridge to a libvirt domain could not be set up (says why and
    /// which package is missing, when one is).
    #[error("cannot reach the libvirt domain: {0}")]
    Bridge(String),
    /// The connection was accepted but QEMU never greeted.
    #[error(
        "no QMP greeting within {timeout:?}: either this is not a QMP socket (something \
         that stays silent, such as a chardev socket), or another QMP client holds it \
         (QEMU serves one client per QMP socket; a further connection is accepted by the \
         kernel but never greeted until the first one disconnects)"
    )]
    NoGreeting { timeout: Duration },
    /// The first message was not a QMP greeting.
    #[error("invalid QMP greeting: {0}")]
    BadGreeting(String),
    /// `qmp_capabilities` was refused or went unanswered.
    #[error("QMP capabilities negotiation failed: {0}")]
    Negotiation(String),
    /// QEMU closed the connection (it exited, or dropped this client);
    /// `partial` quotes the start of a message it cut short.
    #[error("QEMU closed the QMP connection{}", cut_short(.partial))]
    Eof { partial: Option<String> },
    /// Reading or writing the socket failed.
    #[error("QMP connection I/O error: {0}")]
    Io(#[source] Arc<io::Error>),
    /// QEMU sent bytes that are not well-formed QMP JSON.
    #[error("malformed data from QEMU: {0}")]
    Decode(#[from] DecodeError),
    /// QEMU sent well-formed JSON that breaks the protocol.
    #[error("QMP protocol violation: {0}")]
    Protocol(String),
    /// No reply came within the request's time limit (the connection stays usable).
    #[error("no reply to '{command}' within {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    /// `exec-oob` was asked for but not negotiated.
    #[error("out-of-band execution is not available: QEMU did not offer the 'oob' capability or it was not enabled")]
    OobUnavailable,
    /// The request could not be sent as asked.
    #[error("invalid QMP request: {0}")]
    InvalidRequest(String),
    /// [`super::Client::close`] was called.
    #[error("the QMP client was closed")]
    Closed,
}

impl ClientError {
    /// A connect failure, with advice for the errors operators hit most.
    pub fn connect(target: &impl std::fmt::Display, source: io::Error) -> ClientError {
        let hint = match source.kind() {
            io::ErrorKind::NotFound => {
                "; no such socket: is QEMU running with -qmp unix:PATH,server=on,wait=off \
                 (or -chardev socket,server=on + -mon mode=control), and is the path right?"
            }
            io::ErrorKind::ConnectionRefused => {
                "; nothing is listening: QEMU is not running, or it exited and left a stale socket"
            }
            io::ErrorKind::PermissionDenied => {
                "; permission denied: run as a user allowed to open the socket \
                 (often root or the owner of the QEMU process)"
            }
            _ => "",
        };
        ClientError::Connect {
            target: target.to_string(),
            source: Arc::new(source),
            hint: hint.to_string(),
        }
    }

    /// A TCP connect failure: a refused port has no socket file to go stale.
    pub fn connect_tcp(target: &impl std::fmt::Display, source: io::Error) -> ClientError {
        let refused = source.kind() == io::ErrorKind::ConnectionRefused;
        let mut error = ClientError::connect(target, source);
        if let (true, ClientError::Connect { hint, .. }) = (refused, &mut error) {
            *hint = "; nothing is listening on that port: is QEMU running with \
                     -qmp tcp:HOST:PORT,server=on,wait=off, and are the host and port right?"
                .to_string();
        }
        error
    }

    /// What went wrong reading the greeting: bytes that are no QMP JSON
    /// mean the socket is something else (an HMP monitor, a serial port).
    pub fn not_qmp(error: ClientError) -> ClientError {
        match error {
            ClientError::Decode(e) => ClientError::BadGreeting(format!(
                "this is not a QMP socket ({e}); an HMP monitor (-monitor) or a chardev \
                 socket talks text, QMP needs -qmp PATH,server=on or -mon mode=control"
            )),
            other => other,
        }
    }

    /// True for errors that end the connection (every later call fails with
    /// the same error); false for per-request ones such as a timeout.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ClientError::Timeout { .. }
                | ClientError::OobUnavailable
                | ClientError::InvalidRequest(_)
                // An oversized reply fails its request; the stream goes on.
                | ClientError::Decode(DecodeError::TooLong { .. })
        )
    }
}

fn cut_short(partial: &Option<String>) -> String {
    partial
        .as_ref()
        .map(|p| format!(" in the middle of a message starting {p}"))
        .unwrap_or_default()
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> ClientError {
        ClientError::Io(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_port_is_not_called_a_stale_socket() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let tcp = ClientError::connect_tcp(&"tcp:127.0.0.1:1", refused()).to_string();
        assert!(tcp.contains("nothing is listening on that port"), "{tcp}");
        assert!(!tcp.contains("stale"), "{tcp}");
        let unix = ClientError::connect(&"unix:/x", refused()).to_string();
        assert!(unix.contains("stale socket"), "{unix}");
    }

    #[test]
    fn text_instead_of_a_greeting_is_no_qmp_socket() {
        let decode = DecodeError::NotAnObject {
            excerpt: "QEMU 10.0.2 monitor".into(),
        };
        let error = ClientError::not_qmp(ClientError::Decode(decode)).to_string();
        assert!(error.contains("this is not a QMP socket"), "{error}");
        assert!(!error.contains("another QMP client"), "{error}");
    }
}
