//! Structural checks of the embedded tables that need no QEMU: every entry
//! parses, templates only name arguments the entry has, and every `special`
//! routine is one the translator knows.

use super::{ArgKind, Entry, Grammar, Profile, QmpMapping, Table};
use serde_json::Value;

/// The routines `src/translate/special.rs` implements.
const SPECIAL_ROUTINES: &[&str] = crate::translate::special::ROUTINES;

fn grammar() -> &'static Grammar {
    match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => panic!("the built-in tables do not parse: {e}"),
    }
}

fn commands() -> &'static Table {
    match grammar().table("commands") {
        Some(t) => t,
        None => panic!("no 'commands' table"),
    }
}

/// How one template string refers to arguments.
#[derive(Debug, PartialEq)]
enum Placeholder<'a> {
    /// `"$name"`, `"$name?A:B"`, `"$name|lower"` …: the argument and the
    /// modifier text after it (empty for a plain reference).
    Whole(&'a str, &'a str),
    /// `"text${name}text"`: the interpolated names.
    Interpolated(Vec<&'a str>),
    /// `"$*"`: every argument not used elsewhere.
    Rest,
    /// A constant string.
    Constant,
}

fn classify(s: &str) -> Placeholder<'_> {
    if s == "$*" {
        return Placeholder::Rest;
    }
    if let Some(body) = s.strip_prefix('$') {
        if !body.starts_with('{') {
            let end = body.find(['?', '|']).unwrap_or(body.len());
            return Placeholder::Whole(&body[..end], &body[end..]);
        }
    }
    let mut names = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    if names.is_empty() {
        Placeholder::Constant
    } else {
        Placeholder::Interpolated(names)
    }
}

/// Every placeholder in a template, with the object key it sits under.
fn placeholders<'a>(
    value: &'a Value,
    key: Option<&'a str>,
    out: &mut Vec<(Option<&'a str>, &'a str)>,
) {
    match value {
        Value::String(s) => out.push((key, s)),
        Value::Array(items) => items.iter().for_each(|v| placeholders(v, key, out)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| placeholders(v, Some(k.as_str()), out)),
        _ => {}
    }
}

fn mappings(entry: &Entry) -> impl Iterator<Item = (Profile, &QmpMapping)> {
    entry.versions.iter().map(move |p| (*p, entry.qmp.get(*p)))
}

#[test]
fn every_table_parses_and_commands_is_first_class() {
    let g = grammar();
    assert!(g.table("commands").is_some());
    assert!(g.table("info").is_some());
    let info = commands().lookup("info", Profile::V10_0);
    assert_eq!(info.and_then(|e| e.subtable.as_deref()), Some("info"));
}

#[test]
fn entries_are_in_qemu_help_order_and_names_are_unique_per_version() {
    let entries = &commands().entries;
    for pair in entries.windows(2) {
        assert!(
            pair[0].name.as_bytes() < pair[1].name.as_bytes(),
            "'{}' must come before '{}'",
            pair[0].name,
            pair[1].name
        );
    }
    for p in Profile::ALL {
        let mut seen: Vec<&str> = Vec::new();
        for e in commands().entries_for(p) {
            for n in e.names() {
                assert!(!seen.contains(&n), "{n} is defined twice for {p}");
                seen.push(n);
            }
        }
    }
}

#[test]
fn template_placeholders_name_arguments_of_the_entry() {
    for entry in &commands().entries {
        for (profile, mapping) in mappings(entry) {
            let QmpMapping::Calls(calls) = mapping else {
                continue;
            };
            let args = entry.args_type.get(profile);
            let has = |name: &str| args.get(name).is_some();
            for call in calls {
                let Some(template) = &call.template else {
                    continue;
                };
                let mut found = Vec::new();
                placeholders(template, None, &mut found);
                for (key, text) in found {
                    let at = format!("[{}] for {profile}, {}: {text:?}", entry.name, call.command);
                    match classify(text) {
                        Placeholder::Whole(name, modifier) => {
                            assert!(has(name), "{at}: no argument '{name}'");
                            let kind = args.get(name).map(|a| a.kind);
                            match modifier {
                                "" | "|str" => {}
                                "|lower" => assert!(
                                    matches!(
                                        kind,
                                        Some(
                                            ArgKind::Str
                                                | ArgKind::Filename
                                                | ArgKind::BlockDevice
                                                | ArgKind::RestOfLine
                                                | ArgKind::FlagValue(_)
                                        )
                                    ),
                                    "{at}: '|lower' needs a string argument"
                                ),
                                m => assert!(m.starts_with('?'), "{at}: unknown modifier"),
                            }
                        }
                        Placeholder::Interpolated(names) => {
                            for name in names {
                                assert!(has(name), "{at}: no argument '{name}'");
                            }
                        }
                        Placeholder::Rest => {
                            assert_eq!(key, Some("..."), "{at}: '$*' must be the value of \"...\"");
                        }
                        Placeholder::Constant => {}
                    }
                }
            }
        }
    }
}

#[test]
fn conditional_placeholders_test_flags_or_booleans() {
    for entry in &commands().entries {
        for (profile, mapping) in mappings(entry) {
            let QmpMapping::Calls(calls) = mapping else {
                continue;
            };
            let args = entry.args_type.get(profile);
            for template in calls.iter().filter_map(|c| c.template.as_ref()) {
                let mut found = Vec::new();
                placeholders(template, None, &mut found);
                for (_, text) in found {
                    if let Placeholder::Whole(name, modifier) = classify(text) {
                        if modifier.starts_with('?') {
                            let kind = args.get(name).map(|a| a.kind);
                            assert!(
                                matches!(kind, Some(ArgKind::Flag(_) | ArgKind::Bool)),
                                "[{}] {text:?}: '?' tests a flag or on/off argument",
                                entry.name
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn special_mappings_name_known_routines() {
    for entry in &commands().entries {
        for (profile, mapping) in mappings(entry) {
            if let QmpMapping::Special(name) = mapping {
                assert!(
                    SPECIAL_ROUTINES.contains(&name.as_str()),
                    "[{}] for {profile}: unknown special routine '{name}'",
                    entry.name
                );
            }
        }
    }
}

#[test]
fn renderers_belong_to_commands_that_reach_qmp() {
    for entry in &commands().entries {
        let Some(render) = &entry.render else {
            continue;
        };
        assert_eq!(render, entry.primary_name(), "[{}]", entry.name);
        for (profile, mapping) in mappings(entry) {
            assert!(
                matches!(mapping, QmpMapping::Calls(_) | QmpMapping::Special(_)),
                "[{}] for {profile}: a renderer needs a QMP reply",
                entry.name
            );
        }
    }
}

#[test]
fn version_specific_commands_exist_only_where_qemu_has_them() {
    let t = commands();
    let exists = |name: &str, p: Profile| t.lookup(name, p).is_some();
    assert!(exists("singlestep", Profile::V7_2) && !exists("singlestep", Profile::V10_0));
    for name in ["one-insn-per-tb", "xen-event-inject", "xen-event-list"] {
        assert!(
            exists(name, Profile::V10_0) && !exists(name, Profile::V7_2),
            "{name}"
        );
    }
    for alias in [
        "c", "cont", "q", "quit", "s", "stop", "p", "print", "?", "help",
    ] {
        assert!(
            exists(alias, Profile::V7_2) && exists(alias, Profile::V10_0),
            "{alias}"
        );
    }
}

#[test]
fn arguments_that_changed_after_7_2_differ_by_profile() {
    let t = commands();
    let args = |name: &str, p: Profile| {
        t.lookup(name, p)
            .map(|e| e.args_type.get(p).to_string())
            .unwrap_or_default()
    };
    assert!(args("migrate", Profile::V7_2).contains("blk:-b"));
    assert!(!args("migrate", Profile::V10_0).contains("blk:-b"));
    assert!(args("dump-guest-memory", Profile::V10_0).contains("raw:-R"));
    assert!(!args("dump-guest-memory", Profile::V7_2).contains("raw:-R"));
}

#[test]
fn placeholder_classification() {
    assert_eq!(classify("$device"), Placeholder::Whole("device", ""));
    assert_eq!(
        classify("$full?full:top"),
        Placeholder::Whole("full", "?full:top")
    );
    assert_eq!(
        classify("$action|lower"),
        Placeholder::Whole("action", "|lower")
    );
    assert_eq!(classify("$tls-port"), Placeholder::Whole("tls-port", ""));
    assert_eq!(
        classify("file:${filename}"),
        Placeholder::Interpolated(vec!["filename"])
    );
    assert_eq!(classify("$*"), Placeholder::Rest);
    assert_eq!(classify("report"), Placeholder::Constant);
}

#[test]
fn commands_reporting_bare_errors_are_marked() {
    let t = commands();
    for name in [
        "trace-event",
        "replay_break",
        "replay_delete_break",
        "replay_seek",
    ] {
        let entry = t.lookup(name, Profile::V10_0);
        assert_eq!(entry.map(|e| e.plain_errors), Some(true), "{name}");
    }
    assert_eq!(
        t.lookup("set_link", Profile::V10_0).map(|e| e.plain_errors),
        Some(false)
    );
}

#[test]
fn the_errors_field_accepts_only_plain() {
    let source = "[x]\nversions: 7.2\nhelp: h\nqmp: hmp-only\nerrors: plain\n";
    let g = Grammar::from_sources(&[("t.hmp", source)]);
    let plain = g
        .ok()
        .and_then(|g| g.tables.first()?.entries.first().map(|e| e.plain_errors));
    assert_eq!(plain, Some(true));

    let bad = "[x]\nversions: 7.2\nhelp: h\nqmp: hmp-only\nerrors: loud\n";
    match Grammar::from_sources(&[("t.hmp", bad)]) {
        Ok(_) => panic!("'errors: loud' was accepted"),
        Err(e) => {
            assert_eq!((e.location.line, e.location.column), (5, 9));
            assert!(e.message.contains("'plain'"), "{}", e.message);
        }
    }
}

#[test]
fn completion_sources_name_real_arguments_and_known_sources() {
    let sources = crate::repl::COMPLETION_SOURCES;
    let mut seen = 0;
    for table in &grammar().tables {
        for entry in &table.entries {
            for (arg, source) in &entry.completions {
                seen += 1;
                let declared = Profile::ALL
                    .iter()
                    .any(|p| entry.exists_in(*p) && entry.args_type.get(*p).get(arg).is_some());
                assert!(
                    declared,
                    "[{}] completes '{arg}', which is not one of its arguments",
                    entry.name
                );
                assert!(
                    sources.contains(&source.as_str()) || source.contains('|'),
                    "[{}] names unknown completion source '{source}'",
                    entry.name
                );
            }
        }
    }
    assert!(seen >= 30, "only {seen} completion entries");
}

#[test]
fn a_malformed_complete_field_names_the_spot() {
    let bad = "[x]\nversions: 10.0\nhelp: h\nqmp: stop\ncomplete: nothing\n";
    match Grammar::from_sources(&[("commands.hmp", bad)]) {
        Ok(_) => panic!("a complete field without '=' was accepted"),
        Err(e) => {
            assert_eq!(e.location.line, 5);
            assert!(e.message.contains("ARGUMENT=SOURCE"), "{}", e.message);
        }
    }
}

#[test]
fn commands_that_cannot_be_undone_ask_first() {
    let mut asking: Vec<&str> = commands()
        .entries
        .iter()
        .filter(|e| e.confirm.as_deref().is_some_and(|c| !c.is_empty()))
        .map(Entry::primary_name)
        .collect();
    asking.sort_unstable();
    assert_eq!(
        asking,
        [
            "delvm",
            "device_del",
            "drive_del",
            "loadvm",
            "migrate",
            "quit",
            "system_reset"
        ]
    );
    let bad = Grammar::from_sources(&[(
        "commands.hmp",
        "[x]\nversions: 10.0\nhelp: h\nconfirm@7.2: no\nqmp: local\n",
    )]);
    assert!(bad.is_err(), "confirm is not per version");
}
