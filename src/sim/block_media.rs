//! Commands that change block devices: trays, media, size and I/O limits,
//! with QEMU 10.0's checks, error texts and DEVICE_TRAY_MOVED sequences.

use super::args::{obj, opt, req, ArgsExt, Obj, Ty};
use super::block::{tray_event, Throttle};
use super::error::{ok, CmdResult, QmpError};
use super::state::{State, Task};
use serde_json::{Map, Value};
use std::time::Duration;

pub(crate) const DEVICE_OR_ID: Obj = obj(&[opt("device", Ty::Str), opt("id", Ty::Str)]);
pub(crate) const EJECT: Obj = obj(&[
    opt("device", Ty::Str),
    opt("id", Ty::Str),
    opt("force", Ty::Bool),
]);
pub(crate) const CHANGE: Obj = obj(&[
    opt("device", Ty::Str),
    opt("id", Ty::Str),
    req("filename", Ty::Str),
    opt("format", Ty::Str),
    opt("force", Ty::Bool),
    opt(
        "read-only-mode",
        Ty::Enum(&["retain", "read-only", "read-write"]),
    ),
]);
pub(crate) const RESIZE: Obj = obj(&[
    opt("device", Ty::Str),
    opt("node-name", Ty::Str),
    req("size", Ty::Int),
]);

/// Limit members of `block_set_io_throttle`, in schema order.
const LIMITS: [&str; 19] = [
    "bps",
    "bps_rd",
    "bps_wr",
    "iops",
    "iops_rd",
    "iops_wr",
    "bps_max",
    "bps_rd_max",
    "bps_wr_max",
    "iops_max",
    "iops_rd_max",
    "iops_wr_max",
    "bps_max_length",
    "bps_rd_max_length",
    "bps_wr_max_length",
    "iops_max_length",
    "iops_rd_max_length",
    "iops_wr_max_length",
    "iops_size",
];
pub(crate) const THROTTLE: Obj = obj(&[
    opt("device", Ty::Str),
    opt("id", Ty::Str),
    req("bps", Ty::Int),
    req("bps_rd", Ty::Int),
    req("bps_wr", Ty::Int),
    req("iops", Ty::Int),
    req("iops_rd", Ty::Int),
    req("iops_wr", Ty::Int),
    opt("bps_max", Ty::Int),
    opt("bps_rd_max", Ty::Int),
    opt("bps_wr_max", Ty::Int),
    opt("iops_max", Ty::Int),
    opt("iops_rd_max", Ty::Int),
    opt("iops_wr_max", Ty::Int),
    opt("bps_max_length", Ty::Int),
    opt("bps_rd_max_length", Ty::Int),
    opt("bps_wr_max_length", Ty::Int),
    opt("iops_max_length", Ty::Int),
    opt("iops_rd_max_length", Ty::Int),
    opt("iops_wr_max_length", Ty::Int),
    opt("iops_size", Ty::Int),
    opt("group", Ty::Str),
]);

/// Format drivers QEMU knows; anything else is "Unknown driver".
const DRIVERS: &[&str] = &[
    "raw",
    "qcow2",
    "qcow",
    "qed",
    "vmdk",
    "vdi",
    "vhdx",
    "vpc",
    "luks",
    "dmg",
    "parallels",
    "bochs",
    "cloop",
    "file",
];

/// How long a cooperative guest takes to honour an eject request.
const GUEST_EJECT_DELAY: Duration = Duration::from_millis(800);

/// Resolve `device`/`id` to a backend name, as QEMU's `qmp_get_blk` does.
/// Returns the backend name and the name to use in messages.
fn find_blk(st: &State, a: &Map<String, Value>) -> Result<(String, String), QmpError> {
    match (a.str_arg("device"), a.str_arg("id")) {
        (Some(dev), None) => match st.block.drive(dev) {
            Some(d) => Ok((d.device.clone(), dev.to_string())),
            None => Err(QmpError::device_not_found(dev)),
        },
        (None, Some(id)) => {
            if let Some(d) = st.block.drives.iter().find(|d| d.qdev == id) {
                return Ok((d.device.clone(), id.to_string()));
            }
            if st.devices.has_device(id) {
                Err(QmpError::generic(
                    "Device does not have a block device backend",
                ))
            } else {
                Err(QmpError::device_not_found(id))
            }
        }
        _ => Err(QmpError::generic("Need exactly one of 'device' and 'id'")),
    }
}

/// Open the tray of `dev` (QEMU's `do_open_tray`).
fn open_tray_of(st: &mut State, dev: &str, name: &str, force: bool) -> Result<(), QmpError> {
    let running = st.machine.firmware_ran;
    let Some(d) = st.block.drive_mut(dev) else {
        return Err(QmpError::device_not_found(name));
    };
    if !d.removable {
        return Err(QmpError::generic(format!(
            "Device '{name}' is not removable"
        )));
    }
    if d.tray_open {
        return Ok(());
    }
    if d.locked && !force {
        // The guest gets an eject request and opens the tray itself.
        if running {
            let task = Task::GuestOpenTray(dev.to_string());
            st.after_guest(GUEST_EJECT_DELAY, task);
        }
        return Err(QmpError::generic(format!(
            "Device '{name}' is locked and force was not specified, \
             wait for tray to open and try again"
        )));
    }
    d.locked = false;
    d.tray_open = true;
    tray_event(st, dev, true);
    Ok(())
}

pub(crate) fn eject(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (dev, name) = find_blk(st, a)?;
    open_tray_of(st, &dev, &name, a.bool_arg("force").unwrap_or(false))?;
    if let Some(d) = st.block.drive_mut(&dev) {
        d.medium = None;
    }
    ok()
}

pub(crate) fn open_tray(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (dev, name) = find_blk(st, a)?;
    open_tray_of(st, &dev, &name, a.bool_arg("force").unwrap_or(false))?;
    ok()
}

pub(crate) fn close_tray(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (dev, name) = find_blk(st, a)?;
    let Some(d) = st.block.drive_mut(&dev) else {
        return Err(QmpError::device_not_found(&name));
    };
    if !d.removable {
        return Err(QmpError::generic(format!(
            "Device '{name}' is not removable"
        )));
    }
    if d.tray_open {
        d.tray_open = false;
        tray_event(st, &dev, false);
    }
    ok()
}

pub(crate) fn change_medium(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (dev, name) = find_blk(st, a)?;
    let filename = a.str_arg("filename").unwrap_or_default();
    if let Some(fmt) = a.str_arg("format") {
        if !DRIVERS.contains(&fmt) {
            return Err(QmpError::generic(format!("Unknown driver '{fmt}'")));
        }
    }
    let Some(image) = st.block.image(filename).cloned() else {
        return Err(QmpError::generic(format!(
            "Could not open '{filename}': No such file or directory"
        )));
    };
    let driver = match a.str_arg("format") {
        None => image.format.clone(),
        Some("raw") => "raw".to_string(),
        Some(fmt) if fmt == image.format => fmt.to_string(),
        Some(fmt) => return Err(QmpError::generic(format!("Image is not in {fmt} format"))),
    };
    let writer_elsewhere = st.block.drives.iter().any(|d| {
        d.device != dev
            && d.medium
                .as_ref()
                .is_some_and(|m| m.image.path == image.path && !m.ro)
    });
    if writer_elsewhere {
        return Err(QmpError::generic("Failed to get shared \"write\" lock"));
    }
    open_tray_of(st, &dev, &name, a.bool_arg("force").unwrap_or(false))?;
    let medium = st.block.open_medium(image, &driver, true);
    if let Some(d) = st.block.drive_mut(&dev) {
        d.medium = Some(medium);
        d.tray_open = false;
    }
    tray_event(st, &dev, false);
    ok()
}

pub(crate) fn block_resize(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let device = a.str_arg("device");
    let node = a.str_arg("node-name");
    let by_device = device.and_then(|d| st.block.drive(d));
    let target = match (by_device, node) {
        (Some(d), _) => match &d.medium {
            Some(m) => (d.device.clone(), m.node_name.clone()),
            None => {
                return Err(QmpError::generic(format!(
                    "Device '{}' has no medium",
                    d.device
                )))
            }
        },
        (None, Some(n)) => match st.block.drives.iter().find(|d| {
            d.medium
                .as_ref()
                .is_some_and(|m| m.node_name == n || m.file_node_name == n)
        }) {
            Some(d) => (d.device.clone(), n.to_string()),
            None => return Err(cannot_find(device, node)),
        },
        (None, None) => return Err(cannot_find(device, node)),
    };
    let size = a.int_arg("size").unwrap_or(0);
    if size < 0 {
        return Err(QmpError::invalid_value("size", "a >0 size"));
    }
    let (dev, node_name) = target;
    let Some(m) = st.block.drive_mut(&dev).and_then(|d| d.medium.as_mut()) else {
        return Err(QmpError::device_not_found(&dev));
    };
    if m.ro || node_name == m.file_node_name {
        return Err(QmpError::generic(format!(
            "Permission conflict on node '{node_name}': permissions 'resize' are both required \
             by an unnamed block device (uses node '{node_name}' as 'root' child) and unshared \
             by block device '{dev}' (uses node '{node_name}' as 'root' child)."
        )));
    }
    if size % 512 != 0 {
        return Err(QmpError::generic("The new size must be a multiple of 512"));
    }
    m.image.virtual_size = size;
    let path = m.image.path.clone();
    if let Some(img) = st.block.images.iter_mut().find(|i| i.path == path) {
        img.virtual_size = size;
    }
    ok()
}

fn cannot_find(device: Option<&str>, node: Option<&str>) -> QmpError {
    QmpError::generic(format!(
        "Cannot find device='{}' nor node-name='{}'",
        device.unwrap_or(""),
        node.unwrap_or("")
    ))
}

pub(crate) fn set_io_throttle(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (dev, _) = find_blk(st, a)?;
    if st.block.drive(&dev).is_some_and(|d| d.medium.is_none()) {
        return Err(QmpError::generic("Device has no medium"));
    }
    let get = |k: &str| a.int_arg(k).unwrap_or(0);
    if LIMITS
        .iter()
        .take(12)
        .any(|k| !(0..=1_000_000_000_000_000).contains(&get(k)))
    {
        return Err(QmpError::generic(
            "bps/iops/max values must be within [0, 1000000000000000]",
        ));
    }
    let both =
        |t: &str| get(t) != 0 && (get(&format!("{t}_rd")) != 0 || get(&format!("{t}_wr")) != 0);
    if both("bps") || both("iops") || both("bps_max") || both("iops_max") {
        return Err(QmpError::generic(
            "bps/iops/max total values and read/write values cannot be used at the same time",
        ));
    }
    for base in ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"] {
        let max = get(&format!("{base}_max"));
        if max != 0 && get(base) == 0 {
            return Err(QmpError::generic(
                "bps_max/iops_max require corresponding bps/iops values",
            ));
        }
        if max != 0 && max < get(base) {
            return Err(QmpError::generic(
                "bps_max/iops_max cannot be lower than bps/iops",
            ));
        }
    }
    let iops_any = ["iops", "iops_rd", "iops_wr"].iter().any(|k| get(k) != 0);
    if get("iops_size") != 0 && !iops_any {
        return Err(QmpError::generic(
            "iops size requires an iops value to be set",
        ));
    }
    let enabled = LIMITS.iter().take(6).any(|k| get(k) != 0);
    let throttle = if enabled {
        Throttle {
            limits: LIMITS
                .iter()
                .filter(|k| get(k) != 0)
                .map(|k| (k.to_string(), get(k)))
                .collect(),
            group: Some(a.str_arg("group").unwrap_or(&dev).to_string()),
        }
    } else {
        Throttle::default()
    };
    if let Some(d) = st.block.drive_mut(&dev) {
        d.throttle = throttle;
    }
    ok()
}
