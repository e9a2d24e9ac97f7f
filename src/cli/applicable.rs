//! Options that do not apply to a subcommand are refused there, never
//! silently ignored: `qhmp train --check --connect unix:REAL pause` must not
//! "reach its goal" on the simulator while the real VM keeps running.
//!
//! clap's `global = true` options are accepted after any subcommand; this
//! table says which subcommand uses which, and the check looks at what was
//! typed (by argument id, so the options' types do not matter here).

use clap::parser::ValueSource;
use clap::ArgMatches;

/// Options of the top level that some subcommands use, by clap id and
/// spelling.
const SHARED: &[(&str, &str)] = &[
    ("connect", "--connect"),
    ("format", "--format"),
    ("reply_timeout", "--reply-timeout"),
    ("transient", "--transient"),
];

/// Options for the monitor itself (`-c`, `--dry-run`, `-y`): no subcommand
/// takes them.
const MONITOR_ONLY: &[(&str, &str)] = &[
    ("commands", "-c/--command"),
    ("dry_run", "--dry-run"),
    ("yes", "-y/--yes"),
    ("password_stdin", "--password-stdin"),
    ("jobs", "--jobs"),
];

/// Which shared options a subcommand uses, and why `--connect` does not
/// apply when it does not.
fn uses(subcommand: &str) -> (&'static [&'static str], &'static str) {
    match subcommand {
        "events" => (&["connect", "format", "reply_timeout"], ""),
        "proxy" => (
            &["reply_timeout"],
            "the proxy connects to --upstream and relays QMP unchanged",
        ),
        "sim" => (&[], "the simulator serves QMP; it connects nowhere"),
        "train" => (
            &[],
            "lessons always run on their own simulated QEMU, never on a real VM",
        ),
        _ => (&[], "it takes no connection or output options"),
    }
}

fn given(matches: &ArgMatches, sub: &ArgMatches, id: &str) -> bool {
    let typed = |m: &ArgMatches| {
        m.try_get_raw(id).is_ok_and(|v| v.is_some())
            && m.value_source(id) == Some(ValueSource::CommandLine)
    };
    typed(matches) || typed(sub)
}

/// `Err(message)` when an option was typed that the subcommand does not use.
pub fn check(matches: &ArgMatches) -> Result<(), String> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let (used, why) = uses(name);
    for (id, spelling) in SHARED {
        if !used.contains(id) && given(matches, sub, id) {
            let why = if *id == "connect" {
                why
            } else {
                "it does not use it"
            };
            return Err(format!("{spelling} does not apply to 'qhmp {name}': {why}"));
        }
    }
    for (id, spelling) in MONITOR_ONLY {
        if given(matches, sub, id) {
            return Err(format!(
                "{spelling} does not apply to 'qhmp {name}': it is for monitor command lines, \
                 which subcommands do not take"
            ));
        }
    }
    Ok(())
}
