//! Run state and machine lifecycle: stop/cont/system_reset/
//! system_powerdown/quit, with the events QEMU 10.0 emits for them.
//!
//! The VM behaves like one started with `-no-shutdown`: a guest shutdown
//! leaves it in state `shutdown` instead of exiting, so a lesson can go on.

use super::args;
use super::commands::Cmd;
use super::error::{ok, CmdResult, QmpError};
use super::state::{State, Task};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Guest RAM: 1 GiB, as `-m 1024`.
pub const RAM_SIZE: i64 = 1 << 30;

/// How long the guest OS takes to act on the ACPI power button.
const ACPI_SHUTDOWN_DELAY: Duration = Duration::from_secs(2);

/// QEMU's run states, as far as the simulator reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Prelaunch,
    Running,
    Paused,
    Shutdown,
    FinishMigrate,
    Postmigrate,
}

impl RunState {
    /// The `status` string of `query-status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Prelaunch => "prelaunch",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Shutdown => "shutdown",
            RunState::FinishMigrate => "finish-migrate",
            RunState::Postmigrate => "postmigrate",
        }
    }

    pub fn is_running(self) -> bool {
        self == RunState::Running
    }
}

/// Machine-wide facts.
#[derive(Debug, Clone)]
pub struct Machine {
    pub run_state: RunState,
    pub name: String,
    pub uuid: String,
    /// Firmware has run since the last reset into prelaunch, so PCI BARs
    /// and IRQs are assigned and the guest OS is up.
    pub firmware_ran: bool,
    /// NMIs injected so far.
    pub nmi_count: u32,
    /// The firmware's boot order (`-boot order=`, `boot_set`): `c` disk,
    /// `d` cdrom, `n` network; QEMU's default for `pc` is `cad`.
    pub boot_order: String,
    /// What the firmware booted from the last time it ran: `disk`, `cdrom`
    /// or `none` (before the first boot).
    pub booted_from: String,
    /// Set by `quit`; the simulator shuts down once the reply is out.
    pub(crate) quit_requested: bool,
    pub(crate) seq: u64,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            run_state: RunState::Prelaunch,
            name: "sim-vm".into(),
            uuid: "5b7c0d2e-3f41-4c9a-9e1b-6d8a2f4c1e07".into(),
            firmware_ran: false,
            nmi_count: 0,
            boot_order: "cad".into(),
            booted_from: "none".into(),
            quit_requested: false,
            seq: 0,
        }
    }
}

/// Stop the vCPUs: emits STOP only when they were running (as QEMU does).
pub(crate) fn vm_stop(st: &mut State, new_state: RunState) -> bool {
    if !st.machine.run_state.is_running() {
        return false;
    }
    st.machine.run_state = new_state;
    st.emit("STOP", None);
    true
}

/// Start the vCPUs and, on a fresh boot, let the firmware and OS come up.
pub(crate) fn vm_start(st: &mut State) {
    if st.machine.run_state.is_running() {
        return;
    }
    st.machine.run_state = RunState::Running;
    st.emit("RESUME", None);
    if !st.machine.firmware_ran {
        st.machine.firmware_ran = true;
        st.devices.firmware_assigns_resources();
        boot_console(st);
    }
}

/// The firmware walks the boot order: the cdrom boots when it holds a
/// medium and its tray is closed, the disk always does.
fn boot_device(st: &State) -> &'static str {
    for device in st.machine.boot_order.chars() {
        match device {
            'c' => return "disk",
            'd' => {
                let cd = st.block.drive("ide1-cd0");
                if cd.is_some_and(|d| d.medium.is_some() && !d.tray_open) {
                    return "cdrom";
                }
            }
            _ => {}
        }
    }
    "disk"
}

/// Lines the guest prints on its serial console while booting.
fn boot_console(st: &mut State) {
    st.machine.booted_from = boot_device(st).into();
    let from = if st.machine.booted_from == "cdrom" {
        "Booting from DVD/CD...\r\n"
    } else {
        "Booting from Hard Disk...\r\n"
    };
    st.after_guest(Duration::from_millis(900), Task::ConsoleLine(from.into()));
    const LINES: &[(u64, &str)] = &[
        (300, "SeaBIOS (version 1.16.3-debian-1.16.3-2)\r\n"),
        (
            2500,
            "[    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)\r\n",
        ),
        (
            5000,
            "\r\nDebian GNU/Linux 12 sim-vm ttyS0\r\n\r\nsim-vm login: ",
        ),
    ];
    for (ms, line) in LINES {
        st.after_guest(
            Duration::from_millis(*ms),
            Task::ConsoleLine((*line).into()),
        );
    }
}

/// What a machine reset does besides the RESET event.
fn reset_machine(st: &mut State) {
    st.cancel_guest_tasks(|t| matches!(t, Task::Script(_)));
    // Pending unplugs complete on reset, like a real PCI reset.
    for id in st.devices.pending_unplugs() {
        super::devices::guest_unplug(st, &id);
    }
    st.block.unlock_all_trays();
    let keep = matches!(
        st.machine.run_state,
        RunState::Running | RunState::FinishMigrate
    );
    if !keep {
        st.machine.run_state = RunState::Prelaunch;
        st.machine.firmware_ran = false;
        st.devices.reset_resources();
    } else {
        boot_console(st);
    }
}

pub(crate) fn guest_shutdown(st: &mut State) {
    st.emit(
        "SHUTDOWN",
        Some(json!({"guest": true, "reason": "guest-shutdown"})),
    );
    vm_stop(st, RunState::Shutdown);
}

pub(crate) fn guest_reset(st: &mut State) {
    st.emit(
        "RESET",
        Some(json!({"guest": true, "reason": "guest-reset"})),
    );
    reset_machine(st);
}

fn query_status(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let rs = st.machine.run_state;
    Ok(json!({"status": rs.as_str(), "running": rs.is_running()}))
}

fn stop(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    vm_stop(st, RunState::Paused);
    ok()
}

fn cont(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    if st.machine.run_state == RunState::Shutdown {
        return Err(QmpError::generic(
            "Resetting the Virtual Machine is required",
        ));
    }
    vm_start(st);
    ok()
}

fn system_reset(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    st.emit(
        "RESET",
        Some(json!({"guest": false, "reason": "host-qmp-system-reset"})),
    );
    reset_machine(st);
    ok()
}

fn system_powerdown(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    st.emit("POWERDOWN", None);
    let pending = st
        .timers
        .iter()
        .any(|t| matches!(t.task, Task::GuestShutdown));
    // Only a booted OS listens to the power button.
    if st.machine.firmware_ran && !pending {
        st.after_guest(ACPI_SHUTDOWN_DELAY, Task::GuestShutdown);
    }
    ok()
}

fn system_wakeup(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::generic(
        "Unable to wake up: guest is not in suspended state",
    ))
}

fn inject_nmi(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    st.machine.nmi_count += 1;
    ok()
}

/// QEMU sends SHUTDOWN before the reply, then closes every connection.
fn quit(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    st.emit(
        "SHUTDOWN",
        Some(json!({"guest": false, "reason": "host-qmp-quit"})),
    );
    st.machine.quit_requested = true;
    ok()
}

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("query-status", &args::NONE, query_status),
    Cmd::new("stop", &args::NONE, stop),
    Cmd::new("cont", &args::NONE, cont),
    Cmd::new("system_reset", &args::NONE, system_reset),
    Cmd::new("system_powerdown", &args::NONE, system_powerdown),
    Cmd::new("system_wakeup", &args::NONE, system_wakeup),
    Cmd::new("inject-nmi", &args::NONE, inject_nmi),
    Cmd::new("quit", &args::NONE, quit),
];
