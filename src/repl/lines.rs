//! A prompt over something other than one held connection: a fleet of VMs,
//! or a target connected for each line (`--transient`). Events are not
//! printed here; completion offers the live values of every connected VM.

use super::completion::{Live, LiveSource};
use super::helper::MonitorHelper;
use super::history::{has_masked_secret, history_path, mask_secrets, MASK};
use super::live::QemuValues;
use super::{client_commands::ClientCommand, ensure_private_dir};
use crate::grammar::{Grammar, Profile};
use crate::output::{Exit, Format};
use crate::qmp::Client;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};

/// What runs the lines typed at the prompt.
pub trait LineRunner {
    /// The command set for completion and hints.
    fn profile(&self) -> Profile;
    /// Runs one line and prints what it gives.
    fn run(&mut self, runtime: &tokio::runtime::Runtime, line: &str, format: Format);
}

/// Settings of the prompt.
pub struct LinesOptions {
    pub prompt: String,
    pub banner: String,
    pub format: Format,
    pub assume_yes: bool,
    /// How confirmations name what a line runs on (`3 VMs`, a target).
    pub vm_label: String,
    /// Connections to ask for completion values (none: grammar only).
    pub live: Vec<Client>,
}

/// Values from every VM, each offered once.
struct AllValues(Vec<QemuValues>);

impl LiveSource for AllValues {
    fn values(&self, what: &Live) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for source in &self.0 {
            for v in source.values(what) {
                if !all.contains(&v) {
                    all.push(v);
                }
            }
        }
        all
    }
}

/// Runs the prompt until Ctrl-D or an accepted `quit`.
pub fn run_lines(
    runtime: &tokio::runtime::Runtime,
    runner: &mut dyn LineRunner,
    options: LinesOptions,
) -> Exit {
    let Ok(grammar) = Grammar::builtin() else {
        return Exit::Usage;
    };
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<MonitorHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("qhmp: cannot open the terminal: {e}");
            return Exit::Usage;
        }
    };
    let live = AllValues(
        options
            .live
            .into_iter()
            .map(|c| QemuValues::new(c, runtime.handle().clone()))
            .collect(),
    );
    editor.set_helper(Some(MonitorHelper::new(
        grammar,
        runner.profile(),
        Box::new(live),
    )));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    // Ctrl-C while a line runs must not end qhmp with the terminal raw.
    super::watch::guard_sigint(runtime);
    let mut format = options.format;
    println!("{}", options.banner);
    loop {
        let line = match editor.readline(&options.prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return Exit::Success,
            Err(e) => {
                eprintln!("qhmp: reading the terminal: {e}");
                return Exit::Usage;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(mask_secrets(&line));
        if let Some(path) = &history {
            if ensure_private_dir(path) {
                let _ = editor.append_history(path);
            }
        }
        if let Some(command) = ClientCommand::parse(&line) {
            command.run(&mut format);
            continue;
        }
        if has_masked_secret(&line) {
            eprintln!("qhmp: this line came from the history, where its secret is masked ({MASK}); type the secret itself");
            continue;
        }
        let entry = grammar.commands().lookup(
            line.split_whitespace().next().unwrap_or_default(),
            runner.profile(),
        );
        if let Some(consequence) = entry
            .and_then(|e| e.confirm.as_deref())
            .filter(|_| !options.assume_yes)
        {
            let question = format!(
                "'{}' on {} {consequence}. Go ahead? [y/N] ",
                line.trim(),
                options.vm_label
            );
            let answer = editor.readline(&question);
            if !matches!(answer, Ok(a) if matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
            {
                continue;
            }
        }
        let quitting = entry.is_some_and(|e| e.primary_name() == "quit");
        runner.run(runtime, &line, format);
        if quitting {
            return Exit::Success;
        }
    }
}
