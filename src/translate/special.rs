//! Translations no argument template can express.

use super::{Plan, QemuFacts, TranslateError};
use crate::grammar::Entry;
use crate::parse::Args;

pub fn translate(name: &str, entry: &Entry, _args: &Args, line: &str, _facts: &QemuFacts) -> Result<Plan, TranslateError> {
    match name {
        "qom_tree" => Ok(Plan::Walk { routine: name.to_string() }),
        _ => {
            let _ = line;
            Err(TranslateError::UnknownSpecial { command: entry.name.clone(), name: name.to_string() })
        }
    }
}
