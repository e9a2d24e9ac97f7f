//! `help`, `help CMD…`, `help info` and bare `info`, as QEMU's HMP lists them:
//! one `name params -- help` line per entry, in table order.

use crate::grammar::{Entry, Grammar, Profile, Table};

/// The help listing for the words after `help` (already split into tokens).
///
/// Mirrors QEMU: each word selects an entry (aliases count); an entry with a
/// sub-table consumes the next word; when the words run out at a sub-table,
/// every entry of it is listed. Lines are prefixed by the words consumed
/// before the entry. Lines end in `\n`.
pub fn help_text(grammar: &Grammar, profile: Profile, words: &[String]) -> String {
    let mut table = grammar.commands();
    let mut consumed: Vec<&str> = Vec::new();
    let mut words = words.iter();
    loop {
        let Some(word) = words.next() else {
            return list(table, profile, &consumed);
        };
        let Some(entry) = table.lookup(word, profile) else {
            let mut spelled = consumed.join(" ");
            if !spelled.is_empty() {
                spelled.push(' ');
            }
            return format!("unknown command: '{spelled}{word}'\n");
        };
        match entry
            .subtable
            .as_deref()
            .and_then(|name| grammar.table(name))
        {
            Some(sub) => {
                consumed.push(word);
                table = sub;
            }
            _ => return line(entry, profile, &consumed),
        }
    }
}

/// `info` alone: the same as `help info`.
pub fn info_listing(grammar: &Grammar, profile: Profile) -> String {
    help_text(grammar, profile, &["info".to_string()])
}

fn list(table: &Table, profile: Profile, consumed: &[&str]) -> String {
    table
        .entries_for(profile)
        .map(|e| line(e, profile, consumed))
        .collect()
}

fn line(entry: &Entry, profile: Profile, consumed: &[&str]) -> String {
    let prefix: String = consumed.iter().map(|w| format!("{w} ")).collect();
    format!(
        "{prefix}{} {} -- {}\n",
        entry.name,
        entry.params.get(profile),
        entry.help
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: &str = "
[stop|s]
versions: 7.2 10.0
help: pause the guest
qmp: stop

[block_resize]
versions: 10.0
args: device:B,size:o
params: device size
help: resize
qmp: block_resize

[info]
versions: 7.2 10.0
args: item:s?
params: [subcommand]
help: show things
qmp: local
subtable: info
";
    const INFO: &str = "
[version]
versions: 7.2 10.0
help: the version
qmp: query-version

[block]
versions: 7.2 10.0
args: nodes:-n,verbose:-v,device:B?
params: [-n] [-v] [device]
help: block devices
qmp: query-block
";

    fn grammar() -> Grammar {
        Grammar::from_sources(&[("commands.hmp", TOP), ("info.hmp", INFO)]).unwrap()
    }

    fn help(words: &[&str], profile: Profile) -> String {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        help_text(&grammar(), profile, &words)
    }

    #[test]
    fn lists_the_profile_s_commands_in_table_order() {
        assert_eq!(
            help(&[], Profile::V10_0),
            "block_resize device size -- resize\ninfo [subcommand] -- show things\nstop|s  -- pause the guest\n"
        );
        assert!(!help(&[], Profile::V7_2).contains("block_resize"));
    }

    #[test]
    fn one_command_by_name_or_alias_ignoring_extra_words() {
        assert_eq!(help(&["s"], Profile::V10_0), "stop|s  -- pause the guest\n");
        assert_eq!(
            help(&["stop", "foo"], Profile::V10_0),
            "stop|s  -- pause the guest\n"
        );
    }

    #[test]
    fn sub_table_entries_carry_the_consumed_words() {
        assert_eq!(
            help(&["info", "version", "x"], Profile::V10_0),
            "info version  -- the version\n"
        );
        assert_eq!(
            info_listing(&grammar(), Profile::V10_0),
            "info block [-n] [-v] [device] -- block devices\ninfo version  -- the version\n"
        );
    }

    #[test]
    fn unknown_words_name_the_path() {
        assert_eq!(
            help(&["nosuch"], Profile::V10_0),
            "unknown command: 'nosuch'\n"
        );
        assert_eq!(
            help(&["info", "foo"], Profile::V10_0),
            "unknown command: 'info foo'\n"
        );
        assert_eq!(
            help(&["block_resize"], Profile::V7_2),
            "unknown command: 'block_resize'\n"
        );
    }
}
