//! Finding the command a line names: the first word (up to a blank or `/`)
//! in the top-level table, then, for entries with a sub-table (`info`), the
//! next word in that table.

use super::cursor::{is_space, Cursor};
use super::error::{char_column, ParseError};
use crate::grammar::{Entry, Grammar, Profile, Table};

/// QEMU copies the command word into a 256-byte buffer.
const NAME_MAX: usize = 255;

/// The entries a line names, outermost first, and where arguments start.
#[derive(Debug)]
pub(crate) struct Found<'g> {
    pub path: Vec<&'g Entry>,
    /// Byte offset after the last name and the blanks after it.
    pub args_start: usize,
    /// Byte offset just after the last name.
    pub name_end: usize,
}

fn lookup<'g>(table: &'g Table, profile: Profile, name: &[u8]) -> Option<&'g Entry> {
    table
        .entries_for(profile)
        .find(|e| e.names().any(|n| n.as_bytes() == name))
}

/// `Ok(None)` for a blank line; an unknown word is QEMU's
/// `unknown command: '…'`, quoting the line from its start to the end of
/// that word.
pub(crate) fn find_command<'g>(
    grammar: &'g Grammar,
    profile: Profile,
    line: &str,
) -> Result<Option<Found<'g>>, ParseError> {
    let mut cur = Cursor::new(line.as_bytes(), 0);
    let mut table = grammar.commands();
    let mut path = Vec::new();
    loop {
        cur.skip_space();
        if cur.at_end() {
            // Only reachable for a blank line: sub-tables are entered only
            // when a word follows.
            return Ok(None);
        }
        let start = cur.pos;
        while !cur.at_end() && cur.peek() != b'/' && !is_space(cur.peek()) {
            cur.bump();
        }
        let name_end = cur.pos;
        let word = cur.slice(start, name_end);
        let name = word.get(..NAME_MAX).unwrap_or(word);
        let Some(entry) = lookup(table, profile, name) else {
            return Err(ParseError {
                message: format!("unknown command: '{}'", cur.text(0, name_end)),
                detail: None,
                column: char_column(line, start),
                try_help: None,
                no_newline: false,
            });
        };
        path.push(entry);
        cur.skip_space();
        let sub_table = entry.subtable.as_deref().and_then(|t| grammar.table(t));
        match sub_table {
            Some(sub) if !cur.at_end() => table = sub,
            _ => {
                return Ok(Some(Found {
                    path,
                    args_start: cur.pos,
                    name_end,
                }))
            }
        }
    }
}
