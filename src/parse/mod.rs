//! The line parser: one HMP command line → the entry it names and its typed
//! arguments, with QEMU's semantics and error texts.

mod value;

pub use value::{ArgValue, Args};
