//! The man page, generated from the command-line definition and the grammar
//! (`qhmp man > man/qhmp.1`); a test keeps the committed page current.

use super::Cli;
use crate::grammar::{Entry, Grammar, Profile, Table};
use clap::CommandFactory;
use std::fmt::Write;

/// The whole page as roff.
pub fn render() -> String {
    let mut page = String::new();
    let cmd = Cli::command();
    let _ = writeln!(
        page,
        ".TH QHMP 1 \"\" \"qhmp {}\" \"User Commands\"",
        env!("CARGO_PKG_VERSION")
    );
    section(&mut page, "NAME");
    let _ = writeln!(
        page,
        "qhmp \\- {}",
        escape(&cmd.get_about().map(|s| s.to_string()).unwrap_or_default())
    );
    section(&mut page, "SYNOPSIS");
    page.push_str(".B qhmp\n[\\fIOPTIONS\\fR] [\\fB\\-c\\fR \\fILINE\\fR]...\n.br\n");
    page.push_str(".B qhmp\n\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]\n");
    section(&mut page, "DESCRIPTION");
    let about = cmd
        .get_long_about()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let _ = writeln!(page, "{}", escape(&about));
    page.push_str(
        ".PP\nCommands are parsed exactly as QEMU's human monitor parses them; \
                   the listings below come from the same tables qhmp parses with.\n",
    );
    section(&mut page, "OPTIONS");
    options(&mut page, &cmd);
    section(&mut page, "SUBCOMMANDS");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let about = sub.get_about().map(|s| s.to_string()).unwrap_or_default();
        let _ = writeln!(
            page,
            ".SS qhmp {}\n{}",
            escape(sub.get_name()),
            escape(&about)
        );
        options(&mut page, sub);
    }
    section(&mut page, "INTERACTIVE MONITOR");
    page.push_str(INTERACTIVE);
    section(&mut page, "EXIT STATUS");
    for (code, meaning) in [
        ("0", "success"),
        ("1", "a command failed (QEMU answered with an error)"),
        (
            "2",
            "a usage or parse error; nothing was sent to QEMU for a line that does not parse",
        ),
        ("3", "a connection error"),
    ] {
        let _ = writeln!(page, ".TP\n.B {code}\n{meaning}");
    }
    section(&mut page, "ENVIRONMENT");
    page.push_str(ENVIRONMENT);
    section(&mut page, "FILES");
    page.push_str(FILES);
    section(&mut page, "EXAMPLES");
    page.push_str(EXAMPLES);
    if let Ok(grammar) = Grammar::builtin() {
        commands_section(&mut page, grammar);
    }
    section(&mut page, "SEE ALSO");
    page.push_str("qemu(1), qemu-system-x86_64(1)\n");
    page
}

/// One `.TP` paragraph per visible option of a command (global options
/// only under the top level).
fn options(page: &mut String, cmd: &clap::Command) {
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() || arg.get_id() == "help" || arg.get_id() == "version" {
            continue;
        }
        if arg.is_global_set() && cmd.get_name() != "qhmp" {
            continue;
        }
        let mut names = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("\\fB\\-{s}\\fR"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("\\fB\\-\\-{}\\fR", escape(l)));
        }
        if names.is_empty() {
            names.push(format!("\\fI{}\\fR", escape(arg.get_id().as_str())));
        }
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .filter(|_| {
                arg.get_action().takes_values()
                    && (arg.get_long().is_some() || arg.get_short().is_some())
            })
            .map(|v| format!(" \\fI{}\\fR", escape(v)))
            .unwrap_or_default();
        let _ = writeln!(page, ".TP\n{}{}", names.join(", "), value);
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        let _ = writeln!(page, "{}", escape(&help));
    }
}

/// Variables qhmp reads.
const ENVIRONMENT: &str = ".TP
.B COLUMNS
the width tables are laid out for; without it, the terminal's own width (100 when standard output is no terminal).
.TP
.B NO_COLOR
when set and not empty, tables have no colour and ASCII borders.
.TP
.B TERM
\\fBdumb\\fR gets plain tables (no colour, ASCII borders).
.TP
.B LC_ALL, LC_CTYPE, LANG
the first one set decides the character set; unless it is UTF\\-8, tables use ASCII borders and no colour.
.TP
.B XDG_STATE_HOME
where the prompt's history lives (see FILES).
.TP
.B XDG_CACHE_HOME
where each QEMU version's QMP schema is cached (see FILES).
.PP
The test suite reads \\fBQHMP_QEMU_5\\fR, \\fBQHMP_QEMU_7\\fR, \\fBQHMP_QEMU_8\\fR, \\fBQHMP_QEMU_10\\fR and \\fBQHMP_QEMU_11\\fR (QEMU binaries to check against); qhmp itself reads no \\fBQHMP_\\fR variables.
";

/// Files qhmp keeps.
const FILES: &str = ".TP
.I $XDG_STATE_HOME/qhmp/history
the prompt's history (default \\fI~/.local/state/qhmp/history\\fR), mode 0600 in a 0700 directory; passwords and secrets are masked before they are written.
.TP
.I $XDG_CACHE_HOME/qhmp/qmp\\-schema\\-VERSION.json
the \\fBquery\\-qmp\\-schema\\fR of each QEMU version and package seen (default under \\fI~/.cache/qhmp\\fR), so typing values does not ask QEMU again.
";

/// A few complete command lines.
const EXAMPLES: &str = ".TP
.B qhmp \\-\\-connect unix:/run/qemu/vm1.qmp
the \\fB(qemu)\\fR prompt on a running QEMU (started with \\fB\\-qmp unix:/run/qemu/vm1.qmp,server=on,wait=off\\fR).
.TP
.B qhmp \\-\\-connect unix:/run/qemu/vm1.qmp \\-c 'info block' \\-c 'eject \\-f ide1\\-cd0'
two commands in order; a table on a terminal, QEMU's own text in a pipe.
.TP
.B qhmp \\-\\-connect tcp:127.0.0.1:4444 \\-\\-format json \\-c 'info status'
the QMP return value as JSON, for scripts.
.TP
.B qhmp \\-\\-dry\\-run \\-c 'change ide1\\-cd0 /srv/iso/debian.iso'
prints the QMP requests the line becomes, sending nothing.
.TP
.B qhmp proxy \\-\\-upstream unix:/run/qemu/vm1.qmp \\-\\-listen unix:/run/qemu/vm1.shared
shares one QMP socket among many clients, answering \\fBhuman\\-monitor\\-command\\fR by translation.
.TP
.B qhmp events 'SPICE_*' \\-\\-connect unix:/run/qemu/vm1.qmp
watches SPICE events, one line each.
.TP
.B qhmp train
lists the lessons on the built\\-in simulated QEMU.
.TP
.B qhmp completions bash > /etc/bash_completion.d/qhmp
installs shell completion (also \\fBzsh\\fR and \\fBfish\\fR).
";

/// How the `(qemu)` prompt behaves.
const INTERACTIVE: &str = "Without \\fB\\-c\\fR and with a terminal on standard input, qhmp opens a \\fB(qemu)\\fR prompt.
.TP
.B Tab
completes commands, \\fBinfo\\fR subcommands, flags and values, including live ones the connected QEMU reports (block devices, chardevs, device and object ids, netdevs, QOM paths, migration capabilities and parameters, key names).
.TP
.B Ctrl\\-C
clears the line (or stops waiting for a command); \\fBCtrl\\-D\\fR leaves.
.TP
.B \\eformat classic|table|json
switches the output format for the rest of the session.
.TP
.B \\eqmp COMMAND key=value ...
runs a QMP command in qmp\\-shell's syntax, values typed from the connected QEMU's schema (Tab completes command and argument names); a line starting with \\fB{\\fR is sent as a QMP request as written. Replies are printed as indented JSON.
.PP
Events are printed above the prompt as they arrive. A misspelt command gets a suggestion. \\fBinfo history\\fR lists the prompt's history. \\fBquit\\fR, \\fBsystem_reset\\fR, \\fBloadvm\\fR, \\fBdelvm\\fR, \\fBdrive_del\\fR, \\fBmigrate\\fR and \\fBdevice_del\\fR ask first, naming the VM (unless \\fB\\-y\\fR). History is kept in \\fI$XDG_STATE_HOME/qhmp/history\\fR (mode 0600) with passwords and secrets masked. When QEMU goes away qhmp offers to reconnect; declining exits with status 3.
";

fn commands_section(page: &mut String, grammar: &Grammar) {
    section(page, "MONITOR COMMANDS");
    page.push_str("Versions name the QEMU release lines a command exists in.\n");
    table_listing(page, grammar.commands(), "");
    if let Some(info) = grammar.table("info") {
        section(page, "INFO SUBCOMMANDS");
        table_listing(page, info, "info ");
    }
}

fn table_listing(page: &mut String, table: &Table, prefix: &str) {
    for entry in &table.entries {
        let _ = writeln!(page, ".TP\n{}", usage_line(entry, prefix));
        let versions: Vec<String> = entry.versions.iter().map(Profile::to_string).collect();
        let _ = writeln!(
            page,
            "{} (QEMU {})",
            escape(&entry.help),
            versions.join(", ")
        );
    }
}

fn usage_line(entry: &Entry, prefix: &str) -> String {
    let mut variants: Vec<&str> = Vec::new();
    for p in Profile::ALL.iter().rev() {
        if entry.exists_in(*p) {
            let params = entry.params.get(*p).as_str();
            if !variants.contains(&params) {
                variants.push(params);
            }
        }
    }
    let params: Vec<String> = variants
        .iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .map(|p| format!(" \\fI{}\\fR", escape(&p)))
        .collect();
    format!(
        "\\fB{}{}\\fR{}",
        escape(prefix),
        escape(&entry.name),
        params.join(" | ")
    )
}

fn section(page: &mut String, name: &str) {
    let _ = writeln!(page, ".SH {name}");
}

/// Escapes text for roff: backslashes, leading dots/quotes, hyphens.
fn escape(text: &str) -> String {
    let body = text.replace('\\', "\\e").replace('-', "\\-");
    body.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
