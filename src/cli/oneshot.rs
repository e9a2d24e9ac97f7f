//! One-shot mode: `qhmp -c LINE …`, lines on standard input, and `--dry-run`.

use super::Cli;
use crate::grammar::Grammar;
use crate::monitor::{Monitor, MonitorError};
use crate::output::{print_response, report_parse_error, Exit, Format};
use crate::parse::{self, FormatDefaults};
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
    let domain = super::libvirt_domain(cli);
    let mut caution = crate::fleet::Caution::new();
    for line in lines {
        if let Some(domain) = &domain {
            if let Some(warning) = caution.check(&monitor, line, std::slice::from_ref(domain)) {
                eprintln!("{warning}");
            }
        }
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
