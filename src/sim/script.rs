//! Things that happen to the VM from outside QMP, for lessons and demos:
//! viewers connecting, the guest locking its cdrom or shutting down, a
//! migration link breaking. Apply them now with `Simulator::script` or
//! later with `Simulator::schedule`.

use super::block::HostImage;
use super::display;
use super::machine;
use super::migration;
use super::state::State;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A VNC viewer connects from `host:port` (it knows the password; it
    /// is refused if the password has expired).
    VncConnect { host: String, port: u16 },
    /// VNC viewers leave: the one on `port`, or all.
    VncDisconnect { port: Option<u16> },
    /// A SPICE client connects its channels from `host:port` onwards.
    SpiceConnect { host: String, port: u16 },
    /// SPICE clients leave: the one whose main channel is on `port`, or all.
    SpiceDisconnect { port: Option<u16> },
    /// The guest locks or unlocks the tray of a removable drive (a mounted
    /// cdrom is locked).
    GuestLockTray { device: String, locked: bool },
    /// The guest shuts itself down.
    GuestShutdown,
    /// The guest reboots itself.
    GuestReset,
    /// The guest prints on its serial console.
    ConsoleWrite(String),
    /// The migration connection breaks with this error.
    MigrationFail(String),
    /// An image file appears on the host (for `blockdev-change-medium`).
    AddImage(HostImage),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptError {
    #[error("no block device named '{0}'")]
    NoSuchDrive(String),
    #[error("block device '{0}' has no tray")]
    NotRemovable(String),
    #[error("the guest is not running")]
    GuestNotRunning,
    #[error("no migration is in progress")]
    NoMigration,
    #[error("{0}")]
    Rejected(String),
}

pub(crate) fn apply(st: &mut State, action: Action) -> Result<(), ScriptError> {
    match action {
        Action::VncConnect { host, port } => {
            display::vnc_connect(st, &host, port).map_err(ScriptError::Rejected)
        }
        Action::VncDisconnect { port } => {
            display::vnc_disconnect(st, port);
            Ok(())
        }
        Action::SpiceConnect { host, port } => {
            display::spice_connect(st, &host, port).map_err(ScriptError::Rejected)
        }
        Action::SpiceDisconnect { port } => {
            display::spice_disconnect(st, port);
            Ok(())
        }
        Action::GuestLockTray { device, locked } => {
            let d = st
                .block
                .drive_mut(&device)
                .ok_or_else(|| ScriptError::NoSuchDrive(device.clone()))?;
            if !d.removable {
                return Err(ScriptError::NotRemovable(device));
            }
            d.locked = locked;
            Ok(())
        }
        Action::GuestShutdown | Action::GuestReset if !st.machine.run_state.is_running() => {
            Err(ScriptError::GuestNotRunning)
        }
        Action::GuestShutdown => {
            machine::guest_shutdown(st);
            Ok(())
        }
        Action::GuestReset => {
            machine::guest_reset(st);
            Ok(())
        }
        Action::ConsoleWrite(text) => {
            st.chardevs.guest_console(&text);
            Ok(())
        }
        Action::MigrationFail(desc) => {
            if !st.migration.status.in_progress() {
                return Err(ScriptError::NoMigration);
            }
            migration::fail(st, &desc);
            Ok(())
        }
        Action::AddImage(image) => {
            st.block.images.retain(|i| i.path != image.path);
            st.block.images.push(image);
            Ok(())
        }
    }
}
