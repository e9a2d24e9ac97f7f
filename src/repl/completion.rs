//! Tab completion from the grammar (commands, `info` subcommands, flags,
//! `on`/`off`) and from live values the connected QEMU reports.

use crate::grammar::{ArgKind, ArgSpec, Entry, Grammar, Profile};

/// Live values a completion may need, fetched from QEMU when asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Live {
    BlockDevices,
    Chardevs,
    RingbufChardevs,
    ChardevBackends,
    DeviceIds,
    /// Device types `device_add` accepts.
    DeviceTypes,
    /// Properties of one device type.
    DeviceProperties(String),
    ObjectIds,
    /// Types `object_add` accepts.
    ObjectTypes,
    /// Properties of one user-creatable object type.
    ObjectProperties(String),
    /// Every network client (NICs and netdevs), as `set_link` takes them.
    NetClients,
    /// Netdev backends (not NICs), as `netdev_del` takes them.
    Netdevs,
    NetdevTypes,
    MigrationCapabilities,
    MigrationParameters,
    /// Values a migration parameter takes (enum members, `on`/`off`).
    MigrationParameterValues(String),
    TraceEvents,
    /// `log` items (`help log`).
    LogItems,
    CpuIndexes,
    /// Names and ids of internal snapshots (`loadvm`, `delvm`).
    Snapshots,
    /// Children of the QOM path typed so far, as full paths.
    QomPath(String),
    /// Property names of a QOM path.
    QomProperties(String),
    /// Names of the QMP commands the connected QEMU offers (`\qmp NAME`).
    QmpCommands,
    /// Argument names of one QMP command, from its schema.
    QmpArguments(String),
}

impl Live {
    /// True for values fixed for the lifetime of a QEMU process (worth
    /// keeping for the session rather than asking on every Tab).
    pub fn is_static(&self) -> bool {
        matches!(
            self,
            Live::ChardevBackends
                | Live::DeviceTypes
                | Live::DeviceProperties(_)
                | Live::ObjectTypes
                | Live::ObjectProperties(_)
                | Live::NetdevTypes
                | Live::MigrationCapabilities
                | Live::MigrationParameters
                | Live::MigrationParameterValues(_)
                | Live::TraceEvents
                | Live::LogItems
                | Live::CpuIndexes
                | Live::QmpCommands
                | Live::QmpArguments(_)
        )
    }
}

/// Where live values come from (QEMU in the REPL, a fixed table in tests).
pub trait LiveSource {
    fn values(&self, what: &Live) -> Vec<String>;
    /// `query-qmp-schema` of the QEMU behind the values (`null` without one),
    /// for `\qmp` completion and typing.
    fn qmp_schema(&self) -> std::sync::Arc<serde_json::Value> {
        std::sync::Arc::new(serde_json::Value::Null)
    }
}

/// What to complete at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Byte offset where the replaced word starts.
    pub start: usize,
    pub candidates: Vec<String>,
    /// True when the word is a file name (the caller completes paths).
    pub filename: bool,
}

/// Completes `line` (the text before the cursor).
pub fn complete(
    grammar: &Grammar,
    profile: Profile,
    live: &dyn LiveSource,
    line: &str,
) -> Completion {
    let start = line.rfind(char::is_whitespace).map(|i| i + 1).unwrap_or(0);
    let word = line.get(start..).unwrap_or_default();
    let done: Vec<&str> = line
        .get(..start)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let mut out = Completion {
        start,
        candidates: Vec::new(),
        filename: false,
    };
    if done.first().is_some_and(|w| w.starts_with('\\')) || word.starts_with('\\') {
        out.candidates = client_command_words(&done, word, live);
        return out;
    }
    let Some(first) = done.first() else {
        out.candidates = command_names(grammar, profile, word);
        return out;
    };
    let Some(mut entry) = grammar.commands().lookup(first, profile) else {
        return out;
    };
    if entry.primary_name() == "help" {
        // `help WORDS…` names a command, then maybe an `info` subcommand.
        let rest = after_first_word(line);
        let words_before = done.len() - 1;
        let nested = entry_for_help(grammar, profile, &done[1..]);
        if words_before == 0 || nested {
            let mut inner = complete(grammar, profile, live, &line[rest..]);
            inner.start += rest;
            if inner.filename || words_before > 1 {
                inner.candidates.clear();
                inner.filename = false;
            }
            return inner;
        }
        return out;
    }
    let mut args_done = &done[1..];
    if let Some(sub) = entry.subtable.as_deref().and_then(|t| grammar.table(t)) {
        let Some(second) = args_done.first() else {
            out.candidates = names(sub.entries_for(profile).flat_map(|e| e.names()), word);
            return out;
        };
        let Some(sub_entry) = sub.lookup(second, profile) else {
            return out;
        };
        entry = sub_entry;
        args_done = &args_done[1..];
    }
    let specs = &entry.args_type.get(profile).args;
    if word.starts_with('-') {
        let flags = specs
            .iter()
            .filter_map(|a| a.kind.flag_char())
            .map(|c| format!("-{c}"))
            .filter(|f| !args_done.contains(&f.as_str()));
        out.candidates = names(flags, word);
        return out;
    }
    let (spec, positionals) = match next_argument(specs, args_done) {
        Some(Next::Positional(spec, positionals)) => (spec, positionals),
        Some(Next::FlagValue(flag)) => {
            out.candidates = flag_values(entry, specs, flag, word, live);
            return out;
        }
        None => return out,
    };
    let (values, filename) = values_for(entry, spec, &positionals, word, live);
    out.filename = filename;
    out.candidates = values;
    out
}

/// qhmp's own commands, and for `\qmp` the QMP command, then `key=` names
/// of its arguments not given yet.
fn client_command_words(done: &[&str], word: &str, live: &dyn LiveSource) -> Vec<String> {
    match done {
        [] => names(["\\format", "\\help", "\\qmp"].iter(), word),
        ["\\format"] => names(["classic", "json", "table"].iter(), word),
        ["\\qmp"] => names(live.values(&Live::QmpCommands).iter(), word),
        ["\\qmp", command, given @ ..] if !word.contains('=') => {
            let keys: Vec<String> = live
                .values(&Live::QmpArguments(command.to_string()))
                .into_iter()
                .filter(|k| !given.iter().any(|g| g.split('=').next() == Some(k)))
                .map(|k| format!("{k}="))
                .collect();
            names(keys.iter(), word)
        }
        _ => Vec::new(),
    }
}

/// Command names (every alias) starting with `prefix`.
fn command_names(grammar: &Grammar, profile: Profile, prefix: &str) -> Vec<String> {
    names(
        grammar
            .commands()
            .entries_for(profile)
            .flat_map(|e| e.names()),
        prefix,
    )
}

/// True when `help WORD` is followed by a subcommand of WORD (`help info b`).
fn entry_for_help(grammar: &Grammar, profile: Profile, words: &[&str]) -> bool {
    matches!(words, [one] if grammar
        .commands()
        .lookup(one, profile)
        .is_some_and(|e| e.subtable.is_some()))
}

/// Byte offset just past the first word and the blanks after it.
fn after_first_word(line: &str) -> usize {
    let trimmed = line.trim_start();
    let lead = line.len() - trimmed.len();
    let word_end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let rest = &trimmed[word_end..];
    lead + word_end + (rest.len() - rest.trim_start().len())
}

/// What the next word is.
enum Next<'a, 'w> {
    /// A positional argument, after the positional words already typed.
    Positional(&'a ArgSpec, Vec<&'w str>),
    /// The value of the flag just typed (`-f` of `screendump -f png`).
    FlagValue(char),
}

/// What the next word fills, after the words already typed (flags and their
/// values skipped). `None` when every argument is filled.
fn next_argument<'a, 'w>(specs: &'a [ArgSpec], typed: &[&'w str]) -> Option<Next<'a, 'w>> {
    let mut positionals = Vec::new();
    let mut words = typed.iter();
    while let Some(w) = words.next() {
        if let Some(flag) = w.strip_prefix('-').and_then(|f| f.chars().next()) {
            if specs.iter().any(|a| a.kind.flag_char() == Some(flag)) {
                let takes_value = specs.iter().any(|a| a.kind == ArgKind::FlagValue(flag));
                if takes_value && w.len() == 2 && words.next().is_none() {
                    return Some(Next::FlagValue(flag));
                }
                continue;
            }
        }
        positionals.push(*w);
    }
    let spec = specs
        .iter()
        .filter(|a| a.kind.flag_char().is_none() && a.kind != ArgKind::Format)
        .nth(positionals.len())?;
    Some(Next::Positional(spec, positionals))
}

/// Completion sources a grammar entry may name (`complete: ARG=SOURCE`);
/// any other source is a fixed list of words separated by `|`.
pub const SOURCES: &[&str] = &[
    "qcodes",
    "device-ids",
    "device-options",
    "object-options",
    "netdev-options",
    "chardev-backends",
    "net-clients",
    "netdevs",
    "object-ids",
    "chardevs",
    "ringbuf-chardevs",
    "migration-capabilities",
    "migration-parameters",
    "migration-parameter-values",
    "block-devices-or-vnc",
    "password-after-vnc",
    "log-items",
    "cpu-indexes",
    "trace-events",
    "snapshots",
    "qom-paths",
    "qom-properties",
];

/// Values of flags that take one (`screendump -f png`), from the grammar.
fn flag_values(
    entry: &Entry,
    specs: &[ArgSpec],
    flag: char,
    word: &str,
    live: &dyn LiveSource,
) -> Vec<String> {
    let Some(spec) = specs.iter().find(|a| a.kind == ArgKind::FlagValue(flag)) else {
        return Vec::new();
    };
    match entry.completion(&spec.name) {
        Some(source) => from_source(source, &[], word, live),
        None => Vec::new(),
    }
}

/// Values for the argument at the cursor: the grammar's `complete:` source
/// for it, else what its type suggests.
fn values_for(
    entry: &Entry,
    spec: &ArgSpec,
    positionals: &[&str],
    word: &str,
    live: &dyn LiveSource,
) -> (Vec<String>, bool) {
    if let Some(source) = entry.completion(&spec.name) {
        let values = from_source(source, positionals, word, live);
        // A file argument whose source has nothing here (`change ide1-cd0
        // /srv/…`, where only `vnc` has words) completes file names.
        let filename = values.is_empty() && spec.kind == ArgKind::Filename;
        return (values, filename);
    }
    let values = match spec.kind {
        ArgKind::BlockDevice => names(live.values(&Live::BlockDevices).iter(), word),
        ArgKind::Bool => names(["on", "off"].iter(), word),
        ArgKind::Filename => return (Vec::new(), true),
        _ => Vec::new(),
    };
    (values, false)
}

/// The candidates a named source offers. `positionals` are the arguments
/// typed before this one (a parameter's name, a QOM path).
fn from_source(
    source: &str,
    positionals: &[&str],
    word: &str,
    live: &dyn LiveSource,
) -> Vec<String> {
    let ask = |what: Live| names(live.values(&what).iter(), word);
    match source {
        "qcodes" => last_segment(word, '-', |last| {
            names(crate::translate::qcodes::QCODES.iter(), last)
        }),
        "device-ids" => ask(Live::DeviceIds),
        "device-options" => option_string(word, live, Live::DeviceTypes, Live::DeviceProperties),
        "object-options" => option_string(word, live, Live::ObjectTypes, Live::ObjectProperties),
        "netdev-options" => option_string(word, live, Live::NetdevTypes, |_| Live::NetdevTypes),
        "chardev-backends" if !word.contains(',') => ask(Live::ChardevBackends),
        "chardev-backends" => Vec::new(),
        "net-clients" => ask(Live::NetClients),
        "netdevs" => ask(Live::Netdevs),
        "object-ids" => ask(Live::ObjectIds),
        "chardevs" => ask(Live::Chardevs),
        "ringbuf-chardevs" => ask(Live::RingbufChardevs),
        "migration-capabilities" => ask(Live::MigrationCapabilities),
        "migration-parameters" => ask(Live::MigrationParameters),
        "migration-parameter-values" => match positionals.first() {
            Some(name) => ask(Live::MigrationParameterValues(name.to_string())),
            None => Vec::new(),
        },
        "block-devices-or-vnc" => {
            let mut all = live.values(&Live::BlockDevices);
            all.push("vnc".to_string());
            names(all.iter(), word)
        }
        "password-after-vnc" if positionals.first() == Some(&"vnc") => {
            names(["password"].iter(), word)
        }
        "password-after-vnc" => Vec::new(),
        "log-items" => last_segment(word, ',', |last| {
            names(live.values(&Live::LogItems).iter(), last)
        }),
        "cpu-indexes" => ask(Live::CpuIndexes),
        "trace-events" => ask(Live::TraceEvents),
        "snapshots" => ask(Live::Snapshots),
        "qom-paths" => ask(Live::QomPath(word.to_string())),
        "qom-properties" => match positionals.first() {
            Some(path) => ask(Live::QomProperties(path.to_string())),
            None => Vec::new(),
        },
        fixed => names(fixed.split('|'), word),
    }
}

/// Completes the part of `word` after its last `separator`, keeping what
/// comes before (`ctrl-alt-de` → `ctrl-alt-delete`).
fn last_segment(
    word: &str,
    separator: char,
    complete: impl Fn(&str) -> Vec<String>,
) -> Vec<String> {
    let (head, last) = match word.rfind(separator) {
        Some(i) => word.split_at(i + separator.len_utf8()),
        None => ("", word),
    };
    complete(last)
        .into_iter()
        .map(|c| format!("{head}{c}"))
        .collect()
}

/// `TYPE,key=value,…`: the type first, then `key=` names of that type.
fn option_string(
    word: &str,
    live: &dyn LiveSource,
    types: Live,
    properties: impl Fn(String) -> Live,
) -> Vec<String> {
    let Some((kind, _)) = word.split_once(',') else {
        return names(live.values(&types).iter(), word);
    };
    let kind = kind.strip_prefix("driver=").unwrap_or(kind);
    let kind = kind.strip_prefix("qom-type=").unwrap_or(kind);
    let keys = properties(kind.to_string());
    if keys == types {
        return Vec::new();
    }
    last_segment(word, ',', |last| {
        if last.contains('=') {
            return Vec::new();
        }
        let keys: Vec<String> = live
            .values(&keys)
            .into_iter()
            .map(|k| format!("{k}="))
            .collect();
        names(keys.iter(), last)
    })
}

fn names<S: AsRef<str>>(all: impl Iterator<Item = S>, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = all
        .filter(|n| n.as_ref().starts_with(prefix))
        .map(|n| n.as_ref().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
#[path = "completion_tests.rs"]
mod tests;
