//! One-shot mode: `qhmp -c LINE …`, lines on standard input, and `--dry-run`.

use super::{Cli, Exit, Format};
use crate::grammar::Grammar;
use crate::monitor::{Monitor, MonitorError, Response};
use crate::parse::{self, FormatDefaults, ParseError};
use crate::qmp::ClientConfig;
use crate::translate::{self, QemuFacts};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

/// Runs the lines in order on a connected monitor. Every line must parse
/// before anything is sent.
pub async fn run(cli: &Cli, mut monitor: Monitor, lines: &[String]) -> Exit {
    let format = cli.format.unwrap_or(Format::Classic);
    if cli.dry_run {
        return dry_run_for(
            lines,
            &QemuFacts {
                version: monitor.version().clone(),
                commands: None,
            },
        );
    }
    if let Some(exit) = check_all_parse(lines, &monitor) {
        return exit;
    }
    let mut status = Exit::Success;
    for line in lines {
        match monitor.execute(line).await {
            Ok(response) => {
                print_response(&response, format);
                if response.failed {
                    status = status.worst(Exit::CommandFailed);
                }
            }
            Err(MonitorError::Parse { error, line }) => {
                report_parse_error(&line, &error);
                status = status.worst(Exit::Usage);
            }
            Err(e @ (MonitorError::Transport(_) | MonitorError::Connect(_))) => {
                eprintln!("qhmp: {e}");
                return Exit::Connection;
            }
            Err(e) => {
                eprintln!("qhmp: {}: {e}", line.trim());
                status = status.worst(Exit::CommandFailed);
            }
        }
    }
    status
}

pub fn client_config(cli: &Cli) -> ClientConfig {
    ClientConfig {
        request_timeout: (cli.reply_timeout > 0).then(|| Duration::from_secs(cli.reply_timeout)),
        ..ClientConfig::default()
    }
}

/// `-c` lines, or standard input when it is not a terminal.
pub fn command_lines(cli: &Cli) -> std::io::Result<Vec<String>> {
    if !cli.commands.is_empty() {
        return Ok(cli.commands.clone());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Vec::new());
    }
    stdin.lock().lines().collect()
}

fn check_all_parse(lines: &[String], monitor: &Monitor) -> Option<Exit> {
    let grammar = Grammar::builtin().ok()?;
    let mut defaults = FormatDefaults::default();
    let mut bad = false;
    for line in lines {
        if let Err(error) = parse::parse_line(grammar, monitor.profile(), line, &mut defaults) {
            report_parse_error(line, &error);
            bad = true;
        }
    }
    bad.then_some(Exit::Usage)
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

pub fn dry_run(lines: &[String]) -> Exit {
    dry_run_for(lines, &QemuFacts::assumed())
}

/// Prints the QMP request(s) each line becomes, one JSON object per line.
fn dry_run_for(lines: &[String], facts: &QemuFacts) -> Exit {
    let grammar = match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("qhmp: built-in grammar: {e}");
            return Exit::Usage;
        }
    };
    let mut defaults = FormatDefaults::default();
    let mut status = Exit::Success;
    let mut out = std::io::stdout().lock();
    for line in lines {
        let parsed = match parse::parse_line(grammar, facts.profile(), line, &mut defaults) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(error) => {
                report_parse_error(line, &error);
                status = status.worst(Exit::Usage);
                continue;
            }
        };
        match translate::plan(parsed.entry, &parsed.args, line, facts) {
            Ok(plan) => {
                for request in plan.wire_requests() {
                    let _ = writeln!(out, "{request}");
                }
            }
            Err(e) => {
                eprintln!("qhmp: {e}");
                status = status.worst(Exit::CommandFailed);
            }
        }
    }
    status
}

/// Table look for standard output: its width and whether it is a terminal
/// that may show colour and box drawing.
fn table_style() -> crate::render::table::TableStyle {
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
