//! The line editor's helper: completion, a parameter hint after the command
//! name, and hiding what is typed at a password prompt.

use super::completion::complete;
use super::completion::LiveSource;
use crate::grammar::{Grammar, Profile};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::{Context, Helper, Validator};
use std::borrow::Cow;

#[derive(Helper, Validator)]
pub struct MonitorHelper {
    pub grammar: &'static Grammar,
    pub profile: Profile,
    pub live: Box<dyn LiveSource>,
    files: FilenameCompleter,
    /// Set while reading a password: the line is drawn as blanks.
    pub masking: bool,
    /// No colour (NO_COLOR, TERM=dumb, a locale without UTF-8).
    plain: bool,
}

impl MonitorHelper {
    pub fn new(grammar: &'static Grammar, profile: Profile, live: Box<dyn LiveSource>) -> Self {
        MonitorHelper {
            grammar,
            profile,
            live,
            files: FilenameCompleter::new(),
            masking: false,
            plain: crate::output::plain_reasons(|name| std::env::var(name).ok()).is_some(),
        }
    }

    /// The usage of the command named so far (`eject ` → `[-f] device`).
    fn params_hint(&self, line: &str) -> Option<String> {
        if !line.ends_with(char::is_whitespace) {
            return None;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut entry = self
            .grammar
            .commands()
            .lookup(words.first()?, self.profile)?;
        let mut rest = &words[1..];
        if let Some(sub) = entry
            .subtable
            .as_deref()
            .and_then(|t| self.grammar.table(t))
        {
            entry = sub.lookup(rest.first()?, self.profile)?;
            rest = &rest[1..];
        }
        if !rest.is_empty() {
            return None;
        }
        let params = entry.params.get(self.profile);
        let first_line = params.lines().next().unwrap_or_default().trim();
        (!first_line.is_empty()).then(|| first_line.to_string())
    }
}

impl Completer for MonitorHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if self.masking {
            return Ok((pos, Vec::new()));
        }
        let before = line.get(..pos).unwrap_or(line);
        let done = complete(self.grammar, self.profile, self.live.as_ref(), before);
        if done.filename {
            return self.files.complete(line, pos, ctx);
        }
        let pairs = done
            .candidates
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((done.start, pairs))
    }
}

/// A hint that is only shown: Right arrow must not paste `device` into the line.
pub struct ParamsHint(String);

impl Hint for ParamsHint {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for MonitorHelper {
    type Hint = ParamsHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<ParamsHint> {
        if self.masking || pos < line.len() {
            return None;
        }
        self.params_hint(line).map(ParamsHint)
    }
}

impl Highlighter for MonitorHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.masking {
            // Same width, nothing readable (and no length shown past the cursor).
            Cow::Owned(" ".repeat(line.chars().count()))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.plain {
            Cow::Borrowed(hint)
        } else {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.masking && kind != CmdKind::MoveCursor
    }
}
