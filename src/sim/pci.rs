//! PCI device models (ids, classes, BARs as QEMU 10.0 reports them for
//! `-machine pc`) and the `query-pci` reply.

use super::devices::Device;
use super::error::CmdResult;
use super::state::State;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    Io,
    Mem32,
    Mem32Pref,
    Mem64Pref,
    /// Expansion ROM (BAR 6): never mapped by the firmware here.
    Rom,
}

#[derive(Debug, Clone, Copy)]
pub struct BarSpec {
    pub bar: i64,
    pub kind: BarKind,
    pub size: i64,
}

const fn bar(bar: i64, kind: BarKind, size: i64) -> BarSpec {
    BarSpec { bar, kind, size }
}

/// What a model is, for the behaviour that depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chipset,
    Disk,
    Vga,
    Nic,
    Balloon,
    Rng,
}

#[derive(Debug)]
pub struct Model {
    pub driver: &'static str,
    pub vendor: i64,
    pub device: i64,
    pub subsystem_vendor: i64,
    pub subsystem: i64,
    pub class: i64,
    pub desc: Option<&'static str>,
    pub irq_pin: i64,
    pub bars: &'static [BarSpec],
    pub kind: Kind,
    pub hotpluggable: bool,
    /// Virtio proxies own a `virtio-backend` child device.
    pub virtio: bool,
    /// Extra properties `device_add` accepts for this model.
    pub props: &'static [&'static str],
}

use BarKind::*;

const QEMU_SUBSYS: i64 = 0x1af4;

const fn model(
    driver: &'static str,
    ids: [i64; 4],
    class: i64,
    desc: Option<&'static str>,
) -> Model {
    Model {
        driver,
        vendor: ids[0],
        device: ids[1],
        subsystem_vendor: ids[2],
        subsystem: ids[3],
        class,
        desc,
        irq_pin: 1,
        bars: &[],
        kind: Kind::Chipset,
        hotpluggable: true,
        virtio: false,
        props: &[],
    }
}

const NIC_PROPS: &[&str] = &["netdev", "mac"];
const VIRTIO_NET_PROPS: &[&str] = &[
    "netdev", "mac", "mq", "vectors", "host_mtu", "speed", "duplex",
];

pub static MODELS: &[Model] = &[
    Model {
        irq_pin: 0,
        hotpluggable: false,
        ..model(
            "i440FX",
            [0x8086, 0x1237, QEMU_SUBSYS, 0x1100],
            0x0600,
            Some("Host bridge"),
        )
    },
    Model {
        irq_pin: 0,
        hotpluggable: false,
        ..model(
            "PIIX3",
            [0x8086, 0x7000, QEMU_SUBSYS, 0x1100],
            0x0601,
            Some("ISA bridge"),
        )
    },
    Model {
        irq_pin: 0,
        hotpluggable: false,
        bars: &[bar(4, Io, 16)],
        ..model(
            "piix3-ide",
            [0x8086, 0x7010, QEMU_SUBSYS, 0x1100],
            0x0101,
            Some("IDE controller"),
        )
    },
    Model {
        hotpluggable: false,
        ..model(
            "PIIX4_PM",
            [0x8086, 0x7113, QEMU_SUBSYS, 0x1100],
            0x0680,
            Some("Bridge"),
        )
    },
    Model {
        kind: Kind::Disk,
        virtio: true,
        props: &["drive", "serial", "iothread", "num-queues"],
        bars: &[
            bar(0, Io, 128),
            bar(1, Mem32, 4096),
            bar(4, Mem64Pref, 16384),
        ],
        ..model(
            "virtio-blk-pci",
            [0x1af4, 0x1001, QEMU_SUBSYS, 2],
            0x0100,
            Some("SCSI controller"),
        )
    },
    Model {
        kind: Kind::Vga,
        irq_pin: 0,
        hotpluggable: false,
        bars: &[
            bar(0, Mem32Pref, 16 << 20),
            bar(2, Mem32, 4096),
            bar(6, Rom, 65536),
        ],
        ..model(
            "VGA",
            [0x1234, 0x1111, QEMU_SUBSYS, 0x1100],
            0x0300,
            Some("VGA controller"),
        )
    },
    Model {
        kind: Kind::Nic,
        virtio: true,
        props: VIRTIO_NET_PROPS,
        bars: &[
            bar(0, Io, 32),
            bar(1, Mem32, 4096),
            bar(4, Mem64Pref, 16384),
            bar(6, Rom, 262144),
        ],
        ..model(
            "virtio-net-pci",
            [0x1af4, 0x1000, QEMU_SUBSYS, 1],
            0x0200,
            Some("Ethernet controller"),
        )
    },
    Model {
        kind: Kind::Balloon,
        virtio: true,
        props: &[
            "deflate-on-oom",
            "free-page-reporting",
            "guest-stats-polling-interval",
        ],
        bars: &[
            bar(0, Io, 64),
            bar(1, Mem32, 4096),
            bar(4, Mem64Pref, 16384),
        ],
        ..model(
            "virtio-balloon-pci",
            [0x1af4, 0x1002, QEMU_SUBSYS, 5],
            0x00ff,
            None,
        )
    },
    Model {
        kind: Kind::Nic,
        props: NIC_PROPS,
        bars: &[bar(0, Mem32, 131072), bar(1, Io, 64), bar(6, Rom, 262144)],
        ..model(
            "e1000",
            [0x8086, 0x100e, QEMU_SUBSYS, 0x1100],
            0x0200,
            Some("Ethernet controller"),
        )
    },
    Model {
        kind: Kind::Nic,
        props: NIC_PROPS,
        bars: &[bar(0, Io, 256), bar(1, Mem32, 256), bar(6, Rom, 262144)],
        ..model(
            "rtl8139",
            [0x10ec, 0x8139, QEMU_SUBSYS, 0x1100],
            0x0200,
            Some("Ethernet controller"),
        )
    },
    Model {
        kind: Kind::Rng,
        virtio: true,
        props: &["rng", "max-bytes", "period"],
        bars: &[
            bar(0, Io, 32),
            bar(1, Mem32, 4096),
            bar(4, Mem64Pref, 16384),
        ],
        ..model(
            "virtio-rng-pci",
            [0x1af4, 0x1005, QEMU_SUBSYS, 4],
            0x00ff,
            None,
        )
    },
];

/// Look a model up by driver name (aliases included).
pub fn model_for(driver: &str) -> Option<&'static Model> {
    let name = match driver {
        "virtio-net" => "virtio-net-pci",
        "virtio-blk" => "virtio-blk-pci",
        "virtio-balloon" => "virtio-balloon-pci",
        "virtio-rng" => "virtio-rng-pci",
        "e1000-82540em" => "e1000",
        other => other,
    };
    MODELS.iter().find(|m| m.driver == name)
}

/// IRQ the firmware routes to a device: PIIX link by (slot + pin) over
/// SeaBIOS's table of 10, 10, 11, 11; the ACPI function uses the SCI (9).
pub fn routed_irq(slot: i64, pin: i64, driver: &str) -> i64 {
    if driver == "PIIX4_PM" {
        return 9;
    }
    const LINKS: [i64; 4] = [10, 10, 11, 11];
    LINKS[((pin - 1 + slot - 1).rem_euclid(4)) as usize]
}

fn device_json(d: &Device) -> Option<Value> {
    let m = model_for(&d.driver)?;
    let mut class_info = json!({"class": m.class});
    if let Some(desc) = m.desc {
        class_info["desc"] = json!(desc);
    }
    let regions: Vec<Value> = m
        .bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let address = match (b.kind, d.configured) {
                (Rom, _) | (_, false) => -1,
                _ => d.bar_addrs.get(i).copied().unwrap_or(-1),
            };
            let mut r = json!({"bar": b.bar, "type": if b.kind == Io { "io" } else { "memory" },
                               "address": address, "size": b.size});
            if b.kind != Io {
                r["prefetch"] = json!(matches!(b.kind, Mem32Pref | Mem64Pref));
                r["mem_type_64"] = json!(b.kind == Mem64Pref);
            }
            r
        })
        .collect();
    let mut v = json!({"bus": 0, "slot": d.slot, "function": d.function,
        "class_info": class_info,
        "id": {"device": m.device, "vendor": m.vendor, "subsystem": m.subsystem,
               "subsystem-vendor": m.subsystem_vendor}});
    if m.irq_pin != 0 {
        let irq = if d.configured {
            routed_irq(d.slot, m.irq_pin, m.driver)
        } else {
            0
        };
        v["irq"] = json!(irq);
    }
    v["irq_pin"] = json!(m.irq_pin);
    v["qdev_id"] = json!(d.id.clone().unwrap_or_default());
    v["regions"] = Value::Array(regions);
    Some(v)
}

pub(crate) fn query_pci(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let mut devs: Vec<&Device> = st.devices.list.iter().collect();
    devs.sort_by_key(|d| (d.slot, d.function));
    let devices: Vec<Value> = devs.into_iter().filter_map(device_json).collect();
    Ok(json!([{"bus": 0, "devices": devices}]))
}
