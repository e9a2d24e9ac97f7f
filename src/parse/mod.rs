//! The line parser: one HMP command line → the entry it names and its typed
//! arguments, with QEMU's semantics and error texts.
//!
//! QEMU's parser works on the bytes of a C string, and so does this one: the
//! pieces below mirror its steps one by one (command lookup, tokenizer,
//! integer expressions, sizes, times, `/fmt`, option strings), each with
//! the messages QEMU prints.

mod args;
mod command;
mod cursor;
mod error;
mod expr;
mod format;
mod line;
mod numeric;
mod opts;
mod size;
mod time;
mod tokenizer;
mod value;
mod words;

pub use error::ParseError;
pub use format::FormatDefaults;
pub use line::{parse_line, ParsedCommand};
pub use value::{ArgValue, Args};
pub use words::{parse_option_items, parse_option_string, split_words};

#[cfg(test)]
mod line_tests;
