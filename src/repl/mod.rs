//! The interactive monitor: a `(qemu) ` prompt with history, completion from
//! the grammar and live values, and events printed above the prompt.

mod client_commands;
mod completion;
mod helper;
mod history;
mod lines;
mod live;
mod qmp_line;
mod watch;

pub use completion::{complete, Completion, Live, LiveSource, SOURCES as COMPLETION_SOURCES};
pub use history::{has_masked_secret, history_path, mask_secrets, MASK};
pub use lines::{run_lines, LineRunner, LinesOptions};

use crate::grammar::{Grammar, Profile};
use crate::monitor::{Monitor, MonitorError};
use crate::output::{Exit, Format};
use crate::qmp::{Client, ClientConfig, Target};
use client_commands::ClientCommand;
use helper::MonitorHelper;
use rustyline::config::Configurer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{ColorMode, CompletionType, Config, Editor};
use std::path::{Path, PathBuf};
use watch::Watch;

/// Settings of one interactive session.
pub struct ReplOptions {
    pub format: Format,
    /// Skip the confirmation before commands the grammar marks `confirm:`.
    pub assume_yes: bool,
    /// Said in the banner (e.g. "simulated").
    pub banner_note: Option<String>,
    /// Where to connect again when QEMU goes away (`None`: just leave).
    pub reconnect: Option<(Target, ClientConfig)>,
    /// The libvirt domain this is, for the warning before the first change.
    pub libvirt_domain: Option<String>,
}

type LineEditor = Editor<MonitorHelper, DefaultHistory>;

const PROMPT: &str = "(qemu) ";

/// How a session on one connection ended.
enum Ending {
    /// Ctrl-D, or `quit` went through.
    Left,
    /// QEMU went away; the reason as the transport saw it.
    Lost(String),
    /// The terminal could not be read.
    Terminal(String),
}

/// Runs the prompt until Ctrl-D, `quit`, or the connection ends.
pub fn run(runtime: &tokio::runtime::Runtime, monitor: Monitor, options: ReplOptions) -> Exit {
    let grammar = match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("qhmp: built-in grammar: {e}");
            return Exit::Usage;
        }
    };
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(5000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.build())
        .unwrap_or_default();
    let mut editor: LineEditor = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("qhmp: cannot open the terminal: {e}");
            return Exit::Usage;
        }
    };
    watch::guard_sigint(runtime);
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let target = options
        .reconnect
        .as_ref()
        .map(|(target, _)| target.to_string())
        .unwrap_or_else(|| "the simulated QEMU".to_string());
    let mut session = Session {
        runtime,
        grammar,
        history,
        format: options.format,
        assume_yes: options.assume_yes,
        libvirt_domain: options.libvirt_domain.clone(),
        caution: crate::fleet::Caution::new(),
        target,
        vm_label: String::new(),
    };
    let note = options
        .banner_note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    println!(
        "QEMU {}{note} monitor via qhmp - type 'help' for more information",
        monitor.version()
    );
    let mut monitor = monitor;
    loop {
        match session.serve(&mut editor, &mut monitor) {
            Ending::Left => return Exit::Success,
            Ending::Terminal(why) => {
                eprintln!("qhmp: reading the terminal: {why}");
                return Exit::Usage;
            }
            Ending::Lost(why) => {
                eprintln!("qhmp: QEMU went away: {why}");
                let Some((target, config)) = &options.reconnect else {
                    return Exit::Connection;
                };
                match session.reconnect(&mut editor, target, config) {
                    Some(m) => monitor = m,
                    None => return Exit::Connection,
                }
            }
        }
    }
}

struct Session<'r> {
    runtime: &'r tokio::runtime::Runtime,
    grammar: &'static Grammar,
    history: Option<PathBuf>,
    format: Format,
    assume_yes: bool,
    libvirt_domain: Option<String>,
    caution: crate::fleet::Caution,
    /// The connect target, naming the VM when it has no `-name`.
    target: String,
    /// How confirmations name the VM (`VM "web1"`, or the target).
    vm_label: String,
}

impl Session<'_> {
    /// Serves the prompt on one connection.
    fn serve(&mut self, editor: &mut LineEditor, monitor: &mut Monitor) -> Ending {
        let live = live::QemuValues::new(monitor.client().clone(), self.runtime.handle().clone());
        editor.set_helper(Some(MonitorHelper::new(
            self.grammar,
            monitor.profile(),
            Box::new(live),
        )));
        let watch = Watch::start(monitor.client(), editor.create_external_printer().ok());
        self.vm_label = self.vm_label(monitor);
        loop {
            if watch.take_gone() {
                return Ending::Lost(lost_reason(monitor.client()));
            }
            let line = match editor.readline(PROMPT) {
                Ok(line) => line,
                // Ctrl-C clears the line (and wakes the prompt when QEMU is gone).
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => return Ending::Left,
                Err(e) => return Ending::Terminal(e.to_string()),
            };
            if line.trim().is_empty() {
                continue;
            }
            self.remember(editor, &line);
            if let Some(request) = qmp_line::parse(&line) {
                if let Some(ending) = self.send_qmp(editor, monitor, request) {
                    return ending;
                }
                continue;
            }
            if is_info_history(self.grammar, monitor.profile(), &line) {
                for (index, entry) in editor.history().iter().enumerate() {
                    println!("{index}: '{entry}'");
                }
                continue;
            }
            if let Some(command) = ClientCommand::parse(&line) {
                command.run(&mut self.format);
                continue;
            }
            if has_masked_secret(&line) {
                eprintln!(
                    "qhmp: this line came from the history, where its secret is masked \
                     ({MASK}); type the secret itself"
                );
                continue;
            }
            let line = match self.complete_password(editor, &line) {
                Some(line) => line,
                None => continue,
            };
            if let Some(domain) = &self.libvirt_domain {
                let domains = std::slice::from_ref(domain);
                if let Some(warning) = self.caution.check(monitor, &line, domains) {
                    eprintln!("{warning}");
                }
            }
            let entry = self.grammar.commands().lookup(
                line.split_whitespace().next().unwrap_or_default(),
                monitor.profile(),
            );
            if let Some(consequence) = entry.and_then(|e| e.confirm.as_deref()) {
                if !self.assume_yes && !self.confirm(editor, &line, consequence) {
                    continue;
                }
            }
            let quitting = entry.is_some_and(|e| e.primary_name() == "quit");
            if quitting {
                watch.expect_end();
            }
            let Some(outcome) = self.runtime.block_on(interruptible(monitor.execute(&line))) else {
                watch.cancel_end();
                if !watch.take_gone() {
                    eprintln!("\nqhmp: interrupted; QEMU may still carry the command out");
                }
                continue;
            };
            match outcome {
                Ok(response) => {
                    crate::output::print_response(&response, self.format);
                    if quitting && !response.failed {
                        return Ending::Left;
                    }
                    watch.cancel_end();
                }
                Err(MonitorError::Parse { error, line }) => {
                    watch.cancel_end();
                    crate::output::report_parse_error_at_prompt(&line, &error)
                }
                Err(MonitorError::Transport(e) | MonitorError::Connect(e)) if e.is_fatal() => {
                    if quitting {
                        return Ending::Left;
                    }
                    return Ending::Lost(e.to_string());
                }
                Err(e) => {
                    watch.cancel_end();
                    eprintln!("qhmp: {e}");
                }
            }
        }
    }

    /// Adds the line to the history, secrets masked, and appends it to the
    /// history file at once (so a crash or a second session loses nothing).
    fn remember(&self, editor: &mut LineEditor, line: &str) {
        let _ = editor.add_history_entry(mask_secrets(line));
        if let Some(path) = &self.history {
            if ensure_private_dir(path) {
                let _ = editor.append_history(path);
            }
        }
    }

    /// `change vnc password` without a password asks for it, unechoed, as
    /// QEMU's own monitor does. `None`: nothing to run.
    fn complete_password(&self, editor: &mut LineEditor, line: &str) -> Option<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !matches!(words.as_slice(), ["change", "vnc", "password" | "passwd"]) {
            return Some(line.to_string());
        }
        let password = read_secret(editor, "Password: ")?;
        let quoted = password.replace('\\', "\\\\").replace('"', "\\\"");
        Some(format!("{} \"{quoted}\"", line.trim_end()))
    }

    /// `VM "NAME"` from `query-name`, else the connect target.
    fn vm_label(&self, monitor: &Monitor) -> String {
        let reply = self
            .runtime
            .block_on(monitor.client().execute("query-name", None));
        match reply {
            Ok(Ok(v)) => match v.get("name").and_then(serde_json::Value::as_str) {
                Some(name) => format!("VM \"{name}\""),
                None => self.target.clone(),
            },
            _ => self.target.clone(),
        }
    }

    /// Asks before a command the grammar marks `confirm:`, naming the VM
    /// and what the command does.
    fn confirm(&self, editor: &mut LineEditor, line: &str, consequence: &str) -> bool {
        let question = format!(
            "'{}' on {} {consequence}. Go ahead? [y/N] ",
            line.trim(),
            self.vm_label
        );
        let answer = editor.readline(&question);
        matches!(answer, Ok(a) if matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    /// Sends a QMP request typed at the prompt and prints the reply as
    /// indented JSON. `Some` when the connection is gone.
    fn send_qmp(
        &self,
        editor: &LineEditor,
        monitor: &Monitor,
        request: Result<qmp_line::QmpLine, String>,
    ) -> Option<Ending> {
        let request = match request {
            Ok(r) => r,
            Err(why) => {
                eprintln!("qhmp: {why}");
                return None;
            }
        };
        let schema = match &request {
            qmp_line::QmpLine::Shell { .. } => editor
                .helper()
                .map(|h| h.live.qmp_schema())
                .map(|v| crate::translate::typing::Schema::from_introspection(&v))
                .unwrap_or_default(),
            qmp_line::QmpLine::Raw(_) => Default::default(),
        };
        let request = request.request(&schema);
        let sent = self
            .runtime
            .block_on(interruptible(monitor.client().request_raw(request)));
        match sent {
            None => eprintln!("\nqhmp: interrupted; QEMU may still carry the command out"),
            Some(Ok(reply)) => println!("{}", qmp_line::pretty(&reply)),
            Some(Err(e)) if e.is_fatal() => return Some(Ending::Lost(e.to_string())),
            Some(Err(e)) => eprintln!("qhmp: {e}"),
        }
        None
    }

    /// Asks until QEMU answers again or the user gives up.
    fn reconnect(
        &self,
        editor: &mut LineEditor,
        target: &Target,
        config: &ClientConfig,
    ) -> Option<Monitor> {
        loop {
            let question = format!("Reconnect to {target}? [Y/n] ");
            let answer = editor.readline(&question).ok()?;
            if answer.trim().eq_ignore_ascii_case("n") || answer.trim().eq_ignore_ascii_case("no") {
                return None;
            }
            let connected = self.runtime.block_on(async {
                let client = Client::connect(target, config.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                Monitor::on_client(client).await.map_err(|e| e.to_string())
            });
            match connected {
                Ok(monitor) => {
                    println!("Connected to QEMU {}", monitor.version());
                    return Some(monitor);
                }
                Err(e) => eprintln!("qhmp: {e}"),
            }
        }
    }
}

/// Runs `work` until it ends or Ctrl-C (SIGINT) arrives: `None` then.
async fn interruptible<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut sigint) = signal(SignalKind::interrupt()) else {
        return Some(work.await);
    };
    tokio::select! {
        done = work => Some(done),
        _ = sigint.recv() => None,
    }
}

fn lost_reason(client: &Client) -> String {
    client
        .fatal_error()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "the QMP connection ended".to_string())
}

/// Creates the history directory, private to the user, when missing.
fn ensure_private_dir(path: &Path) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    if dir.is_dir() {
        return true;
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .is_ok()
}

/// True for `info history` (QEMU lists its monitor's history; ours is the
/// prompt's, which QEMU's QMP side cannot see).
fn is_info_history(grammar: &Grammar, profile: Profile, line: &str) -> bool {
    let mut words = line.split_whitespace();
    let (Some(first), Some(second), None) = (words.next(), words.next(), words.next()) else {
        return false;
    };
    let info = grammar.commands().lookup(first, profile);
    let sub = info
        .and_then(|e| e.subtable.as_deref())
        .and_then(|t| grammar.table(t))
        .and_then(|t| t.lookup(second, profile));
    sub.is_some_and(|e| e.primary_name() == "history")
}

/// Reads a line without showing it and without adding it to the history.
fn read_secret(editor: &mut LineEditor, prompt: &str) -> Option<String> {
    let set_masking = |editor: &mut LineEditor, on: bool| {
        if let Some(helper) = editor.helper_mut() {
            helper.masking = on;
        }
        editor.set_color_mode(if on {
            ColorMode::Forced
        } else {
            ColorMode::Enabled
        });
    };
    set_masking(editor, true);
    let cursor = editor.set_cursor_visibility(false).ok().flatten();
    let answer = editor.readline(prompt);
    drop(cursor);
    set_masking(editor, false);
    answer.ok()
}
