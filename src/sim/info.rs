//! Identity and static machine queries (`query-name`, `query-version`,
//! `query-cpus-fast`, ...), shaped like QEMU 10.0's replies for
//! `-machine pc -smp 2 -m 1024` with an iothread and a RAM backend.

use super::args;
use super::commands::Cmd;
use super::error::CmdResult;
use super::machine::RAM_SIZE;
use super::state::State;
use serde_json::{json, Map, Value};

pub use super::versions::PACKAGE;

/// Host thread id of the main loop; vCPU and iothread ids follow it.
const MAIN_THREAD_ID: i64 = 48_200;

/// vCPUs: `-smp 2`, one socket with two cores.
pub const CPUS: i64 = 2;

/// QOM paths of the vCPUs (the IDE cdrom sits in between, as in QEMU).
pub fn cpu_qom_path(index: i64) -> String {
    format!("/machine/unattached/device[{}]", index * 2)
}

fn query_name(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"name": st.machine.name}))
}

fn query_uuid(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"UUID": st.machine.uuid}))
}

fn query_version(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let (major, minor, micro) = st.version.triple();
    Ok(
        json!({"qemu": {"major": major, "minor": minor, "micro": micro},
              "package": PACKAGE}),
    )
}

fn query_kvm(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"enabled": true, "present": true}))
}

fn query_cpus_fast(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    let cpus: Vec<Value> = (0..CPUS)
        .map(|i| {
            json!({"cpu-index": i, "qom-path": cpu_qom_path(i),
                   "thread-id": MAIN_THREAD_ID + 10 + i,
                   "props": {"core-id": i, "thread-id": 0, "socket-id": 0},
                   "target": "x86_64"})
        })
        .collect();
    Ok(Value::Array(cpus))
}

fn query_hotpluggable_cpus(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    // QEMU lists them highest core first.
    let cpus: Vec<Value> = (0..CPUS)
        .rev()
        .map(|i| {
            json!({"type": "qemu64-x86_64-cpu", "vcpus-count": 1,
                   "props": {"core-id": i, "thread-id": 0, "socket-id": 0},
                   "qom-path": cpu_qom_path(i)})
        })
        .collect();
    Ok(Value::Array(cpus))
}

fn query_iothreads(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!([{"id": "iothread0", "thread-id": MAIN_THREAD_ID + 5,
               "poll-max-ns": 32768, "poll-grow": 0, "poll-shrink": 0,
               "aio-max-batch": 0}]))
}

fn query_memdev(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(
        json!([{"id": "mem0", "size": RAM_SIZE, "merge": true, "dump": true,
               "prealloc": false, "share": false, "reserve": true,
               "host-nodes": [], "policy": "default"}]),
    )
}

fn query_memory_size_summary(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"base-memory": RAM_SIZE, "plugged-memory": 0}))
}

fn query_current_machine(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"wakeup-suspend-support": true}))
}

fn query_target(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"arch": "x86_64"}))
}

fn query_display_options(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"type": "none"}))
}

fn query_dump(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"status": "none", "completed": 0, "total": 0}))
}

fn empty_list(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!([]))
}

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("query-name", &args::NONE, query_name),
    Cmd::new("query-uuid", &args::NONE, query_uuid),
    Cmd::new("query-version", &args::NONE, query_version),
    Cmd::new("query-kvm", &args::NONE, query_kvm),
    Cmd::new("query-cpus-fast", &args::NONE, query_cpus_fast),
    Cmd::new(
        "query-hotpluggable-cpus",
        &args::NONE,
        query_hotpluggable_cpus,
    ),
    Cmd::new("query-iothreads", &args::NONE, query_iothreads),
    Cmd::new("query-memdev", &args::NONE, query_memdev),
    Cmd::new(
        "query-memory-size-summary",
        &args::NONE,
        query_memory_size_summary,
    ),
    Cmd::new("query-current-machine", &args::NONE, query_current_machine),
    Cmd::new("query-target", &args::NONE, query_target),
    Cmd::new("query-display-options", &args::NONE, query_display_options),
    Cmd::new("query-dump", &args::NONE, query_dump),
    Cmd::new("query-tpm", &args::NONE, empty_list),
    Cmd::new("query-memory-devices", &args::NONE, empty_list),
];
