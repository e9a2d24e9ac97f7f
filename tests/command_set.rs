//! The authority test for the command tables: each live QEMU's own `help` and
//! `help info` listing must be exactly what the grammar describes for that
//! release — the same names (with aliases), in the same order, with the same
//! usage strings. Help texts are skipped: ours are written in our own words.
//!
//! QEMU binaries come from `QHMP_QEMU_5`, `_7`, `_8`, `_10` and `_11`. Without them the
//! tests print a note and pass, unless `CI=true`, where they fail.

use qhmp::grammar::{Entry, Grammar, Profile, QmpMapping, Table};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

mod live {
    //! Just enough of a QMP client to read `help` listings from a QEMU.

    use serde_json::{json, Value};
    use std::fs::File;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const STARTUP: Duration = Duration::from_secs(20);
    const REPLY: Duration = Duration::from_secs(30);

    /// A QEMU started for one test run; killed (by its own handle) on drop.
    pub struct Qemu {
        child: Child,
        reader: BufReader<UnixStream>,
        writer: UnixStream,
        _dir: tempfile::TempDir,
    }

    impl Qemu {
        pub fn start(binary: &str) -> Result<Qemu, String> {
            let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?;
            let socket = dir.path().join("qmp.sock");
            let log_path = dir.path().join("stderr.log");
            let log = File::create(&log_path).map_err(|e| format!("cannot create log: {e}"))?;
            let child = Command::new(binary)
                .args([
                    "-machine",
                    "pc",
                    "-S",
                    "-nodefaults",
                    "-display",
                    "none",
                    "-qmp",
                ])
                .arg(format!("unix:{},server=on,wait=off", socket.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot start {binary}: {e}"))?;
            let mut qemu = Qemu::connect(child, &socket, &log_path, binary, dir)?;
            qemu.read_reply()
                .map_err(|e| format!("no QMP greeting: {e}"))?;
            qemu.execute("qmp_capabilities", None)?;
            Ok(qemu)
        }

        fn connect(
            mut child: Child,
            socket: &Path,
            log: &Path,
            binary: &str,
            dir: tempfile::TempDir,
        ) -> Result<Qemu, String> {
            let deadline = Instant::now() + STARTUP;
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let stderr = std::fs::read_to_string(log).unwrap_or_default();
                    return Err(format!("{binary} exited ({status}) at start: {stderr}"));
                }
                if let Ok(stream) = UnixStream::connect(socket) {
                    let prepared = stream
                        .set_read_timeout(Some(REPLY))
                        .and_then(|()| stream.try_clone());
                    return match prepared {
                        Ok(writer) => Ok(Qemu {
                            child,
                            reader: BufReader::new(stream),
                            writer,
                            _dir: dir,
                        }),
                        Err(e) => {
                            let _ = child.kill();
                            let _ = child.wait();
                            Err(format!("cannot use the QMP socket: {e}"))
                        }
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{binary} did not open its QMP socket in time"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        /// The next message that is not an event.
        fn read_reply(&mut self) -> Result<Value, String> {
            loop {
                let mut line = String::new();
                let n = self
                    .reader
                    .read_line(&mut line)
                    .map_err(|e| format!("reading QMP: {e}"))?;
                if n == 0 {
                    return Err("QEMU closed the QMP socket".into());
                }
                let message: Value = serde_json::from_str(&line)
                    .map_err(|e| format!("bad QMP JSON {line:?}: {e}"))?;
                if message.get("event").is_none() {
                    return Ok(message);
                }
            }
        }

        pub fn execute(
            &mut self,
            command: &str,
            arguments: Option<Value>,
        ) -> Result<Value, String> {
            let mut request = json!({ "execute": command });
            if let (Some(args), Some(obj)) = (arguments, request.as_object_mut()) {
                obj.insert("arguments".into(), args);
            }
            writeln!(self.writer, "{request}").map_err(|e| format!("writing QMP: {e}"))?;
            let reply = self.read_reply()?;
            match reply.get("return") {
                Some(value) => Ok(value.clone()),
                None => Err(format!("{command} failed: {reply}")),
            }
        }

        pub fn hmp(&mut self, line: &str) -> Result<String, String> {
            let reply = self.execute(
                "human-monitor-command",
                Some(json!({ "command-line": line })),
            )?;
            reply
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("'{line}' answered with a non-string: {reply}"))
        }

        /// `(major, minor)` from `query-version`.
        pub fn version(&mut self) -> Result<(u32, u32), String> {
            let reply = self.execute("query-version", None)?;
            let part = |name: &str| {
                reply
                    .pointer(&format!("/qemu/{name}"))
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("query-version without qemu.{name}: {reply}"))
            };
            Ok((part("major")?, part("minor")?))
        }
    }

    impl Drop for Qemu {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What one QEMU prints for `help` and `help info`, and the QMP commands it
/// offers with their argument names.
struct Listings {
    top: String,
    info: String,
    qmp: HashMap<String, HashSet<String>>,
}

fn fetch(profile: Profile, binary: &str) -> Result<Listings, String> {
    let mut qemu = live::Qemu::start(binary)?;
    let (major, minor) = qemu.version()?;
    if Profile::for_version(major, minor) != profile {
        return Err(format!(
            "{binary} is QEMU {major}.{minor}, not a {profile:?} release"
        ));
    }
    let offered = qemu.execute("query-commands", None)?;
    let schema = qemu.execute("query-qmp-schema", None)?;
    Ok(Listings {
        top: qemu.hmp("help")?,
        info: qemu.hmp("help info")?,
        qmp: qmp_commands(&offered, &schema)?,
    })
}

/// Each command `query-commands` lists, with the member names of its
/// argument type in `query-qmp-schema`.
fn qmp_commands(
    offered: &Value,
    schema: &Value,
) -> Result<HashMap<String, HashSet<String>>, String> {
    let items = |v: &'static str, value: &Value| -> Result<Vec<Value>, String> {
        value
            .as_array()
            .cloned()
            .ok_or_else(|| format!("{v} did not return a list"))
    };
    let schema = items("query-qmp-schema", schema)?;
    let field = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_string);
    let mut members: HashMap<String, HashSet<String>> = HashMap::new();
    let mut arg_type: HashMap<String, String> = HashMap::new();
    for item in &schema {
        let (Some(name), Some(meta)) = (field(item, "name"), field(item, "meta-type")) else {
            continue;
        };
        match meta.as_str() {
            "object" => {
                let names = item
                    .get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                members.insert(name, names.filter_map(|m| field(m, "name")).collect());
            }
            "command" => {
                if let Some(t) = field(item, "arg-type") {
                    arg_type.insert(name, t);
                }
            }
            _ => {}
        }
    }
    let mut commands = HashMap::new();
    for command in items("query-commands", offered)? {
        let Some(name) = field(&command, "name") else {
            continue;
        };
        let args = arg_type
            .get(&name)
            .and_then(|t| members.get(t))
            .cloned()
            .unwrap_or_default();
        commands.insert(name, args);
    }
    Ok(commands)
}

/// The environment variable naming the QEMU binary of a profile.
fn binary_var(profile: Profile) -> &'static str {
    match profile {
        Profile::V5_2 => "QHMP_QEMU_5",
        Profile::V7_2 => "QHMP_QEMU_7",
        Profile::V8_2 => "QHMP_QEMU_8",
        Profile::V10_0 => "QHMP_QEMU_10",
        Profile::V11_1 => "QHMP_QEMU_11",
    }
}

/// The listings of the QEMU for a profile, fetched once per test binary.
/// `None` when that QEMU is not configured (outside CI).
fn listings(profile: Profile) -> Option<&'static Listings> {
    type Cell = OnceLock<Option<Result<Listings, String>>>;
    static CELLS: [Cell; Profile::ALL.len()] = [const { OnceLock::new() }; Profile::ALL.len()];
    let index = Profile::ALL.iter().position(|p| *p == profile)?;
    let var = binary_var(profile);
    let fetched = CELLS[index].get_or_init(|| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|binary| fetch(profile, &binary))
    });
    match fetched {
        Some(Ok(listings)) => Some(listings),
        Some(Err(e)) => panic!("{var}: {e}"),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set, and CI=true needs the live QEMU")
        }
        None => {
            eprintln!("note: {var} is not set; skipping the live command-set check");
            None
        }
    }
}

/// The start of an entry's line in QEMU's `help`: prefix, full name, usage
/// string and the separator (the monitor turns `\n` into CR LF).
fn head(prefix: &str, entry: &Entry, profile: Profile) -> String {
    let params = entry.params.get(profile);
    format!("{prefix}{} {params} -- ", entry.name).replace('\n', "\r\n")
}

/// Checks that `live` is exactly one block per entry, in order: each block is
/// the entry's head, a help text, CR LF, and help continuation lines (which
/// QEMU indents with tabs). Returns a readable diff when it is not.
fn check_listing(live: &str, prefix: &str, table: &Table, profile: Profile) -> Result<(), String> {
    let entries: Vec<&Entry> = table.entries_for(profile).collect();
    let mut pos = 0;
    for (index, entry) in entries.iter().enumerate() {
        let expected = head(prefix, entry, profile);
        let rest = live.get(pos..).unwrap_or("");
        if !rest.starts_with(&expected) {
            let found = rest.split("\r\n").next().unwrap_or("");
            return Err(format!(
                "{profile:?} `{}`: entry #{index} should start with {expected:?}, found {found:?}\n{}",
                format!("help {prefix}").trim_end(),
                diagnose(live, prefix, &entries, profile)
            ));
        }
        pos += expected.len();
        let next = entries.get(index + 1).map(|e| head(prefix, e, profile));
        pos = end_of_block(live, pos, next.as_deref()).ok_or_else(|| {
            format!(
                "{profile:?}: the help text of '{}' does not end with CR LF",
                entry.name
            )
        })?;
    }
    if pos != live.len() {
        return Err(format!(
            "{profile:?}: QEMU lists more after the last expected entry: {:?}\n{}",
            live.get(pos..).unwrap_or(""),
            diagnose(live, prefix, &entries, profile)
        ));
    }
    Ok(())
}

/// Where the block whose help text starts at `from` ends: after the CR LF of
/// its last line, counting as continuations tab- or space-indented lines and
/// lines that neither hold the ` -- ` of an entry line nor open the `next`
/// entry (QEMU 5.2's `migrate_set_cache_size` help runs on over an unindented
/// line).
fn end_of_block(live: &str, from: usize, next: Option<&str>) -> Option<usize> {
    let mut pos = from;
    loop {
        pos += live.get(pos..)?.find("\r\n")? + 2;
        let rest = live.get(pos..)?;
        let line = rest.split("\r\n").next().unwrap_or("");
        let opens_next = next.is_some_and(|head| rest.starts_with(head));
        let continues = rest.starts_with(['\t', ' '])
            || (!line.is_empty() && !line.contains(" -- ") && !opens_next);
        if !continues {
            return Some(pos);
        }
    }
}

/// A name-by-name account of how the live listing differs: missing and extra
/// names, changed usage strings and order. Entry starts are found by a
/// heuristic (a non-indented line starting with the prefix and a name-like
/// word); it only explains a failure, the check itself is `check_listing`.
fn diagnose(live: &str, prefix: &str, entries: &[&Entry], profile: Profile) -> String {
    let live_entries = live_entries(live, prefix);
    let live_names: Vec<&str> = live_entries.iter().map(|(n, _)| n.as_str()).collect();
    let ours: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let live_set: HashSet<&str> = live_names.iter().copied().collect();
    let our_set: HashSet<&str> = ours.iter().copied().collect();
    let mut report = Vec::new();
    let missing: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|n| !live_set.contains(n))
        .collect();
    if !missing.is_empty() {
        report.push(format!(
            "  in the grammar but not in QEMU: {}",
            missing.join(", ")
        ));
    }
    let extra: Vec<&str> = live_names
        .iter()
        .copied()
        .filter(|n| !our_set.contains(n))
        .collect();
    if !extra.is_empty() {
        report.push(format!(
            "  in QEMU but not in the grammar: {}",
            extra.join(", ")
        ));
    }
    for entry in entries {
        let ours = entry.params.get(profile).replace('\n', "\r\n");
        if let Some((_, theirs)) = live_entries.iter().find(|(n, _)| *n == entry.name) {
            if *theirs != ours {
                report.push(format!(
                    "  params of '{}': grammar {ours:?}, QEMU {theirs:?}",
                    entry.name
                ));
            }
        }
    }
    let common = |names: &[&str], other: &HashSet<&str>| -> Vec<String> {
        names
            .iter()
            .filter(|n| other.contains(*n))
            .map(|n| n.to_string())
            .collect()
    };
    if common(&ours, &live_set) != common(&live_names, &our_set) {
        report.push(
            "  the shared names are in a different order (the grammar sorts by strcmp)".into(),
        );
    }
    if report.is_empty() {
        report.push("  (names and params agree; the block layout differs)".into());
    }
    report.join("\n")
}

/// `(full name, params)` of each entry line QEMU printed (heuristic).
fn live_entries(live: &str, prefix: &str) -> Vec<(String, String)> {
    let is_name = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '?'))
    };
    let mut found = Vec::new();
    let mut offset = 0;
    for line in live.split_inclusive("\r\n") {
        let start = offset;
        offset += line.len();
        let Some(after) = line.strip_prefix(prefix) else {
            continue;
        };
        let Some((name, _)) = after.split_once(' ') else {
            continue;
        };
        if !is_name(name) {
            continue;
        }
        let params_from = start + prefix.len() + name.len() + 1;
        let tail = live.get(params_from..).unwrap_or("");
        let params = tail.split_once(" -- ").map_or(tail, |(p, _)| p);
        found.push((name.to_string(), params.to_string()));
    }
    found
}

/// Every top-level template member must be an argument of the QMP command in
/// that QEMU. A command the QEMU does not offer is no error: qhmp then sends
/// the line through `human-monitor-command` (see `qhmp::monitor`), which is
/// listed here so the run shows which lines take that path.
fn check_qmp(
    table: &Table,
    profile: Profile,
    offered: &HashMap<String, HashSet<String>>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    for entry in table.entries_for(profile) {
        let QmpMapping::Calls(calls) = entry.qmp.get(profile) else {
            continue;
        };
        for call in calls {
            let Some(args) = offered.get(&call.command) else {
                eprintln!(
                    "{profile}: '{}' needs {}, not offered: sent as HMP",
                    entry.name, call.command
                );
                continue;
            };
            let template = call.template.as_ref().and_then(Value::as_object);
            for key in template.into_iter().flat_map(|t| t.keys()) {
                if key != "..." && !args.contains(key) {
                    problems.push(format!(
                        "  '{}' passes '{key}', not an argument of {}",
                        entry.name, call.command
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{profile:?} table '{}':\n{}",
            table.name,
            problems.join("\n")
        ))
    }
}

fn grammar() -> &'static Grammar {
    match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => panic!("the built-in grammar does not load: {e}"),
    }
}

fn check_info(profile: Profile) {
    let Some(listings) = listings(profile) else {
        return;
    };
    let Some(table) = grammar().table("info") else {
        panic!("the grammar has no 'info' table")
    };
    if let Err(diff) = check_listing(&listings.info, "info ", table, profile) {
        panic!("{diff}");
    }
}

fn check_calls(profile: Profile, table_name: &str) {
    let Some(listings) = listings(profile) else {
        return;
    };
    let Some(table) = grammar().table(table_name) else {
        panic!("the grammar has no '{table_name}' table")
    };
    if let Err(problems) = check_qmp(table, profile, &listings.qmp) {
        panic!("{problems}");
    }
}

fn check_top(profile: Profile) {
    let Some(listings) = listings(profile) else {
        return;
    };
    if let Err(diff) = check_listing(&listings.top, "", grammar().commands(), profile) {
        panic!("{diff}");
    }
}

#[test]
fn info_table_matches_qemu_5_2() {
    check_info(Profile::V5_2);
}

#[test]
fn top_level_table_matches_qemu_5_2() {
    check_top(Profile::V5_2);
}

#[test]
fn info_qmp_calls_exist_in_qemu_5_2() {
    check_calls(Profile::V5_2, "info");
}

#[test]
fn top_level_qmp_calls_exist_in_qemu_5_2() {
    check_calls(Profile::V5_2, "commands");
}

#[test]
fn info_table_matches_qemu_7_2() {
    check_info(Profile::V7_2);
}

#[test]
fn top_level_table_matches_qemu_7_2() {
    check_top(Profile::V7_2);
}

#[test]
fn info_qmp_calls_exist_in_qemu_7_2() {
    check_calls(Profile::V7_2, "info");
}

#[test]
fn top_level_qmp_calls_exist_in_qemu_7_2() {
    check_calls(Profile::V7_2, "commands");
}

#[test]
fn info_table_matches_qemu_8_2() {
    check_info(Profile::V8_2);
}

#[test]
fn top_level_table_matches_qemu_8_2() {
    check_top(Profile::V8_2);
}

#[test]
fn info_qmp_calls_exist_in_qemu_8_2() {
    check_calls(Profile::V8_2, "info");
}

#[test]
fn top_level_qmp_calls_exist_in_qemu_8_2() {
    check_calls(Profile::V8_2, "commands");
}

#[test]
fn info_table_matches_qemu_10_0() {
    check_info(Profile::V10_0);
}

#[test]
fn top_level_table_matches_qemu_10_0() {
    check_top(Profile::V10_0);
}

#[test]
fn info_qmp_calls_exist_in_qemu_10_0() {
    check_calls(Profile::V10_0, "info");
}

#[test]
fn top_level_qmp_calls_exist_in_qemu_10_0() {
    check_calls(Profile::V10_0, "commands");
}

#[test]
fn info_table_matches_qemu_11_1() {
    check_info(Profile::V11_1);
}

#[test]
fn top_level_table_matches_qemu_11_1() {
    check_top(Profile::V11_1);
}

#[test]
fn info_qmp_calls_exist_in_qemu_11_1() {
    check_calls(Profile::V11_1, "info");
}

#[test]
fn top_level_qmp_calls_exist_in_qemu_11_1() {
    check_calls(Profile::V11_1, "commands");
}

/// The checker itself, on made-up listings: it must accept the exact layout
/// and reject a missing entry, an extra entry and a changed usage string.
mod checker {
    use super::*;

    const TABLE: &str = "\
[alpha]
versions: 7.2 10.0
help: a
qmp: hmp-only

[beta|b]
versions: 7.2 10.0
args: x:s?
params: [x]\\n[y]
help: b
qmp: hmp-only
";

    fn table() -> Table {
        match Grammar::from_sources(&[("t/x.hmp", TABLE)]) {
            Ok(g) => g.tables[0].clone(),
            Err(e) => panic!("test table: {e}"),
        }
    }

    const GOOD: &str = "x alpha  -- first\r\n\t\t\tmore of it\r\nx beta|b [x]\r\n[y] -- second\r\n";

    #[test]
    fn accepts_exact_listing() {
        assert_eq!(check_listing(GOOD, "x ", &table(), Profile::V10_0), Ok(()));
    }

    #[test]
    fn rejects_missing_extra_and_changed_entries() {
        let missing = "x beta|b [x]\r\n[y] -- second\r\n";
        let err = check_listing(missing, "x ", &table(), Profile::V10_0).unwrap_err();
        assert!(err.contains("not in QEMU: alpha"), "{err}");

        let extra = format!("{GOOD}x gamma  -- third\r\n");
        let err = check_listing(&extra, "x ", &table(), Profile::V10_0).unwrap_err();
        assert!(err.contains("not in the grammar: gamma"), "{err}");

        let changed = "x alpha  -- first\r\nx beta|b [z] -- second\r\n";
        let err = check_listing(changed, "x ", &table(), Profile::V10_0).unwrap_err();
        assert!(err.contains("params of 'beta|b'"), "{err}");

        let unterminated = "x alpha  -- first\r\nx beta|b [x]\r\n[y] -- second";
        assert!(check_listing(unterminated, "x ", &table(), Profile::V10_0).is_err());
    }
}
