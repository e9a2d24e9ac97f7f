//! QMP transport: connects to QEMU's QMP socket, negotiates capabilities,
//! sends requests and routes replies and events. It knows nothing of HMP.
//!
//! ```text
//! target   where the socket is (unix:PATH, tcp:HOST:PORT, a bare path, libvirt:, pve:)
//! libvirt  a libvirt domain through libvirt's QMP bridge
//! decoder  byte stream → JSON messages, with a size cap
//! message  greeting, replies, events
//! client   the shareable handle; connection: its reader and writer tasks
//! error    what can go wrong
//! ```

mod client;
mod connection;
pub mod decoder;
mod error;
pub mod holder;
pub mod libvirt;
pub mod message;
pub mod target;

pub use client::{Client, ClientConfig, Gate};
pub use decoder::{DecodeError, LineDecoder, DEFAULT_MAX_LINE};
pub use error::ClientError;
pub use message::{Event, Greeting, QmpErrorReply, Reply};
pub use target::{Target, TargetParseError};
