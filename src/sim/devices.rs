//! Guest devices on the PCI bus: the built-in ones, `device_add` hotplug
//! and `device_del` unplug, which completes when the guest acknowledges
//! it (DEVICE_DELETED), or at the next reset.

use super::args::{obj, opt, req, ArgsExt, Obj, Ty};
use super::commands::Cmd;
use super::error::{ok, CmdResult, QmpError};
use super::pci::{model_for, BarKind, Kind, Model};
use super::state::{State, Task};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// How long the guest OS takes to release an unplugged device.
const GUEST_UNPLUG_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Peripheral id (`-device ...,id=`), if any.
    pub id: Option<String>,
    pub driver: String,
    /// QOM path; built-in chipset functions have none.
    pub path: Option<String>,
    pub slot: i64,
    pub function: i64,
    pub hotplugged: bool,
    pub pending_unplug: bool,
    /// BARs and IRQ assigned (by the firmware, or by the OS on hotplug).
    pub configured: bool,
    pub bar_addrs: Vec<i64>,
    /// NIC: its backend and MAC, and whether the guest sees a link.
    pub netdev: Option<String>,
    pub mac: Option<String>,
    pub link_up: bool,
    /// Block backend of a disk.
    pub drive: Option<String>,
}

impl Device {
    fn new(id: Option<&str>, driver: &str, slot: i64, function: i64) -> Self {
        Device {
            id: id.map(str::to_string),
            driver: driver.into(),
            path: id.map(|i| format!("/machine/peripheral/{i}")),
            slot,
            function,
            hotplugged: false,
            pending_unplug: false,
            configured: false,
            bar_addrs: Vec::new(),
            netdev: None,
            mac: None,
            link_up: true,
            drive: None,
        }
    }

    /// Name used in messages about this device (QEMU prints `(null)`).
    pub fn id_or_null(&self) -> &str {
        self.id.as_deref().unwrap_or("(null)")
    }
}

#[derive(Debug, Clone)]
pub struct Devices {
    pub list: Vec<Device>,
    anon_counter: u64,
    io_next: i64,
    mem_next: i64,
    mem64_next: i64,
}

impl Default for Devices {
    fn default() -> Self {
        let fixed = |mut d: Device, addrs: &[i64]| {
            d.bar_addrs = addrs.to_vec();
            d
        };
        let mut disk = Device::new(Some("virtio-disk0"), "virtio-blk-pci", 2, 0);
        disk.drive = Some("drive0".into());
        let mut nic = Device::new(Some("nic0"), "virtio-net-pci", 4, 0);
        nic.netdev = Some("net0".into());
        nic.mac = Some("52:54:00:12:34:56".into());
        // Addresses SeaBIOS gives these devices in QEMU 10.0.
        let list = vec![
            Device::new(None, "i440FX", 0, 0),
            Device::new(None, "PIIX3", 1, 0),
            fixed(Device::new(None, "piix3-ide", 1, 1), &[0xc0e0]),
            Device::new(None, "PIIX4_PM", 1, 3),
            fixed(disk, &[0xc000, 0xfebd_0000, 0xfe00_0000]),
            fixed(
                Device::new(Some("video0"), "VGA", 3, 0),
                &[0xfd00_0000, 0xfebd_1000, -1],
            ),
            fixed(nic, &[0xc0c0, 0xfebd_2000, 0xfe00_4000, -1]),
            fixed(
                Device::new(Some("balloon0"), "virtio-balloon-pci", 5, 0),
                &[0xc080, 0xfebd_3000, 0xfe00_8000],
            ),
        ];
        Devices {
            list,
            anon_counter: 0,
            io_next: 0xc100,
            mem_next: 0xfebd_4000,
            mem64_next: 0xfe00_c000,
        }
    }
}

fn align(v: i64, to: i64) -> i64 {
    (v + to - 1) / to * to
}

impl Devices {
    /// A device by peripheral id or QOM path.
    pub fn find(&self, id_or_path: &str) -> Option<&Device> {
        self.list
            .iter()
            .find(|d| d.id.as_deref() == Some(id_or_path) || d.path.as_deref() == Some(id_or_path))
    }

    pub(crate) fn has_device(&self, id_or_path: &str) -> bool {
        self.find(id_or_path).is_some()
    }

    pub(crate) fn pending_unplugs(&self) -> Vec<String> {
        self.list
            .iter()
            .filter(|d| d.pending_unplug)
            .filter_map(|d| d.path.clone())
            .collect()
    }

    /// Give a device addresses from the free windows.
    fn assign(&mut self, idx: usize) {
        let Some(m) = self.list.get(idx).and_then(|d| model_for(&d.driver)) else {
            return;
        };
        if self.list[idx].bar_addrs.is_empty() {
            let mut addrs = Vec::new();
            for b in m.bars {
                let next = match b.kind {
                    BarKind::Io => &mut self.io_next,
                    BarKind::Mem32 | BarKind::Mem32Pref => &mut self.mem_next,
                    BarKind::Mem64Pref => &mut self.mem64_next,
                    BarKind::Rom => {
                        addrs.push(-1);
                        continue;
                    }
                };
                let at = align(*next, b.size.max(16));
                *next = at + b.size;
                addrs.push(at);
            }
            self.list[idx].bar_addrs = addrs;
        }
        self.list[idx].configured = true;
    }

    /// The firmware ran: everything present gets addresses and IRQs.
    pub(crate) fn firmware_assigns_resources(&mut self) {
        for i in 0..self.list.len() {
            self.assign(i);
        }
    }

    /// A reset into prelaunch clears BARs until the firmware runs again.
    pub(crate) fn reset_resources(&mut self) {
        for d in &mut self.list {
            d.configured = false;
        }
    }

    fn first_free_mac(&self) -> String {
        (0x56..=0xff)
            .map(|b| format!("52:54:00:12:34:{b:02x}"))
            .find(|mac| !self.list.iter().any(|d| d.mac.as_deref() == Some(mac)))
            .unwrap_or_else(|| "52:54:00:12:35:00".into())
    }
}

/// The guest released the device: remove it and everything tied to it.
pub(crate) fn guest_unplug(st: &mut State, path: &str) {
    let Some(pos) = st
        .devices
        .list
        .iter()
        .position(|d| d.path.as_deref() == Some(path))
    else {
        return;
    };
    let dev = st.devices.list.remove(pos);
    let model = model_for(&dev.driver);
    if model.is_some_and(|m| m.virtio) {
        st.emit(
            "DEVICE_DELETED",
            Some(json!({"path": format!("{path}/virtio-backend")})),
        );
    }
    let mut data = json!({});
    if let Some(id) = &dev.id {
        data["device"] = json!(id);
    }
    data["path"] = json!(path);
    st.emit("DEVICE_DELETED", Some(data));
    if let Some(drive) = &dev.drive {
        // Drives made with -drive go away with their device.
        st.block.drives.retain(|d| &d.device != drive);
    }
    if model.is_some_and(|m| m.kind == Kind::Balloon) {
        st.balloon = None;
    }
}

/// PCI-level properties belong to the proxy; the others to the device
/// behind it (`virtio-net-device` for `virtio-net-pci`), which is the name
/// QEMU's messages use.
const PCI_PROPS: [&str; 5] = ["addr", "multifunction", "romfile", "rombar", "acpi-index"];

fn prop_owner(m: &Model, prop: &str) -> String {
    match m.driver.strip_suffix("-pci") {
        Some(base) if m.virtio && !PCI_PROPS.contains(&prop) => format!("{base}-device"),
        _ => m.driver.to_string(),
    }
}

fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// PCI `addr` property: `SLOT[.FN]`, hex, with or without `0x`.
fn parse_addr(s: &str) -> Option<(i64, i64)> {
    let (slot, func) = s.split_once('.').unwrap_or((s, "0"));
    let slot = slot.trim_start_matches("0x");
    let slot = i64::from_str_radix(slot, 16).ok()?;
    let func = i64::from_str_radix(func, 16).ok()?;
    ((0..32).contains(&slot) && (0..8).contains(&func)).then_some((slot, func))
}

fn prop_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "on" } else { "off" }.to_string()),
        _ => None,
    }
}

fn device_add(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let driver = a.str_arg("driver").unwrap_or_default();
    let Some(m) = model_for(driver) else {
        return Err(QmpError::generic(format!(
            "'{driver}' is not a valid device model name"
        )));
    };
    if let Some(bus) = a.str_arg("bus") {
        if bus != "pci.0" {
            return Err(QmpError::generic(format!("Bus '{bus}' not found")));
        }
    }
    if !m.hotpluggable {
        return Err(QmpError::generic(format!(
            "Device '{}' does not support hotplugging",
            m.driver
        )));
    }
    let id = a.str_arg("id");
    if let Some(id) = id {
        if st.devices.list.iter().any(|d| d.id.as_deref() == Some(id)) {
            return Err(QmpError::generic(format!("Duplicate device ID '{id}'")));
        }
    }
    let mut dev = Device::new(id, m.driver, -1, 0);
    let mut addr = None;
    for (key, val) in a {
        if matches!(key.as_str(), "driver" | "bus" | "id") {
            continue;
        }
        if !PCI_PROPS.contains(&key.as_str()) && !m.props.contains(&key.as_str()) {
            return Err(QmpError::generic(format!(
                "Property '{}.{key}' not found",
                m.driver
            )));
        }
        let Some(text) = prop_text(val) else {
            return Err(QmpError::generic(format!(
                "Invalid parameter type for '{key}', expected: string"
            )));
        };
        let owner = prop_owner(m, key);
        let bad = || {
            QmpError::generic(format!(
                "Property '{owner}.{key}' doesn't take value '{text}'"
            ))
        };
        match key.as_str() {
            "addr" => addr = Some(parse_addr(&text).ok_or_else(bad)?),
            "mac" if !valid_mac(&text) => return Err(bad()),
            "mac" => dev.mac = Some(text.to_lowercase()),
            "netdev" => {
                if !st.net.netdevs.iter().any(|n| n.id == text) {
                    return Err(QmpError::generic(format!(
                        "Property '{owner}.netdev' can't find value '{text}'"
                    )));
                }
                if st
                    .devices
                    .list
                    .iter()
                    .any(|d| d.netdev.as_deref() == Some(&text))
                {
                    return Err(QmpError::generic(format!(
                        "Property '{owner}.netdev' can't take value '{text}', it's in use"
                    )));
                }
                dev.netdev = Some(text);
            }
            "drive" => {
                let verb = if st.block.drive(&text).is_some() {
                    format!("can't take value '{text}', it's in use")
                } else {
                    format!("can't find value '{text}'")
                };
                return Err(QmpError::generic(format!(
                    "Property '{owner}.drive' {verb}"
                )));
            }
            _ => {}
        }
    }
    if m.kind == Kind::Balloon && st.balloon.is_some() {
        return Err(QmpError::generic("Only one balloon device is supported"));
    }
    let taken = |s: i64, f: i64| {
        st.devices
            .list
            .iter()
            .find(|d| d.slot == s && d.function == f)
    };
    let (slot, function) = match addr {
        Some((s, f)) => {
            if let Some(other) = taken(s, f) {
                return Err(QmpError::generic(format!(
                    "PCI: slot {s} function {f} not available for {}, in use by {},id={}",
                    m.driver,
                    other.driver,
                    other.id_or_null()
                )));
            }
            (s, f)
        }
        None => match (0..32).find(|s| taken(*s, 0).is_none()) {
            Some(s) => (s, 0),
            None => {
                return Err(QmpError::generic(format!(
                    "PCI: no slot/function available for {}, all in use or reserved",
                    m.driver
                )))
            }
        },
    };
    dev.slot = slot;
    dev.function = function;
    dev.hotplugged = true;
    if dev.path.is_none() {
        dev.path = Some(format!(
            "/machine/peripheral-anon/device[{}]",
            st.devices.anon_counter
        ));
        st.devices.anon_counter += 1;
    }
    if m.kind == Kind::Nic && dev.mac.is_none() {
        dev.mac = Some(st.devices.first_free_mac());
    }
    if m.kind == Kind::Balloon {
        st.balloon = Some(super::balloon::Balloon::new(super::machine::RAM_SIZE));
    }
    st.devices.list.push(dev);
    if st.machine.firmware_ran {
        let idx = st.devices.list.len() - 1;
        st.devices.assign(idx);
    }
    ok()
}

fn device_del(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let key = a.str_arg("id").unwrap_or_default();
    let Some(dev) = st.devices.list.iter_mut().find(|d| {
        d.path.is_some() && (d.id.as_deref() == Some(key) || d.path.as_deref() == Some(key))
    }) else {
        return Err(QmpError::device_not_found(key));
    };
    if model_for(&dev.driver).is_some_and(|m| !m.hotpluggable) {
        return Err(QmpError::generic(format!(
            "Device '{}' does not support hotplugging",
            dev.driver
        )));
    }
    if dev.pending_unplug {
        return Err(QmpError::generic(format!(
            "Device {} is already in the process of unplug",
            dev.id_or_null()
        )));
    }
    dev.pending_unplug = true;
    let path = dev.path.clone().unwrap_or_default();
    st.after_guest(GUEST_UNPLUG_DELAY, Task::GuestUnplug(path));
    ok()
}

/// `device_add` takes any properties; only these are declared in QAPI.
const DEVICE_ADD: Obj = obj(&[
    req("driver", Ty::Str),
    opt("bus", Ty::Str),
    opt("id", Ty::Str),
]);
const DEVICE_DEL: Obj = obj(&[req("id", Ty::Str)]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("device_add", &DEVICE_ADD, device_add).open(),
    Cmd::new("device_del", &DEVICE_DEL, device_del),
    Cmd::new("query-pci", &super::args::NONE, super::pci::query_pci),
];
