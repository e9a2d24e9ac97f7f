//! `info pci` (query-pci): every device of every bus, bridges followed by
//! the devices behind them.

use super::lenient::{as_list, flag, has, int, list, member, reply_at, text, uint};
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use serde_json::Value;

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    _args: &Args,
) -> Option<Result<String, RenderError>> {
    match name {
        "pci" => Some(info_pci(ctx, replies)),
        _ => None,
    }
}

/// An unassigned BAR reads back as all ones.
const UNMAPPED: u64 = u64::MAX;

/// Deepest bridge nesting followed; PCI allows at most 256 buses.
const MAX_DEPTH: usize = 256;

fn info_pci(ctx: &RenderContext, replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "pci";
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = String::new();
    for bus in as_list(NAME, value)? {
        for device in list(bus, "devices") {
            print_device(&mut out, ctx, device, 0);
        }
    }
    Ok(out)
}

fn print_device(out: &mut String, ctx: &RenderContext, dev: &Value, depth: usize) {
    let null = Value::Null;
    *out += &format!(
        "  Bus {:2}, device {:3}, function {}:\n    ",
        int(dev, "bus"),
        int(dev, "slot"),
        int(dev, "function")
    );
    let class = member(dev, "class_info").unwrap_or(&null);
    match class.get("desc").and_then(Value::as_str) {
        Some(desc) => out.push_str(desc),
        // The class number is printed in decimal despite the hex-looking width.
        None => *out += &format!("Class {:04}", int(class, "class")),
    }
    let id = member(dev, "id").unwrap_or(&null);
    *out += &format!(
        ": PCI device {:04x}:{:04x}\n",
        uint(id, "vendor"),
        uint(id, "device")
    );
    if has(id, "subsystem-vendor") && has(id, "subsystem") {
        *out += &format!(
            "      PCI subsystem {:04x}:{:04x}\n",
            uint(id, "subsystem-vendor"),
            uint(id, "subsystem")
        );
    }
    if has(dev, "irq") {
        // C adds 'A' + pin - 1 in a char.
        let pin = (b'A' as i64 + int(dev, "irq_pin") - 1) as u8 as char;
        *out += &format!("      IRQ {}, pin {pin}\n", int(dev, "irq"));
    }

    let bridge = member(dev, "pci_bridge");
    if let Some(bridge) = bridge {
        let bus = member(bridge, "bus").unwrap_or(&null);
        *out += &format!("      BUS {}.\n", int(bus, "number"));
        *out += &format!("      secondary bus {}.\n", int(bus, "secondary"));
        *out += &format!("      subordinate bus {}.\n", int(bus, "subordinate"));
        let range = |key: &str| member(bus, key).unwrap_or(&null);
        *out += &format!(
            "      IO range [0x{:04x}, 0x{:04x}]\n",
            uint(range("io_range"), "base"),
            uint(range("io_range"), "limit")
        );
        *out += &format!(
            "      memory range [0x{:08x}, 0x{:08x}]\n",
            uint(range("memory_range"), "base"),
            uint(range("memory_range"), "limit")
        );
        *out += &format!(
            "      prefetchable memory range [0x{:08x}, 0x{:08x}]\n",
            uint(range("prefetchable_range"), "base"),
            uint(range("prefetchable_range"), "limit")
        );
    }

    for region in list(dev, "regions") {
        *out += &format!(
            "      BAR{}: {}\n",
            int(region, "bar"),
            bar_text(ctx, region)
        );
    }
    *out += &format!("      id \"{}\"\n", text(dev, "qdev_id"));

    if let Some(bridge) = bridge {
        if depth < MAX_DEPTH {
            for child in list(bridge, "devices") {
                print_device(out, ctx, child, depth + 1);
            }
        }
    }
}

fn bar_text(ctx: &RenderContext, region: &Value) -> String {
    let address = uint(region, "address");
    let last = address.wrapping_add(uint(region, "size")).wrapping_sub(1);
    let io = text(region, "type") == "io";
    // Before 9.1 every BAR was shown with its address (all ones when
    // unassigned) and a trailing dot.
    let legacy = !ctx.version.at_least(9, 1);
    if io {
        if legacy {
            format!("I/O at 0x{address:04x} [0x{last:04x}].")
        } else if address != UNMAPPED {
            format!("I/O at 0x{address:04x} [0x{last:04x}]")
        } else {
            "I/O (not mapped)".to_string()
        }
    } else {
        let kind = format!(
            "{} bit{} memory",
            if flag(region, "mem_type_64") { 64 } else { 32 },
            if flag(region, "prefetch") {
                " prefetchable"
            } else {
                ""
            }
        );
        if legacy {
            format!("{kind} at 0x{address:08x} [0x{last:08x}].")
        } else if address != UNMAPPED {
            format!("{kind} at 0x{address:08x} [0x{last:08x}]")
        } else {
            format!("{kind} (not mapped)")
        }
    }
}
