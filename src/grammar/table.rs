//! Reading the `grammar/*.hmp` tables.
//!
//! The format, one entry per command (like QEMU's hx files):
//!
//! ```text
//! # comment
//! [block_resize]
//! versions: 7.2 10.0
//! args:     device:B,size:o
//! params:   device size
//! help:     change the size of a block device
//! qmp:      block_resize {"device": "$device", "size": "$size"}
//! ```
//!
//! Fields may be given for some profiles only with `field@7.2:` or
//! `field@5.2,7.2:`. See
//! `grammar/README.md` for every field.

use super::args_type::ArgsType;
use super::entry_builder::{Builder, Field, FIELDS};
use super::profile::Profile;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, space0};
use nom::combinator::{opt, rest};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// Where something was written in a table file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A malformed table: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct GrammarError {
    pub location: Location,
    pub message: String,
}

/// A value that may differ between QEMU versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub default: T,
    pub overrides: Vec<(Profile, T)>,
}

impl<T> Versioned<T> {
    pub fn new(default: T) -> Self {
        Versioned {
            default,
            overrides: Vec::new(),
        }
    }

    /// The value for one profile.
    pub fn get(&self, profile: Profile) -> &T {
        self.overrides
            .iter()
            .find(|(p, _)| *p == profile)
            .map(|(_, v)| v)
            .unwrap_or(&self.default)
    }
}

/// One QMP command a line becomes, with its argument template.
///
/// The template is JSON in which a string `"$name"` stands for the parsed
/// argument `name` (the member is dropped when the argument is absent); see
/// `crate::translate` for the full placeholder language.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpCall {
    pub command: String,
    pub template: Option<serde_json::Value>,
}

/// How a command is carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum QmpMapping {
    /// No QMP equivalent: sent through `human-monitor-command`.
    HmpOnly,
    /// Answered by qhmp itself (`help`, bare `info`).
    Local,
    /// Translated by a named routine in `crate::translate::special`.
    Special(String),
    /// These QMP commands, in order.
    Calls(Vec<QmpCall>),
}

/// One command of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The full table name with `|` aliases, e.g. `cont|c`.
    pub name: String,
    pub versions: Vec<Profile>,
    pub args_type: Versioned<ArgsType>,
    pub params: Versioned<String>,
    pub help: String,
    pub qmp: Versioned<QmpMapping>,
    /// The renderer for the reply, when the command prints something.
    pub render: Option<String>,
    /// The table searched for the next word (only `info` has one).
    pub subtable: Option<String>,
    /// QEMU prints this command's errors bare, without the `Error: ` prefix
    /// (`errors: plain`; its handler reports them with `error_report`).
    pub plain_errors: bool,
    /// QEMU's own HMP has the last word (`errors: hmp`): a value qhmp cannot
    /// type exactly as QEMU's HMP handler would, and a request QEMU refuses
    /// (which changed nothing), go through `human-monitor-command`, so the
    /// accept set and the messages are the connected QEMU's.
    pub hmp_errors: bool,
    /// Where Tab finds values for an argument (`complete: id=device-ids`):
    /// a named live source, or fixed words separated by `|`.
    pub completions: Vec<(String, String)>,
    /// The managed equivalent on a libvirt domain (`libvirt: virsh suspend DOMAIN`).
    pub libvirt: Option<String>,
    /// What the command does that cannot be undone (`confirm: ends the
    /// VM`): the prompt asks before running it, naming the VM.
    pub confirm: Option<String>,
    pub location: Location,
}

impl Entry {
    /// The names the command answers to (`cont`, `c`).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.name.split('|')
    }

    /// The first name (`cont` for `cont|c`).
    pub fn primary_name(&self) -> &str {
        self.names().next().unwrap_or(&self.name)
    }

    /// True when `token` equals one of the names exactly.
    pub fn answers_to(&self, token: &str) -> bool {
        self.names().any(|n| n == token)
    }

    pub fn exists_in(&self, profile: Profile) -> bool {
        self.versions.contains(&profile)
    }

    /// The completion source named for an argument, if any.
    pub fn completion(&self, arg: &str) -> Option<&str> {
        self.completions
            .iter()
            .find(|(name, _)| name == arg)
            .map(|(_, source)| source.as_str())
    }
}

/// A command table, kept in QEMU's order (`strcmp` of the full names).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub entries: Vec<Entry>,
}

impl Table {
    /// The entry a command-name token selects in a profile.
    pub fn lookup(&self, token: &str, profile: Profile) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.exists_in(profile) && e.answers_to(token))
    }

    /// Entries that exist in a profile, in help order.
    pub fn entries_for(&self, profile: Profile) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.exists_in(profile))
    }
}

/// All tables: `commands` (top level) and the sub-tables it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Grammar {
    pub tables: Vec<Table>,
}

/// The table files embedded in the binary, as `(file name, text)`.
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[
    (
        "grammar/commands.hmp",
        include_str!("../../grammar/commands.hmp"),
    ),
    ("grammar/info.hmp", include_str!("../../grammar/info.hmp")),
];

impl Grammar {
    /// The embedded tables. They are checked by the test suite, so a failure
    /// here means a broken build; it is reported rather than panicking.
    pub fn builtin() -> Result<&'static Grammar, &'static GrammarError> {
        static BUILTIN: OnceLock<Result<Grammar, GrammarError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Grammar::from_sources(BUILTIN_SOURCES))
            .as_ref()
    }

    /// Parses table files; the table name is the file stem.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Grammar, GrammarError> {
        let mut tables = Vec::new();
        for (file, text) in sources {
            let name = std::path::Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(file)
                .to_string();
            tables.push(parse_table(&name, file, text)?);
        }
        let grammar = Grammar { tables };
        grammar.check_subtables()?;
        Ok(grammar)
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The top-level table.
    pub fn commands(&self) -> &Table {
        self.table("commands").unwrap_or(&self.tables[0])
    }

    fn check_subtables(&self) -> Result<(), GrammarError> {
        if self.tables.is_empty() {
            return Err(GrammarError {
                location: Location {
                    file: "<grammar>".into(),
                    line: 1,
                    column: 1,
                },
                message: "expected at least one table file".into(),
            });
        }
        for t in &self.tables {
            for e in &t.entries {
                if let Some(sub) = &e.subtable {
                    if self.table(sub).is_none() {
                        return Err(GrammarError {
                            location: e.location.clone(),
                            message: format!("expected a table named '{sub}' for 'subtable'"),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse_table(table: &str, file: &str, text: &str) -> Result<Table, GrammarError> {
    let mut entries = Vec::new();
    let mut current: Option<Builder> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let at = |column: usize| Location {
            file: file.to_string(),
            line: line_no,
            column,
        };
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        if trimmed.starts_with('[') {
            match header(trimmed) {
                Ok((_, name)) => {
                    if let Some(b) = current.take() {
                        entries.push(b.finish()?);
                    }
                    current = Some(Builder {
                        name: name.to_string(),
                        location: at(indent + 1),
                        fields: Vec::new(),
                    });
                }
                Err(e) => {
                    let column = indent + 1 + offset_of(trimmed, &e);
                    return Err(GrammarError {
                        location: at(column),
                        message: "expected '[name]' or '[name|alias]' on its own line".into(),
                    });
                }
            }
            continue;
        }
        let Some(builder) = current.as_mut() else {
            return Err(GrammarError {
                location: at(indent + 1),
                message: "expected an entry header '[name]' before the first field".into(),
            });
        };
        match field(trimmed) {
            Ok((_, (key, profile, value))) => {
                if !FIELDS.contains(&key) {
                    return Err(GrammarError {
                        location: at(indent + 1),
                        message: format!(
                            "expected a field name (one of {}), found '{key}'",
                            FIELDS.join(", ")
                        ),
                    });
                }
                let value_column = indent + 1 + (trimmed.len() - value.len());
                // `field@5.2,7.2:` is the same override for each listed version.
                let profiles = match profile {
                    None => vec![None],
                    Some(list) => list
                        .split(',')
                        .map(|p| {
                            p.parse::<Profile>().map(Some).map_err(|msg| GrammarError {
                                location: at(indent + 1 + key.len() + 1),
                                message: format!("expected a known QEMU version after '@': {msg}"),
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                };
                for profile in profiles {
                    builder.fields.push(Field {
                        key: key.to_string(),
                        profile,
                        value: unescape(value.trim_end()),
                        location: at(indent + 1),
                        value_column,
                    });
                }
            }
            Err(e) => {
                let column = indent + 1 + offset_of(trimmed, &e);
                return Err(GrammarError {
                    location: at(column),
                    message: "expected 'field: value' or 'field@version: value'".into(),
                });
            }
        }
    }
    if let Some(b) = current.take() {
        entries.push(b.finish()?);
    }
    if let Some((a, b)) = first_duplicate(&entries) {
        return Err(GrammarError {
            location: b.location.clone(),
            message: format!(
                "entry '{}' clashes with '{}' at {}",
                b.name, a.name, a.location
            ),
        });
    }
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(Table {
        name: table.to_string(),
        entries,
    })
}

/// Two entries that share a name in a common profile: the first entry `b`
/// that clashes with an earlier one, and the earliest such `a`. A map from
/// (name, profile) to the first entry keeps this linear, as every run of qhmp
/// reads the tables.
fn first_duplicate(entries: &[Entry]) -> Option<(&Entry, &Entry)> {
    let mut first: HashMap<(&str, Profile), usize> = HashMap::with_capacity(entries.len() * 4);
    for (i, b) in entries.iter().enumerate() {
        let clash = b
            .names()
            .flat_map(|n| b.versions.iter().map(move |p| (n, *p)))
            .filter_map(|key| first.get(&key).copied())
            .min();
        if let Some(a) = clash.and_then(|a| entries.get(a)) {
            return Some((a, b));
        }
        for name in b.names() {
            for p in &b.versions {
                first.entry((name, *p)).or_insert(i);
            }
        }
    }
    None
}

fn offset_of(input: &str, err: &nom::Err<nom::error::Error<&str>>) -> usize {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => input.len() - e.input.len(),
        nom::Err::Incomplete(_) => input.len(),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '?')
}

fn header(input: &str) -> IResult<&str, &str> {
    let (rest_of_line, name) =
        delimited(char('['), take_while1(is_name_char), char(']')).parse(input)?;
    let (after, _) = space0(rest_of_line)?;
    if after.is_empty() {
        Ok((after, name))
    } else {
        Err(nom::Err::Error(nom::error::Error::new(
            after,
            nom::error::ErrorKind::Eof,
        )))
    }
}

type FieldParts<'a> = (&'a str, Option<&'a str>, &'a str);

fn field(input: &str) -> IResult<&str, FieldParts<'_>> {
    let (input, key) = take_while1(|c: char| c.is_ascii_lowercase() || c == '-')(input)?;
    let (input, profile) = opt(preceded(
        tag("@"),
        take_while1(|c: char| c.is_ascii_digit() || c == '.' || c == ','),
    ))
    .parse(input)?;
    let (input, _) = char(':')(input)?;
    let (input, _) = space0(input)?;
    let (input, value) = rest(input)?;
    Ok((input, (key, profile, value)))
}

/// `\n`, `\t` and `\\` in values, so multi-line usage strings fit on one line.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}
