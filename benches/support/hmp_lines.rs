//! Realistic HMP command lines built from the grammar: every command of a
//! profile with plausible arguments, plus the lines operators type most.
//!
//! Shared by the parser benchmark (`benches/parser.rs`) and the no-panic
//! suite (`tests/no_panic.rs`), which include this file by path.
#![allow(dead_code)]

use qhmp::grammar::{ArgKind, ArgSpec, Entry, Grammar, Optionality, Profile};

/// Lines an operator types again and again, as typed (odd spacing included).
pub const OPERATOR_LINES: &[&str] = &[
    "info status",
    "info version",
    "info block",
    "info block -v",
    "info registers",
    "info cpus",
    "info mtree",
    "info qtree",
    "info network",
    "info migrate",
    "info pci",
    "info kvm",
    "info vnc",
    "info balloon",
    "info name",
    "info uuid",
    "c",
    "cont",
    "stop",
    "system_reset",
    "system_powerdown",
    "x /10i $pc",
    "x /16xb 0x1000",
    "xp /4xg 0xfee00000",
    "xp /2g 0x1000+4*8",
    "print /x (0x1000 + 3) | 0x10",
    "p 0x10 * 4",
    "block_resize disk0 10G",
    "block_resize ide0-hd0 512M",
    "sendkey ctrl-alt-f1",
    "sendkey ctrl-alt-delete 200",
    "migrate -d tcp:127.0.0.1:4444",
    "migrate_set_parameter max-bandwidth 100M",
    "device_add virtio-net-pci,id=n1,netdev=h1",
    "device_del n1",
    "netdev_add user,id=h1,hostfwd=tcp::2222-:22",
    "drive_add 0 if=none,file=/tmp/disk1.img,id=d1",
    "savevm snap1",
    "loadvm snap1",
    "delvm snap1",
    "change vnc password",
    "eject -f ide1-cd0",
    "set_link n1 off",
    "memsave 0 4096 mem.bin",
    "screendump /tmp/screen.ppm",
    "  info   status  ",
    "help",
    "help info",
    "",
];

/// A plausible token for one argument (a flag yields its `-X` spelling).
pub fn plausible_value(spec: &ArgSpec) -> String {
    let name = spec.name.as_str();
    match spec.kind {
        ArgKind::Str | ArgKind::BlockDevice => plausible_word(name).to_string(),
        // Relative: after an integer, QEMU reads ` /tmp` as a division.
        ArgKind::Filename => "qhmp-bench.img".to_string(),
        ArgKind::RestOfLine => "some free text for the command".to_string(),
        ArgKind::Opts => match name {
            "device" => "virtio-net-pci,id=n1,netdev=h1".to_string(),
            _ => "user,id=h1,hostfwd=tcp::2222-:22".to_string(),
        },
        ArgKind::Int32 => "0x10".to_string(),
        ArgKind::Int64 => "0x1000".to_string(),
        ArgKind::SizeMiB => "512".to_string(),
        ArgKind::Size => "10G".to_string(),
        ArgKind::Time => "1.5".to_string(),
        ArgKind::Bool => "on".to_string(),
        ArgKind::Format => "/8xw".to_string(),
        ArgKind::Flag(c) => format!("-{c}"),
        ArgKind::FlagValue(c) => format!("-{c} {}", plausible_word(name)),
    }
}

/// A word that fits an argument's name.
fn plausible_word(name: &str) -> &'static str {
    match name {
        n if n.contains("device") || n == "drive" => "disk0",
        n if n.contains("id") => "obj0",
        n if n.contains("file") || n.contains("path") => "qhmp-bench.img",
        n if n.contains("uri") => "tcp:127.0.0.1:4444",
        n if n.contains("name") || n.contains("tag") => "snap1",
        "keys" => "ctrl-alt-delete",
        "protocol" => "vnc",
        _ => "value0",
    }
}

/// The line for `words` followed by plausible values of `args`.
fn line_with(words: &str, args: &[&ArgSpec]) -> String {
    let mut line = words.to_string();
    for spec in args {
        if spec.optionality == Optionality::Dotted {
            line.push_str(" .");
        }
        line.push(' ');
        line.push_str(&plausible_value(spec));
    }
    line
}

/// Each command of the profile as `(words, entry)`: `("info block", …)`.
pub fn commands(grammar: &Grammar, profile: Profile) -> Vec<(String, &Entry)> {
    let mut out = Vec::new();
    for entry in grammar.commands().entries_for(profile) {
        out.push((entry.primary_name().to_string(), entry));
        let sub = entry.subtable.as_deref().and_then(|s| grammar.table(s));
        for inner in sub.into_iter().flat_map(|t| t.entries_for(profile)) {
            let words = format!("{} {}", entry.primary_name(), inner.primary_name());
            out.push((words, inner));
        }
    }
    out
}

/// Every command twice: with its required arguments only (spelled with its
/// last alias) and with all of them (once for a command with a sub-table).
pub fn grammar_lines(grammar: &Grammar, profile: Profile) -> Vec<String> {
    let mut out = Vec::new();
    for (words, entry) in commands(grammar, profile) {
        let specs = &entry.args_type.get(profile).args;
        let required: Vec<&ArgSpec> = specs.iter().filter(|s| !s.is_optional()).collect();
        let all: Vec<&ArgSpec> = specs.iter().collect();
        let alias = match entry.names().last() {
            Some(last) if !words.contains(' ') => last.to_string(),
            _ => words.clone(),
        };
        out.push(line_with(&alias, &required));
        // `info` takes the sub-command as its argument: covered above.
        if entry.subtable.is_none() {
            out.push(line_with(&words, &all));
        }
    }
    out
}

/// At least `min` lines: every grammar line once, then the operator lines
/// (at least once) over and over, as real sessions are dominated by a few commands.
pub fn realistic_mix(grammar: &Grammar, profile: Profile, min: usize) -> Vec<String> {
    let mut out = grammar_lines(grammar, profile);
    loop {
        out.extend(OPERATOR_LINES.iter().map(|l| l.to_string()));
        if out.len() >= min {
            return out;
        }
    }
}
