//! The declarative command tables (`grammar/*.hmp`) and their in-memory form.
//!
//! The tables are the one source of truth for the parser, `help`, completion,
//! the man page and the QMP mapping.

#[cfg(test)]
mod builtin_tests;

pub mod args_type;
pub mod effects;
mod entry_builder;
pub mod profile;
pub mod table;

pub use args_type::{ArgKind, ArgSpec, ArgsType, Optionality};
pub use effects::{Effect, Effects};
pub use profile::Profile;
pub use table::{Entry, Grammar, GrammarError, Location, QmpCall, QmpMapping, Table, Versioned};
