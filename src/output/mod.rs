//! Showing results to a person or a script: the output formats, how a
//! command's response is printed in each, and the process exit status.
//! Shared by the one-shot CLI and the interactive prompt, and below both.

mod exit;
pub mod secrets;
mod suggest;

pub use exit::Exit;
pub use suggest::did_you_mean;

use crate::monitor::Response;
use crate::parse::ParseError;
use std::io::{IsTerminal, Write};

/// How command output is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text byte-identical to QEMU's own human monitor.
    Classic,
    /// Readable tables (the default on a terminal).
    Table,
    /// The QMP return values as JSON, one document per command.
    Json,
}

/// Prints a command's output in the chosen format.
pub fn print_response(response: &Response, format: Format) {
    let mut out = std::io::stdout().lock();
    let table = match (format, &response.renderer) {
        (Format::Table, Some(name)) => crate::render::table::render_with(
            name,
            &response.replies,
            &response.table_context,
            table_style(),
        ),
        _ => None,
    };
    if let Some(table) = table {
        let _ = out.write_all(table.as_bytes());
        let _ = out.flush();
        return;
    }
    let _ = match format {
        // Answered without QMP (help, refusals): there is only the text.
        Format::Json if response.replies.is_empty() => out.write_all(response.text.as_bytes()),
        Format::Json => {
            let doc = match response.replies.as_slice() {
                [one] => one.clone(),
                many => serde_json::Value::Array(many.to_vec()),
            };
            writeln!(out, "{doc}")
        }
        // QEMU's words on a terminal: escape sequences in them (a VM name,
        // an error echoing a client's input) are shown, never obeyed. Pipes
        // and files get QEMU's bytes.
        Format::Classic | Format::Table if std::io::stdout().is_terminal() => {
            out.write_all(crate::render::escape_controls(&response.text).as_bytes())
        }
        Format::Classic | Format::Table => out.write_all(response.text.as_bytes()),
    };
    let _ = out.flush();
}

/// Prints a parse error with a caret under the offending spot.
pub fn report_parse_error(line: &str, error: &ParseError) {
    // QEMU's monitor shows nothing of its own for a bad option string (its
    // cause goes to QEMU's stderr): that cause is then our first line.
    match (error.message.is_empty(), &error.detail) {
        (true, Some(detail)) => eprintln!("qhmp: {detail}"),
        (false, Some(detail)) => eprintln!("qhmp: {}\nqhmp: ({detail})", error.message),
        (_, None) => eprintln!("qhmp: {error}"),
    }
    for l in error.caret(line).lines() {
        eprintln!("    {l}");
    }
    if let Some(spelled) = &error.try_help {
        eprintln!("Try \"help {spelled}\" for more information");
    }
}

/// [`report_parse_error`] at a prompt: an unknown command is followed by a
/// suggestion (`Did you mean "info spice"?`). One-shot output keeps QEMU's
/// words alone, for scripts that compare them.
pub fn report_parse_error_at_prompt(line: &str, error: &ParseError) {
    report_parse_error(line, error);
    let grammar = crate::grammar::Grammar::builtin().ok();
    if let Some(hint) = grammar.and_then(|g| did_you_mean(g, &error.message)) {
        eprintln!("{hint}");
    }
}

/// Table look for standard output: the terminal's width (`$COLUMNS` when
/// set), and box drawing with colour only on a terminal that can show them.
pub fn table_style() -> crate::render::table::TableStyle {
    let terminal = std::io::stdout().is_terminal();
    let env = |name: &str| std::env::var(name).ok();
    crate::render::table::TableStyle {
        width: terminal_width(env("COLUMNS").as_deref()),
        fancy: terminal && plain_reasons(env).is_none(),
    }
}

/// Columns of standard output: `$COLUMNS` when set, else the terminal's
/// own width, else 100 (a pipe or a file).
pub fn terminal_width(columns: Option<&str>) -> u16 {
    columns
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &u16| c > 0)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .unwrap_or(100)
}

/// Why output must stay plain (no colour, ASCII borders), if it must:
/// `NO_COLOR`, a `dumb` terminal, or a locale whose characters are not UTF-8.
pub fn plain_reasons(env: impl Fn(&str) -> Option<String>) -> Option<&'static str> {
    if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return Some("NO_COLOR");
    }
    if env("TERM").is_some_and(|t| t == "dumb") {
        return Some("TERM=dumb");
    }
    // The first of these that is set decides the character set, as in C.
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| env(name).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "C".into())
        .to_ascii_lowercase();
    if !(locale.contains("utf-8") || locale.contains("utf8")) {
        return Some("a locale without UTF-8");
    }
    None
}

/// The format when none is asked for: tables on a terminal, QEMU's text
/// for pipes and files.
pub fn default_format() -> Format {
    if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Classic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn plain_for_no_color_dumb_terminals_and_non_utf8_locales() {
        assert_eq!(plain_reasons(env(&[("LANG", "en_US.UTF-8")])), None);
        assert_eq!(plain_reasons(env(&[("LC_ALL", "C.utf8")])), None);
        assert!(plain_reasons(env(&[("LANG", "en_US.UTF-8"), ("TERM", "dumb")])).is_some());
        assert!(plain_reasons(env(&[("LANG", "en_US.UTF-8"), ("NO_COLOR", "1")])).is_some());
        assert!(plain_reasons(env(&[("LANG", "en_US.UTF-8"), ("LC_ALL", "C")])).is_some());
        assert!(plain_reasons(env(&[])).is_some());
    }

    #[test]
    fn columns_wins_when_set() {
        assert_eq!(terminal_width(Some("80")), 80);
        assert_eq!(terminal_width(Some(" 200 ")), 200);
    }
}
