//! Why a monitor command did not run.

use crate::grammar::GrammarError;
use crate::parse::ParseError;
use crate::qmp::ClientError;
use crate::render::RenderError;
use crate::translate::TranslateError;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("{0}")]
    Connect(ClientError),
    #[error("{0}")]
    Transport(ClientError),
    #[error("{}", .error.message)]
    Parse { error: ParseError, line: String },
    #[error("{0}")]
    Translate(TranslateError),
    #[error("{0}")]
    Render(RenderError),
    #[error("built-in grammar: {0}")]
    Grammar(GrammarError),
    #[error("QEMU did not report its version (query-version failed)")]
    NoVersion,
    #[error("{0}")]
    Walk(String),
    /// The caller's check refused the line (see
    /// [`Monitor::human_monitor_command_checked`](super::Monitor::human_monitor_command_checked)).
    #[error("{0}")]
    Refused(String),
}
