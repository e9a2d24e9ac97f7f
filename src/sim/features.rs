//! Queries about features, firmware and accelerator internals, answered as
//! QEMU 10.0 answers them for the simulated machine (checked against a
//! live QEMU with the same devices): no SEV, SGX, USB, NUMA, cryptodev or
//! VM generation id; KVM rather than TCG; the ROMs and RAM blocks of a
//! `pc` machine with 1 GiB. With these, every QMP-backed `info` works on
//! the simulator.

use super::args::{self, obj, opt, req, ArgsExt, Obj, Ty};
use super::commands::Cmd;
use super::error::{CmdResult, QmpError};
use super::state::State;
use serde_json::{json, Map, Value};

fn text(s: impl Into<String>) -> CmdResult {
    Ok(json!({"human-readable-text": s.into()}))
}

fn empty_list(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!([]))
}

fn query_dirty_rate(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(
        json!({"status": "unstarted", "sample-pages": 0, "mode": "page-sampling",
              "calc-time-unit": "second", "start-time": 0, "calc-time": 0}),
    )
}

fn query_replay(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!({"icount": 0, "mode": "none"}))
}

fn query_sev(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(
        json!({"enabled": false, "api-minor": 0, "handle": 0, "state": "uninit",
              "api-major": 0, "sev-type": "sev", "build-id": 0, "policy": 0}),
    )
}

fn query_sgx(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic(
        "No EPC regions defined, SGX not available",
    ))
}

fn query_vm_generation_id(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic("VM Generation ID device not found"))
}

fn x_query_usb(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic("USB support not enabled"))
}

fn x_query_jit(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic(
        "JIT information is only available with accel=tcg",
    ))
}

fn x_query_opcount(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic(
        "Opcode count information is only available with accel=tcg",
    ))
}

fn x_query_numa(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    text("0 nodes\n")
}

fn x_query_irq(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    text("IRQ statistics for ioapic:\n 0: 1\nIRQ statistics for isa-i8259:\n 0: 1\n")
}

fn x_query_interrupt_controllers(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    let mut s = String::from("ioapic0: ver=0x20 id=0x00 sel=0x00\n");
    for pin in 0..24 {
        s.push_str(&format!(
            "  pin {pin:<2} 0x0000000000010000 dest=0 vec=0   active-hi edge  masked fixed  physical\n"
        ));
    }
    s.push_str("  IRR      (none)\n  Remote IRR (none)\n");
    for pic in ["pic1", "pic0"] {
        s.push_str(&format!(
            "{pic}: irr=00 imr=00 isr=00 hprio=0 irq_base=00 rr_sel=0 elcr=00 fnm=0\n"
        ));
    }
    text(s)
}

fn x_query_roms(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    text(
        "fw=genroms/kvmvapic.bin size=0x002400 name=\"kvmvapic.bin\"\n\
         addr=00000000fffc0000 size=0x040000 mem=rom name=\"bios-256k.bin\"\n\
         /rom@etc/acpi/tables size=0x200000 name=\"etc/acpi/tables\"\n\
         /rom@etc/table-loader size=0x010000 name=\"etc/table-loader\"\n\
         /rom@etc/acpi/rsdp size=0x001000 name=\"etc/acpi/rsdp\"\n",
    )
}

fn x_query_ramblock(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    // (name, offset, used, total, host address, read-only)
    const BLOCKS: &[(&str, u64, u64, u64, u64, bool)] = &[
        ("mem0", 0, 0x4000_0000, 0x4000_0000, 0x7f3a_0000_0000, false),
        (
            "0000:00:03.0/vga.vram",
            0x4008_0000,
            0x100_0000,
            0x100_0000,
            0x7f39_e000_0000,
            false,
        ),
        (
            "/rom@etc/acpi/tables",
            0x4110_0000,
            0x2_0000,
            0x20_0000,
            0x7f39_dc00_0000,
            true,
        ),
        (
            "pc.bios",
            0x4000_0000,
            0x4_0000,
            0x4_0000,
            0x7f3a_4a00_0000,
            true,
        ),
        (
            "0000:00:04.0/virtio-net-pci.rom",
            0x410c_0000,
            0x4_0000,
            0x4_0000,
            0x7f3a_4a40_0000,
            true,
        ),
        (
            "pc.rom",
            0x4004_0000,
            0x2_0000,
            0x2_0000,
            0x7f3a_4a80_0000,
            true,
        ),
        (
            "0000:00:03.0/vga.rom",
            0x4108_0000,
            0x1_0000,
            0x1_0000,
            0x7f3a_4ac0_0000,
            true,
        ),
        (
            "/rom@etc/table-loader",
            0x4130_0000,
            0x1000,
            0x1_0000,
            0x7f39_da00_0000,
            true,
        ),
        (
            "/rom@etc/acpi/rsdp",
            0x4134_0000,
            0x1000,
            0x1000,
            0x7f39_d800_0000,
            true,
        ),
    ];
    let mut s = format!(
        "{:>24} {:>8} {:>19} {:>18} {:>18} {:>18} {:>3}\n",
        "Block Name", "PSize", "Offset", "Used", "Total", "HVA", "RO"
    );
    for (name, offset, used, total, hva, ro) in BLOCKS {
        s.push_str(&format!(
            "{name:>24} {:>8}  0x{offset:016x} 0x{used:016x} 0x{total:016x} 0x{hva:016x} {:>3}\n",
            "4 KiB",
            if *ro { "ro" } else { "rw" }
        ));
    }
    text(s)
}

/// The virtio devices' backends, by name.
fn x_query_virtio(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let mut list: Vec<(String, String)> = st
        .devices
        .list
        .iter()
        .filter_map(|d| {
            let name = d.driver.strip_suffix("-pci")?;
            let path = d.path.as_deref()?;
            name.starts_with("virtio-")
                .then(|| (name.to_string(), format!("{path}/virtio-backend")))
        })
        .collect();
    list.sort();
    Ok(list
        .into_iter()
        .map(|(name, path)| json!({"name": name, "path": path}))
        .collect())
}

/// A few of QEMU's trace events, all disabled.
const TRACE_EVENTS: &[&str] = &[
    "qmp_enter_query_status",
    "qmp_exit_query_status",
    "qmp_enter_eject",
    "qmp_exit_eject",
    "qmp_enter_migrate",
    "qmp_exit_migrate",
    "migrate_set_state",
    "migration_completion_file_err",
    "vnc_client_connect",
    "vnc_client_disconnect_finish",
    "virtio_blk_handle_write",
    "virtio_net_announce_timer",
];

/// `*` matches any run of characters, as QEMU's pattern matching does.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
        }
    }
}

fn trace_event_get_state(_: &mut State, a: &Map<String, Value>) -> CmdResult {
    let name = a.str_arg("name").unwrap_or_default();
    let found: Vec<Value> = TRACE_EVENTS
        .iter()
        .filter(|e| glob(name, e))
        .map(|e| json!({"name": e, "state": "disabled"}))
        .collect();
    if found.is_empty() && !name.contains('*') {
        return Err(QmpError::generic(format!("unknown event \"{name}\"")));
    }
    Ok(Value::Array(found))
}

const TRACE_ARGS: Obj = obj(&[req("name", Ty::Str)]);
const DIRTY_RATE_ARGS: Obj = obj(&[opt("calc-time-unit", Ty::Enum(&["second", "millisecond"]))]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("query-cryptodev", &args::NONE, empty_list),
    Cmd::new("query-dirty-rate", &DIRTY_RATE_ARGS, query_dirty_rate),
    Cmd::new("query-replay", &args::NONE, query_replay),
    Cmd::new("query-sev", &args::NONE, query_sev),
    Cmd::new("query-sgx", &args::NONE, query_sgx),
    Cmd::new("query-vcpu-dirty-limit", &args::NONE, empty_list),
    Cmd::new(
        "query-vm-generation-id",
        &args::NONE,
        query_vm_generation_id,
    ),
    Cmd::new("trace-event-get-state", &TRACE_ARGS, trace_event_get_state),
    Cmd::new(
        "x-query-interrupt-controllers",
        &args::NONE,
        x_query_interrupt_controllers,
    ),
    Cmd::new("x-query-irq", &args::NONE, x_query_irq),
    Cmd::new("x-query-jit", &args::NONE, x_query_jit),
    Cmd::new("x-query-numa", &args::NONE, x_query_numa),
    Cmd::new("x-query-opcount", &args::NONE, x_query_opcount),
    Cmd::new("x-query-ramblock", &args::NONE, x_query_ramblock),
    Cmd::new("x-query-roms", &args::NONE, x_query_roms),
    Cmd::new("x-query-usb", &args::NONE, x_query_usb),
    Cmd::new("x-query-virtio", &args::NONE, x_query_virtio),
];

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_like_qemu() {
        assert!(glob("*", "qmp_enter_eject"));
        assert!(glob("qmp_*_eject", "qmp_enter_eject"));
        assert!(!glob("qmp_*", "vnc_client_connect"));
        assert!(glob("vnc_client_connect", "vnc_client_connect"));
    }
}
