//! One HMP command line → the entry it names and its typed arguments.

use super::args::parse_arguments;
use super::command::find_command;
use super::cursor::Cursor;
use super::error::{char_column, ParseError};
use super::format::FormatDefaults;
use super::value::Args;
use crate::grammar::{Entry, Grammar, Profile};

/// A line QEMU would accept, ready to be carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCommand<'g> {
    /// The command run (for `info block`: the `block` entry of the `info`
    /// table).
    pub entry: &'g Entry,
    /// The entries named, outermost first: `[info, block]`; `[entry]` for a
    /// top-level command.
    pub path: Vec<&'g Entry>,
    /// Typed arguments keyed by `args_type` names; absent optionals absent.
    pub args: Args,
    /// The command as the user spelled it, exactly as QEMU quotes it in
    /// `Try "help X" for more information`: the line from its very start
    /// (leading blanks included) to the end of the command name(s), e.g.
    /// `info block`, `c`.
    pub spelled: String,
    /// What QEMU writes to its own stderr while parsing such a line
    /// (deprecated option forms), one message per item, possibly
    /// multi-line. Never part of the monitor's text.
    pub warnings: Vec<String>,
}

/// Parses one line the way QEMU's HMP does. `Ok(None)` for a blank line.
///
/// `defaults` are the remembered `/fmt` format and size; like QEMU, they are
/// updated as the `/fmt` argument is read, even if a later argument fails.
/// A NUL ends the line, as it ends QEMU's C string.
pub fn parse_line<'g>(
    grammar: &'g Grammar,
    profile: Profile,
    line: &str,
    defaults: &mut FormatDefaults,
) -> Result<Option<ParsedCommand<'g>>, ParseError> {
    let line = line.split('\0').next().unwrap_or("");
    let Some(found) = find_command(grammar, profile, line)? else {
        return Ok(None);
    };
    let Some(entry) = found.path.last().copied() else {
        return Ok(None);
    };
    let mut cur = Cursor::new(line.as_bytes(), found.args_start);
    let spelled = cur.text(0, found.name_end);
    match parse_arguments(entry, profile, &mut cur, defaults) {
        Ok(parsed) => Ok(Some(ParsedCommand {
            entry,
            path: found.path,
            args: parsed.args,
            spelled,
            warnings: parsed.warnings,
        })),
        Err(f) => Err(ParseError {
            message: f.message,
            detail: f.detail,
            column: char_column(line, f.at),
            try_help: Some(spelled),
            no_newline: f.no_newline,
        }),
    }
}
