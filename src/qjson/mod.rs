//! QMP's JSON as QEMU reads and writes it.
//!
//! Clients of the proxy and of the simulator must get the same bytes as from
//! QEMU itself, also for input that is not valid JSON: client streams are
//! read with QEMU's rules (including its extensions and its error texts) and
//! every message is written in QEMU's exact layout.

mod parser;
pub mod reader;
pub mod utf8;
pub mod writer;

pub use reader::{Message, Reader};
pub use writer::{format_g17, message_line, qdict_bucket, to_qemu_json, to_qemu_json_in_order};
