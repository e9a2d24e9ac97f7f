//! The interactive monitor: a `(qemu) ` prompt with history, completion from
//! the grammar and live values, and events printed above the prompt.

mod completion;
mod history;
mod live;

pub use completion::{complete, Completion, Live, LiveSource};
pub use history::{history_path, mask_secrets};

use crate::cli::{Exit, Format};
use crate::grammar::{Grammar, Profile};
use crate::monitor::{Monitor, MonitorError, Response};
use crate::render::event::event_line;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Context, Editor, ExternalPrinter, Helper, Highlighter, Hinter, Validator};

/// Settings of one interactive session.
pub struct ReplOptions {
    pub format: Format,
    /// Skip the confirmation before `quit`.
    pub assume_yes: bool,
    /// Said in the banner (e.g. "simulated").
    pub banner_note: Option<String>,
}

#[derive(Helper, Highlighter, Hinter, Validator)]
struct MonitorHelper {
    grammar: &'static Grammar,
    profile: Profile,
    live: live::QemuValues,
    files: FilenameCompleter,
}

impl Completer for MonitorHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        let done = complete(self.grammar, self.profile, &self.live, before);
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

/// Runs the prompt until Ctrl-D, `quit`, or the connection ends.
pub fn run(runtime: &tokio::runtime::Runtime, mut monitor: Monitor, options: ReplOptions) -> Exit {
    let grammar = match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("qhmp: built-in grammar: {e}");
            return Exit::Usage;
        }
    };
    let mut editor: Editor<MonitorHelper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("qhmp: cannot open the terminal: {e}");
            return Exit::Usage;
        }
    };
    editor.set_helper(Some(MonitorHelper {
        grammar,
        profile: monitor.profile(),
        live: live::QemuValues {
            client: monitor.client().clone(),
            handle: runtime.handle().clone(),
        },
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    if let Ok(printer) = editor.create_external_printer() {
        spawn_event_printer(runtime, &monitor, printer);
    }
    let note = options
        .banner_note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    println!(
        "QEMU {}{note} monitor via qhmp - type 'help' for more information",
        monitor.version()
    );
    let mut format = options.format;
    let mut status = Exit::Success;
    loop {
        let line = match editor.readline("(qemu) ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("qhmp: reading the terminal: {e}");
                status = Exit::Usage;
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(mask_secrets(&line));
        if let Some(path) = &history {
            save_history(&mut editor, path);
        }
        if let Some(switch) = line.trim().strip_prefix('\\') {
            client_side(switch, &mut format);
            continue;
        }
        if is_quit(grammar, monitor.profile(), &line)
            && !options.assume_yes
            && !confirm(&mut editor)
        {
            continue;
        }
        match runtime.block_on(monitor.execute(&line)) {
            Ok(response) => show(&response, format),
            Err(MonitorError::Parse { error, line }) => {
                crate::cli::report_parse_error(&line, &error)
            }
            Err(e @ (MonitorError::Transport(_) | MonitorError::Connect(_))) => {
                if is_quit(grammar, monitor.profile(), &line) {
                    break;
                }
                eprintln!("qhmp: {e}");
                status = Exit::Connection;
                break;
            }
            Err(e) => eprintln!("qhmp: {e}"),
        }
    }
    status
}

fn save_history(editor: &mut Editor<MonitorHelper, DefaultHistory>, path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = editor.save_history(path);
}

fn spawn_event_printer(
    runtime: &tokio::runtime::Runtime,
    monitor: &Monitor,
    mut printer: impl ExternalPrinter + Send + 'static,
) {
    let mut events = monitor.client().events();
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if printer
                .print(format!("{}\n", event_line(&event.raw)))
                .is_err()
            {
                break;
            }
        }
    });
}

/// `\format json|table|classic`: client-side switches.
fn client_side(switch: &str, format: &mut Format) {
    let mut words = switch.split_whitespace();
    match (words.next(), words.next()) {
        (Some("format"), Some(name)) => match <Format as clap::ValueEnum>::from_str(name, true) {
            Ok(f) => {
                *format = f;
                println!("output format: {name}");
            }
            Err(_) => eprintln!("qhmp: unknown format '{name}' (classic, table, json)"),
        },
        (Some("format"), None) => println!("output format: {}", format_name(*format)),
        _ => eprintln!("qhmp: client commands: \\format classic|table|json"),
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Classic => "classic",
        Format::Table => "table",
        Format::Json => "json",
    }
}

fn is_quit(grammar: &Grammar, profile: Profile, line: &str) -> bool {
    let name = line.split_whitespace().next().unwrap_or_default();
    grammar
        .commands()
        .lookup(name, profile)
        .is_some_and(|e| e.primary_name() == "quit")
}

fn confirm(editor: &mut Editor<MonitorHelper, DefaultHistory>) -> bool {
    matches!(editor.readline("Really quit QEMU? This ends the VM. [y/N] "), Ok(answer) if answer.trim().eq_ignore_ascii_case("y"))
}

fn show(response: &Response, format: Format) {
    crate::cli::print_response(response, format);
}
