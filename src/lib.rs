//! qhmp — QEMU's human monitor (HMP) on top of QMP.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! grammar  → parse      → translate     → qmp        → render
//! (tables)   (line →      (typed args →   (transport)  (reply →
//!             typed args)  QMP requests)                text/table/json)
//! ```
//!
//! Each stage depends only on the ones before it; the transport knows nothing
//! of HMP and the renderers know nothing of sockets.

pub mod cli;
pub mod fleet;
pub mod grammar;
pub mod help;
pub mod monitor;
pub mod output;
pub mod parse;
pub mod proxy;
pub mod qjson;
pub mod qmp;
pub mod render;
pub mod repl;
pub mod sim;
pub mod train;
pub mod translate;
pub mod version;
