//! Tab completion from the grammar (commands, `info` subcommands, flags,
//! `on`/`off`) and from live values the connected QEMU reports.

use crate::grammar::{ArgKind, ArgSpec, Grammar, Profile};

/// Live values a completion may need, fetched from QEMU when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    BlockDevices,
    Chardevs,
    RingbufChardevs,
    DeviceIds,
    NetClients,
    Netdevs,
    ObjectIds,
    MigrationCapabilities,
    MigrationParameters,
    /// Children of a QOM path (the text typed so far).
    QomPath,
}

/// Where live values come from (QEMU in the REPL, a fixed table in tests).
pub trait LiveSource {
    fn values(&self, what: Live, typed: &str) -> Vec<String>;
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
    let word = &line[start..];
    let done: Vec<&str> = line[..start].split_whitespace().collect();
    let mut out = Completion {
        start,
        candidates: Vec::new(),
        filename: false,
    };
    let Some(first) = done.first() else {
        out.candidates = names(
            grammar
                .commands()
                .entries_for(profile)
                .flat_map(|e| e.names()),
            word,
        );
        return out;
    };
    let Some(mut entry) = grammar.commands().lookup(first, profile) else {
        return out;
    };
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
        let used: Vec<&str> = args_done.to_vec();
        let flags = specs
            .iter()
            .filter_map(|a| a.kind.flag_char())
            .map(|c| format!("-{c}"))
            .filter(|f| !used.contains(&f.as_str()));
        out.candidates = names(flags, word);
        return out;
    }
    let Some(spec) = positional(specs, args_done) else {
        return out;
    };
    let command = entry.primary_name();
    let (values, filename) = values_for(command, spec, args_done, word, live);
    out.filename = filename;
    out.candidates = if command == "sendkey" {
        // Complete the key after the last '-' of `ctrl-alt-del…`.
        let (head, last) = word
            .rsplit_once('-')
            .map(|(h, l)| (format!("{h}-"), l))
            .unwrap_or((String::new(), word));
        names(values.iter().map(String::as_str), last)
            .into_iter()
            .map(|k| format!("{head}{k}"))
            .collect()
    } else {
        names(values.iter().map(String::as_str), word)
    };
    out
}

/// The positional argument the next word fills, after the words already
/// typed (flags and their values skipped).
fn positional<'a>(specs: &'a [ArgSpec], typed: &[&str]) -> Option<&'a ArgSpec> {
    let mut count = 0usize;
    let mut words = typed.iter().peekable();
    while let Some(w) = words.next() {
        if let Some(flag) = w.strip_prefix('-').and_then(|f| f.chars().next()) {
            let takes_value = specs.iter().any(|a| a.kind == ArgKind::FlagValue(flag));
            if takes_value && w.len() == 2 {
                words.next();
            }
            if specs.iter().any(|a| a.kind.flag_char() == Some(flag)) {
                continue;
            }
        }
        count += 1;
    }
    specs
        .iter()
        .filter(|a| a.kind.flag_char().is_none() && a.kind != ArgKind::Format)
        .nth(count)
}

fn values_for(
    command: &str,
    spec: &ArgSpec,
    typed: &[&str],
    word: &str,
    live: &dyn LiveSource,
) -> (Vec<String>, bool) {
    let fixed = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let positional_index = typed.iter().filter(|w| !w.starts_with('-')).count();
    let values = match (command, spec.name.as_str()) {
        ("sendkey", "keys") => fixed(crate::translate::qcodes::QCODES),
        ("device_del", _) => live.values(Live::DeviceIds, word),
        ("set_link", "name") => live.values(Live::NetClients, word),
        ("netdev_del", _) => live.values(Live::Netdevs, word),
        ("object_del", _) => live.values(Live::ObjectIds, word),
        ("chardev-remove" | "chardev-send-break" | "chardev-change", "id") => {
            live.values(Live::Chardevs, word)
        }
        ("ringbuf_write" | "ringbuf_read", "device") => live.values(Live::RingbufChardevs, word),
        ("migrate_set_capability", "capability") => live.values(Live::MigrationCapabilities, word),
        ("migrate_set_parameter", "parameter") => live.values(Live::MigrationParameters, word),
        ("watchdog_action", _) => fixed(&[
            "reset",
            "shutdown",
            "poweroff",
            "pause",
            "debug",
            "none",
            "inject-nmi",
        ]),
        ("qom-list" | "qom-get" | "qom-set" | "qom-tree", "path") => {
            live.values(Live::QomPath, word)
        }
        ("help", _) if positional_index == 0 => return (Vec::new(), false),
        _ => match spec.kind {
            ArgKind::BlockDevice => live.values(Live::BlockDevices, word),
            ArgKind::Bool => fixed(&["on", "off"]),
            ArgKind::Filename => return (Vec::new(), true),
            _ => Vec::new(),
        },
    };
    (values, false)
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
mod tests {
    use super::*;

    const TOP: &str = "
[eject]
versions: 7.2 10.0
args: force:-f,device:B
help: eject
qmp: eject

[set_link]
versions: 7.2 10.0
args: name:s,up:b
help: link
qmp: set_link

[sendkey]
versions: 7.2 10.0
args: keys:s,hold-time:i?
help: keys
qmp: special sendkey

[screendump]
versions: 7.2 10.0
args: filename:F,format:-fs,device:s?,head:i?
help: shot
qmp: screendump

[info]
versions: 7.2 10.0
args: item:s?
help: info
qmp: local
subtable: info
";
    const INFO: &str = "
[block]
versions: 7.2 10.0
args: nodes:-n,verbose:-v,device:B?
help: b
qmp: query-block

[blockstats]
versions: 7.2 10.0
help: bs
qmp: query-blockstats
";

    struct Fake;
    impl LiveSource for Fake {
        fn values(&self, what: Live, _typed: &str) -> Vec<String> {
            match what {
                Live::BlockDevices => vec!["ide1-cd0".into(), "disk0".into()],
                Live::NetClients => vec!["net0".into()],
                _ => Vec::new(),
            }
        }
    }

    fn c(line: &str) -> Vec<String> {
        let g = Grammar::from_sources(&[("commands.hmp", TOP), ("info.hmp", INFO)]).unwrap();
        complete(&g, Profile::V10_0, &Fake, line).candidates
    }

    #[test]
    fn commands_subcommands_and_flags() {
        assert_eq!(c("e"), ["eject"]);
        assert_eq!(c("info bl"), ["block", "blockstats"]);
        assert_eq!(c("eject -"), ["-f"]);
        assert_eq!(c("info block -v -"), ["-n"]);
    }

    #[test]
    fn live_values_by_argument_type_and_command() {
        assert_eq!(c("eject "), ["disk0", "ide1-cd0"]);
        assert_eq!(c("eject -f i"), ["ide1-cd0"]);
        assert_eq!(c("info block -v d"), ["disk0"]);
        assert_eq!(c("set_link "), ["net0"]);
        assert_eq!(c("set_link net0 o"), ["off", "on"]);
    }

    #[test]
    fn sendkey_completes_the_last_key() {
        assert_eq!(c("sendkey ctrl-alt-del"), ["ctrl-alt-delete"]);
    }

    #[test]
    fn filenames_are_left_to_the_path_completer() {
        let g = Grammar::from_sources(&[("commands.hmp", TOP), ("info.hmp", INFO)]).unwrap();
        let done = complete(&g, Profile::V10_0, &Fake, "screendump -f png /tm");
        assert!(done.filename);
        assert_eq!(done.start, "screendump -f png ".len());
    }
}
