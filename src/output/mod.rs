//! Showing results to a person or a script: the output formats, how a
//! command's response is printed in each, and the process exit status.
//! Shared by the one-shot CLI and the interactive prompt, and below both.

mod exit;
pub mod secrets;

pub use exit::Exit;

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
        (Format::Table, Some(name)) => {
            crate::render::table::render(name, &response.replies, table_style())
        }
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

/// Table look for standard output: its width and whether it is a terminal
/// that may show colour and box drawing.
pub fn table_style() -> crate::render::table::TableStyle {
    let terminal = std::io::stdout().is_terminal();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    crate::render::table::TableStyle {
        width,
        fancy: terminal && !no_color,
    }
}
