//! The simulator's own HMP: what its `human-monitor-command` runs for the
//! lines qhmp's translator hands over unchanged (commands with no QMP
//! equivalent). QMP-backed lines never get here on a QMP connection: the
//! session answers them with qhmp's translator (see `session.rs`).
//!
//! Lines that look inside the guest or at the host side get deterministic
//! data in QEMU 10.0's layout (`info registers`, `x`, `xp`, `print`, `info
//! mem|tlb|lapic|network|usernet|capture|sync-profile|usbhost`, `boot_set`);
//! other HMP-only commands say plainly that the simulator does not provide
//! them, which no one can take for "unknown command".

use super::args::{obj, opt, req, ArgsExt, Obj, Ty};
use super::commands::{self, Cmd};
use super::error::{CmdResult, QmpError};
use super::guest;
use super::info::{CPUS, PACKAGE};
use super::machine::RunState;
use super::memdump::{self, Fmt};
use super::state::State;
use crate::grammar::{Grammar, Profile, QmpMapping};
use crate::parse::{self, ParsedCommand};
use serde_json::{Map, Value};

/// The HMP command set of the simulated version.
fn profile(st: &State) -> Profile {
    st.version.profile
}

/// QEMU's `cpu-index` check: the index must name a vCPU.
pub(crate) fn check_cpu_index(a: &Map<String, Value>) -> Result<Option<i64>, QmpError> {
    match a.int_arg("cpu-index") {
        Some(cpu) if !(0..CPUS).contains(&cpu) => {
            Err(QmpError::invalid_value("cpu-index", "a CPU number"))
        }
        cpu => Ok(cpu),
    }
}

/// Runs one line on the simulator's own HMP; the text has `\r\n` ends.
pub(crate) fn run_line(st: &mut State, line: &str, cpu: Option<i64>) -> String {
    let Ok(grammar) = Grammar::builtin() else {
        return "Error: the simulator's command table is broken\r\n".into();
    };
    let text = match parsed_line(st, grammar, line) {
        Ok(Some((parsed, _))) => answer(st, grammar, &parsed, cpu.unwrap_or(0)),
        Ok(None) => String::new(),
        Err(text) => text,
    };
    text.replace('\n', "\r\n")
}

/// Parses a line; register reads (`$pc`) are replaced by the simulated
/// vCPU's values first. Errors come back as QEMU's text.
fn parsed_line(
    st: &mut State,
    grammar: &'static Grammar,
    line: &str,
) -> Result<Option<(ParsedCommand<'static>, String)>, String> {
    let mut probe = st.hmp_formats;
    let first = parse::parse_line(grammar, profile(st), line, &mut probe);
    let parsed = match first {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(e) => {
            st.hmp_formats = probe;
            return Err(e.hmp_text());
        }
    };
    if !parsed.args.needs_vm() {
        st.hmp_formats = probe;
        return Ok(Some((parsed, line.to_string())));
    }
    let Some(resolved) = with_registers(line) else {
        st.hmp_formats = probe;
        return Err(format!(
            "unknown register\nTry \"help {}\" for more information\n",
            parsed.spelled.trim()
        ));
    };
    match parse::parse_line(grammar, profile(st), &resolved, &mut st.hmp_formats) {
        Ok(Some(p)) => Ok(Some((p, resolved))),
        Ok(None) => Ok(None),
        Err(e) => Err(e.hmp_text()),
    }
}

/// The line with every `$register` replaced by its value; `None` when a
/// name is not a register of the simulated CPU.
fn with_registers(line: &str) -> Option<String> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(after.len());
        let value = guest::register(&after[..end])?;
        out.push_str(&format!("{value:#x}"));
        rest = &after[end..];
    }
    out.push_str(rest);
    Some(out)
}

fn answer(st: &mut State, grammar: &Grammar, parsed: &ParsedCommand<'_>, cpu: i64) -> String {
    let names: Vec<&str> = parsed.path.iter().map(|e| e.primary_name()).collect();
    let args = &parsed.args;
    let fmt = || Fmt {
        count: args.int("count").unwrap_or(1),
        format: args
            .str("format")
            .and_then(|f| f.chars().next())
            .unwrap_or('x'),
        size: args.int("size").unwrap_or(4),
    };
    match names.as_slice() {
        ["info"] | ["help"] => crate::monitor::local_text(grammar, profile(st), parsed),
        ["info", "registers"] => {
            guest::registers_for(args.flag("cpustate_all"), args.int("vcpu"), cpu)
        }
        ["info", "mem" | "tlb"] => "PG disabled\n".into(),
        ["info", "network"] => network(st),
        ["info", "lapic"] => guest::lapic(args.int("apic-id"), cpu),
        ["info", "usernet"] => usernet(st),
        ["info", "capture"] => String::new(),
        ["info", "sync-profile"] => {
            let rule = "-".repeat(79);
            format!(
                "Type               Object  Call site  Wait Time (s)         Count  Average (us)\n\
                 {rule}\n{rule}\n"
            )
        }
        ["info", "usbhost"] => "Command \"info usbhost\" is not available.\n".into(),
        ["info", what] => info(st, what).unwrap_or_else(|| not_provided(profile(st), parsed)),
        ["x"] => memdump::dump(fmt(), args.int("addr").unwrap_or(0) as u64),
        ["xp"] => memdump::dump(fmt(), args.int("addr").unwrap_or(0) as u64),
        ["print"] => memdump::print(fmt().format, args.int("val").unwrap_or(0)),
        ["boot_set"] => boot_set(st, args.str("bootdevice").unwrap_or_default()),
        ["stop"] => action(st, "stop"),
        ["cont"] => action(st, "cont"),
        ["system_reset"] => action(st, "system_reset"),
        ["system_powerdown"] => action(st, "system_powerdown"),
        _ => not_provided(profile(st), parsed),
    }
}

/// The words for a command the simulator does not carry out: either QEMU
/// runs it from HMP alone (it needs the guest or host behind a real VM), or
/// its QMP command is one the simulator does not model.
fn not_provided(profile: Profile, parsed: &ParsedCommand<'_>) -> String {
    let why = match parsed.entry.qmp.get(profile) {
        QmpMapping::Calls(calls) => match calls.first() {
            Some(call) => format!("it does not model QMP '{}'", call.command),
            None => "it does not model it".to_string(),
        },
        _ => "it has no guest or host resources behind it".to_string(),
    };
    format!(
        "Error: '{}' {}: {why} (try it on a real VM)\n",
        parsed.spelled.trim(),
        crate::monitor::NOT_PROVIDED_BY_SIMULATOR
    )
}

/// `info network`: backends without a card, then each card with its
/// backend under it (QEMU's order when backends are created first).
fn network(st: &State) -> String {
    let backend = |n: &super::Netdev| {
        let detail = if n.kind == "user" {
            "net=10.0.2.0,restrict=off".to_string()
        } else {
            n.options
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!("{}: index=0,type={},{detail}\n", n.id, n.kind)
    };
    let nics: Vec<_> = st
        .devices
        .list
        .iter()
        .filter(|d| d.netdev.is_some())
        .collect();
    let mut out = String::new();
    for n in &st.net.netdevs {
        if !nics
            .iter()
            .any(|d| d.netdev.as_deref() == Some(n.id.as_str()))
        {
            out.push_str(&backend(n));
        }
    }
    for nic in nics {
        out.push_str(&format!(
            "{}: index=0,type=nic,model={},macaddr={}\n",
            nic.id.as_deref().unwrap_or(&nic.driver),
            nic.driver,
            nic.mac.as_deref().unwrap_or("52:54:00:12:34:56")
        ));
        let peer = st
            .net
            .netdevs
            .iter()
            .find(|n| Some(&n.id) == nic.netdev.as_ref());
        if let Some(peer) = peer {
            out.push_str(&format!(" \\ {}", backend(peer)));
        }
    }
    out
}

/// `info usernet`: each user-mode backend's (empty) connection table.
fn usernet(st: &State) -> String {
    st.net
        .netdevs
        .iter()
        .filter(|n| n.kind == "user")
        .map(|n| {
            format!(
                "Hub -1 ({}):\n  Protocol[State]    FD  Source Address  Port   \
                 Dest. Address  Port RecvQ SendQ\n",
                n.id
            )
        })
        .collect()
}

fn info(st: &State, what: &str) -> Option<String> {
    Some(match what {
        "status" => match st.machine.run_state {
            RunState::Running => "VM status: running\n".into(),
            RunState::Paused => "VM status: paused\n".into(),
            other => format!("VM status: paused ({})\n", other.as_str()),
        },
        "name" => format!("{}\n", st.machine.name),
        "version" => {
            let (a, b, c) = st.version.triple();
            format!("{a}.{b}.{c}{PACKAGE}\n")
        }
        "kvm" => "kvm support: enabled\n".into(),
        "uuid" => format!("{}\n", st.machine.uuid),
        "balloon" => match &st.balloon {
            Some(b) => format!("balloon: actual={}\n", b.actual >> 20),
            None => "Error: No balloon device has been activated\n".into(),
        },
        _ => return None,
    })
}

/// `boot_set ORDER`: the order the firmware uses at the next reset (`pc`
/// knows drives `a`-`d` and network `n`-`p`).
fn boot_set(st: &mut State, order: &str) -> String {
    if let Some(bad) = order.chars().find(|c| !matches!(c, 'a'..='d' | 'n'..='p')) {
        return format!("Invalid boot device '{bad}'\n");
    }
    st.machine.boot_order = order.to_string();
    format!("boot device list now set to {order}\n")
}

/// Run an HMP action through its QMP twin; errors print as HMP does.
fn action(st: &mut State, qmp: &str) -> String {
    let Some(cmd) = commands::find(qmp) else {
        return format!("unknown command: '{qmp}'\n");
    };
    match commands::dispatch(st, cmd, &Map::new()) {
        Ok(_) => String::new(),
        Err(e) => format!("Error: {}\n", e.desc),
    }
}

fn human_monitor_command(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let cpu = check_cpu_index(a)?;
    let line = a.str_arg("command-line").unwrap_or_default();
    Ok(Value::String(run_line(st, line, cpu)))
}

pub(crate) const HMC: Obj = obj(&[req("command-line", Ty::Str), opt("cpu-index", Ty::Int)]);

pub(crate) const COMMANDS: &[Cmd] = &[Cmd::new(
    "human-monitor-command",
    &HMC,
    human_monitor_command,
)];
