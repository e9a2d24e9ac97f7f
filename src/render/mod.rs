//! Renderers: QMP replies → what the operator sees. They know nothing of
//! sockets; they get the replies of the QMP calls a command became.

mod escape;
pub use escape::{escape_control_chars, escape_controls};
pub mod classic;
pub mod event;
pub mod table;

use crate::version::QemuVersion;

/// Replies as the transport delivers them (defined in `qmp`, which does not
/// depend on the renderers).
pub use crate::qmp::{QmpErrorReply, Reply};

/// What a renderer may need to know besides the replies.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Layouts follow the connected QEMU's version.
    pub version: QemuVersion,
    /// The monitor's current CPU index (`*` in `info cpus`).
    pub current_cpu: i64,
}

impl RenderContext {
    pub fn new(version: QemuVersion) -> Self {
        RenderContext {
            version,
            current_cpu: 0,
        }
    }
}

/// A renderer that cannot make sense of a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no renderer named '{0}'")]
    UnknownRenderer(String),
    #[error("unexpected reply shape for '{renderer}': {detail}")]
    BadReply { renderer: String, detail: String },
}
