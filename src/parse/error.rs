//! Parse errors, carrying both QEMU's exact monitor text and what our own
//! users are shown.

use std::fmt;

/// A line QEMU's HMP would reject before running anything.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ParseError {
    /// QEMU's exact monitor text, no trailing newline (may span lines).
    /// Empty when QEMU prints nothing of its own, e.g. a bad `O` option
    /// string, whose cause QEMU writes to its stderr (see `detail`).
    pub message: String,
    /// A cause QEMU prints elsewhere (its stdout/stderr): `unterminated
    /// string`, `unsupported escape code: '\q'`, QemuOpts errors. Shown to
    /// our users, never part of [`ParseError::hmp_text`].
    pub detail: Option<String>,
    /// 0-based character index in the line of the offending spot.
    pub column: usize,
    /// The command as spelled, for `Try "help X" for more information`, when
    /// QEMU prints that line: the raw line from its very start (leading
    /// blanks included) to the end of the command name(s).
    pub try_help: Option<String>,
    /// QEMU's message ended in a NUL byte (`eject -` gives
    /// `unsupported option -` + NUL), which cuts the line: no newline follows
    /// `message`, so the `Try` text runs on in the same line.
    pub no_newline: bool,
}

impl ParseError {
    /// Exactly what native HMP prints, `\n` line ends.
    pub fn hmp_text(&self) -> String {
        let mut out = String::new();
        if !self.message.is_empty() {
            out.push_str(&self.message);
            if !self.no_newline {
                out.push('\n');
            }
        }
        if let Some(spelled) = &self.try_help {
            out.push_str(&format!("Try \"help {spelled}\" for more information\n"));
        }
        out
    }

    /// The line, a newline, and a `^` under the offending column (tabs in
    /// the line are repeated so the caret stays aligned).
    pub fn caret(&self, line: &str) -> String {
        let mut out = String::with_capacity(line.len() + self.column + 2);
        out.push_str(line);
        out.push('\n');
        for c in line.chars().take(self.column) {
            out.push(if c == '\t' { '\t' } else { ' ' });
        }
        out.push('^');
        out
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message.is_empty(), &self.detail) {
            (false, Some(d)) => write!(f, "{} ({d})", self.message),
            (false, None) => f.write_str(&self.message),
            (true, Some(d)) => f.write_str(d),
            (true, None) => f.write_str("invalid arguments"),
        }
    }
}

/// An argument-level failure before it is placed in its line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub message: String,
    pub detail: Option<String>,
    /// Byte offset in the line.
    pub at: usize,
    pub no_newline: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>, at: usize) -> Self {
        Failure {
            message: message.into(),
            detail: None,
            at,
            no_newline: false,
        }
    }

    pub fn with_detail(mut self, detail: Option<String>) -> Self {
        self.detail = detail;
        self
    }
}

/// The 0-based character index of a byte offset in `line`.
pub(crate) fn char_column(line: &str, byte_offset: usize) -> usize {
    line.char_indices()
        .take_while(|(i, _)| *i < byte_offset)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(message: &str, try_help: Option<&str>) -> ParseError {
        ParseError {
            message: message.into(),
            detail: None,
            column: 0,
            try_help: try_help.map(String::from),
            no_newline: false,
        }
    }

    #[test]
    fn hmp_text_has_message_then_try_line() {
        assert_eq!(
            err("cont|c: extraneous characters at the end of line", Some("c")).hmp_text(),
            "cont|c: extraneous characters at the end of line\nTry \"help c\" for more information\n"
        );
        assert_eq!(
            err("unknown command: 'foo'", None).hmp_text(),
            "unknown command: 'foo'\n"
        );
        assert_eq!(
            err("", Some("device_add")).hmp_text(),
            "Try \"help device_add\" for more information\n"
        );
    }

    #[test]
    fn nul_cut_message_runs_into_the_try_line() {
        let mut e = err("eject: unsupported option -", Some("eject"));
        e.no_newline = true;
        assert_eq!(
            e.hmp_text(),
            "eject: unsupported option -Try \"help eject\" for more information\n"
        );
    }

    #[test]
    fn caret_points_at_the_column() {
        let mut e = err("x", None);
        e.column = 3;
        assert_eq!(e.caret("p\t1 q"), "p\t1 q\n \t ^");
        e.column = 2;
        assert_eq!(e.caret("éé!"), "éé!\n  ^");
    }

    #[test]
    fn display_prefers_message_and_adds_detail() {
        let mut e = err("eject: block device name expected", Some("eject"));
        e.detail = Some("unterminated string".into());
        assert_eq!(
            e.to_string(),
            "eject: block device name expected (unterminated string)"
        );
        e.message.clear();
        assert_eq!(e.to_string(), "unterminated string");
    }

    #[test]
    fn char_column_counts_characters() {
        assert_eq!(char_column("éa", 2), 1);
        assert_eq!(char_column("éa", 3), 2);
        assert_eq!(char_column("ab", 99), 2);
    }
}
