//! `info pci`: a device per row, bridges followed by what sits behind them.

use super::fmt::{field, flag, int, list, size, text_or_dash, NBSP, NONE};
use super::out::{Grid, Out};
use serde_json::Value;

/// `query-pci`: every device on every root bus.
pub(super) fn pci(out: &mut Out, reply: &Value) {
    let Some(buses) = list(out, reply) else {
        return;
    };
    out.heading("PCI devices");
    let mut grid =
        Grid::new(&["Address", "ID", "Class", "Vendor:Device", "IRQ", "Regions"]).optional(&[5, 4]);
    for bus in buses {
        add_devices(&mut grid, bus.get("devices"));
    }
    if grid.is_empty() {
        out.note("No PCI devices.");
        return;
    }
    out.grid(&grid);
}

fn add_devices(grid: &mut Grid, devices: Option<&Value>) {
    for device in devices
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        grid.row(vec![
            address(device).into(),
            text_or_dash(device, "qdev_id").into(),
            class(device).into(),
            ids(device).into(),
            irq(device).into(),
            regions(device).into(),
        ]);
        // Devices behind a bridge come right after it.
        if let Some(bridge) = device.get("pci_bridge") {
            add_devices(grid, bridge.get("devices"));
        }
    }
}

/// `bus:slot.function`, as in `lspci`.
fn address(device: &Value) -> String {
    match (
        int(device, "bus"),
        int(device, "slot"),
        int(device, "function"),
    ) {
        (Some(bus), Some(slot), Some(function)) => format!("{bus:02x}:{slot:02x}.{function:x}"),
        _ => NONE.into(),
    }
}

/// The class description (or number), and for bridges the buses behind.
fn class(device: &Value) -> String {
    let info = device.get("class_info").unwrap_or(&Value::Null);
    let mut class = match (field(info, "desc"), int(info, "class")) {
        (Some(desc), _) => desc,
        (None, Some(number)) => format!("class {number:04x}"),
        (None, None) => NONE.into(),
    };
    if let Some(bus) = device.get("pci_bridge").and_then(|b| b.get("bus")) {
        if let (Some(secondary), Some(subordinate)) =
            (int(bus, "secondary"), int(bus, "subordinate"))
        {
            class.push_str(&format!(", buses {secondary:02x}-{subordinate:02x}"));
        }
    }
    class
}

/// `vendor:device` in hex, as `lspci -n` shows them.
fn ids(device: &Value) -> String {
    let id = device.get("id").unwrap_or(&Value::Null);
    match (int(id, "vendor"), int(id, "device")) {
        (Some(vendor), Some(device)) => format!("{vendor:04x}:{device:04x}"),
        _ => NONE.into(),
    }
}

/// The interrupt pin (A–D) and the IRQ it is routed to.
fn irq(device: &Value) -> String {
    match int(device, "irq_pin").filter(|pin| (1..=4).contains(pin)) {
        Some(pin) => {
            let letter = char::from(b'A' + (pin - 1) as u8);
            match int(device, "irq") {
                Some(line) => format!("INT{letter}, IRQ{NBSP}{line}"),
                None => format!("INT{letter}"),
            }
        }
        None => NONE.into(),
    }
}

/// Every BAR, comma-separated: kind, size, and where it is mapped (if it is).
fn regions(device: &Value) -> String {
    let regions = device
        .get("regions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if regions.is_empty() {
        return NONE.into();
    }
    let lines: Vec<String> = regions
        .iter()
        .map(|region| {
            let kind = match field(region, "type").as_deref() {
                Some("io") => "I/O".to_string(),
                _ => {
                    let mut kind = "mem".to_string();
                    if flag(region, "mem_type_64") == Some(true) {
                        kind.push_str("64");
                    }
                    if flag(region, "prefetch") == Some(true) {
                        kind.push_str(" pref");
                    }
                    kind
                }
            };
            let mut line = format!(
                "BAR{} {kind} {}",
                text_or_dash(region, "bar"),
                int(region, "size").map(size).unwrap_or_default()
            );
            // QEMU says -1 when the guest has not mapped the BAR (yet).
            match region.get("address").and_then(Value::as_u64) {
                Some(at) => line.push_str(&format!(" at {at:#x}")),
                None => line.push_str(" unmapped"),
            }
            line
        })
        .collect();
    lines.join(", ")
}
