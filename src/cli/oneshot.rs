//! One-shot mode: `qhmp -c LINE …`, lines on standard input, and `--dry-run`.

use super::Cli;
use crate::grammar::Grammar;
use crate::monitor::{requests, Monitor, MonitorError};
use crate::output::secrets::masked_request;
use crate::output::{print_response, report_parse_error, Exit, Format};
use crate::parse::{self, FormatDefaults};
use crate::qmp::ClientConfig;
use crate::render::escape_controls;
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
                    prompt_hint(&response.text);
                }
            }
            Err(MonitorError::Parse { error, line }) => {
                report_parse_error(&line, &error);
                status = status.worst(Exit::Usage);
            }
            Err(e @ (MonitorError::Transport(_) | MonitorError::Connect(_))) => {
                // QEMU's words may carry terminal escapes: shown, not obeyed.
                eprintln!("qhmp: {}", escape_controls(&e.to_string()));
                return Exit::Connection;
            }
            Err(e) => {
                eprintln!("qhmp: {}: {}", line.trim(), escape_controls(&e.to_string()));
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

/// `-c` lines, or standard input when it is not a terminal. With
/// `--password-stdin`, standard input holds the password instead and the
/// lines that would prompt for it get it.
pub fn command_lines(cli: &Cli) -> Result<Vec<String>, String> {
    let stdin = std::io::stdin();
    if cli.password_stdin {
        if cli.commands.is_empty() {
            return Err("--password-stdin needs the command lines in -c".into());
        }
        let mut password = String::new();
        stdin
            .lock()
            .read_line(&mut password)
            .map_err(|e| format!("reading the password from standard input: {e}"))?;
        let password = password.trim_end_matches(['\n', '\r']);
        return Ok(cli
            .commands
            .iter()
            .map(|line| with_prompted_password(line, password))
            .collect());
    }
    if !cli.commands.is_empty() {
        return Ok(cli.commands.clone());
    }
    if stdin.is_terminal() {
        return Ok(Vec::new());
    }
    stdin
        .lock()
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| format!("reading standard input: {e}"))
}

/// `change vnc password` without a password makes QEMU prompt for one; the
/// answer is added to the line as a quoted string.
fn with_prompted_password(line: &str, password: &str) -> String {
    let Ok(grammar) = Grammar::builtin() else {
        return line.to_string();
    };
    let mut defaults = FormatDefaults::default();
    let profile = QemuFacts::assumed().profile();
    let Ok(Some(parsed)) = parse::parse_line(grammar, profile, line, &mut defaults) else {
        return line.to_string();
    };
    let args = &parsed.args;
    let prompts = parsed.entry.primary_name() == "change"
        && args.str("device") == Some("vnc")
        && matches!(args.str("target"), Some("password" | "passwd"))
        && args.str("arg").is_none();
    if !prompts {
        return line.to_string();
    }
    let mut quoted = String::from('"');
    for c in password.chars() {
        match c {
            '"' | '\\' | '\'' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    format!("{} {quoted}", line.trim_end())
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
    // The monitor's current CPU, as `cpu N` sets it.
    let mut current_cpu = None;
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
        if let Some(cpu) = requests::cpu_selection(&parsed) {
            current_cpu = cpu;
            continue;
        }
        match translate::plan(parsed.entry, &parsed.args, line, facts) {
            Ok(plan) => {
                for request in requests::wire_requests(&plan, current_cpu) {
                    let _ = writeln!(out, "{}", masked_request(&request));
                }
            }
            Err(e) => {
                eprintln!("qhmp: {e}");
                prompt_hint(&e.to_string());
                status = status.worst(Exit::CommandFailed);
            }
        }
    }
    status
}

/// QEMU would prompt for the password here; one-shot mode has no prompt.
fn prompt_hint(text: &str) {
    if text.contains("does not support password prompting") {
        eprintln!("qhmp: give the password on standard input with --password-stdin");
    }
}
