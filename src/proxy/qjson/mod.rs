//! QMP's JSON as QEMU reads and writes it.
//!
//! Clients of the proxy must get the same answers as from QEMU itself, also
//! for bytes that are not valid JSON, so the proxy reads their streams with
//! QEMU's rules (including its extensions and its error texts) and writes
//! every message in QEMU's exact layout.

mod parser;
pub mod reader;
pub mod utf8;
pub mod writer;

pub use reader::{Message, Reader};
pub use writer::{message_line, qdict_bucket, to_qemu_json};
