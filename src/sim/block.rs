//! Block devices: a virtio disk `drive0` (qcow2) and an IDE cdrom
//! `ide1-cd0` with a tray, plus the host images the simulator pretends
//! exist. This file holds the model and the query commands; media changes
//! live in `block_media.rs`.

use super::args::{self, obj, opt, Ty};
use super::commands::Cmd;
use super::error::CmdResult;
use super::state::State;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// An image file on the simulated host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostImage {
    pub path: String,
    /// `qcow2` or `raw`.
    pub format: String,
    pub virtual_size: i64,
    /// Bytes the file occupies on the host.
    pub actual_size: i64,
}

impl HostImage {
    pub fn new(path: &str, format: &str, virtual_size: i64, actual_size: i64) -> Self {
        HostImage {
            path: path.into(),
            format: format.into(),
            virtual_size,
            actual_size,
        }
    }

    /// Length of the file itself (what the protocol node reports).
    pub fn file_length(&self) -> i64 {
        if self.format == "qcow2" {
            self.actual_size + 196_608
        } else {
            self.virtual_size
        }
    }
}

/// I/O accounting of one node or backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub rd_bytes: i64,
    pub wr_bytes: i64,
    pub rd_operations: i64,
    pub wr_operations: i64,
    pub flush_operations: i64,
    pub rd_total_time_ns: i64,
    pub wr_total_time_ns: i64,
    pub flush_total_time_ns: i64,
    pub wr_highest_offset: i64,
    /// When the last request finished (virtual time), if any did.
    pub last_io: Option<Duration>,
}

/// I/O limits set by `block_set_io_throttle` (0 = unlimited).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Throttle {
    /// `bps`, `bps_rd`, `bps_wr`, `iops`, `iops_rd`, `iops_wr` and the
    /// optional ones, by QMP member name; only non-zero values are kept.
    pub limits: Vec<(String, i64)>,
    pub group: Option<String>,
}

/// The image inserted in a drive: a format node over a file node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medium {
    pub image: HostImage,
    /// Format the node was opened with (may be `raw` over a qcow2 file).
    pub driver: String,
    pub ro: bool,
    pub node_name: String,
    pub file_node_name: String,
    pub file_stats: Stats,
}

impl Medium {
    pub fn virtual_size(&self) -> i64 {
        if self.driver == "raw" {
            self.image.file_length().max(self.image.virtual_size)
        } else {
            self.image.virtual_size
        }
    }
}

/// A block backend and the guest device it is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    pub device: String,
    /// QOM path of the frontend (what `id` may name, and DEVICE_TRAY_MOVED
    /// reports).
    pub qdev: String,
    /// Peripheral id of the frontend device, when it has one.
    pub frontend_id: Option<String>,
    pub removable: bool,
    /// Locked by the guest (a mounted cdrom).
    pub locked: bool,
    pub tray_open: bool,
    pub medium: Option<Medium>,
    /// Limits belong to the backend and survive medium changes.
    pub throttle: Throttle,
    pub stats: Stats,
}

/// All block state.
#[derive(Debug, Clone)]
pub struct Block {
    pub drives: Vec<Drive>,
    /// Files `blockdev-change-medium` can open.
    pub images: Vec<HostImage>,
    node_counter: u64,
}

pub const DISK_PATH: &str = "/var/lib/qhmp/images/sim-vm.qcow2";
pub const INSTALL_ISO: &str = "/var/lib/qhmp/iso/debian-12.8.0-amd64-netinst.iso";

impl Default for Block {
    fn default() -> Self {
        let images = vec![
            HostImage::new(DISK_PATH, "qcow2", 10 << 30, 2_416_312_320),
            HostImage::new(INSTALL_ISO, "raw", 663_748_608, 663_748_608),
            HostImage::new(
                "/var/lib/qhmp/iso/virtio-win-0.1.262.iso",
                "raw",
                731_744_256,
                731_744_256,
            ),
            HostImage::new(
                "/var/lib/qhmp/iso/systemrescue-11.02-amd64.iso",
                "raw",
                1_027_604_480,
                1_027_604_480,
            ),
        ];
        let mut b = Block {
            drives: Vec::new(),
            images,
            node_counter: 0,
        };
        let disk = b.open_medium(b.images[0].clone(), "qcow2", false);
        let cd = b.open_medium(b.images[1].clone(), "raw", true);
        b.drives.push(Drive {
            device: "drive0".into(),
            qdev: "/machine/peripheral/virtio-disk0/virtio-backend".into(),
            frontend_id: Some("virtio-disk0".into()),
            removable: false,
            locked: false,
            tray_open: false,
            medium: Some(disk),
            throttle: Throttle::default(),
            stats: Stats::default(),
        });
        b.drives.push(Drive {
            device: "ide1-cd0".into(),
            qdev: "/machine/unattached/device[5]".into(),
            frontend_id: None,
            removable: true,
            locked: false,
            tray_open: false,
            medium: Some(cd),
            throttle: Throttle::default(),
            stats: Stats::default(),
        });
        b
    }
}

impl Block {
    /// A new anonymous node name, shaped like QEMU's (`#block` + counter +
    /// two pseudo-random digits).
    fn node_name(&mut self) -> String {
        self.node_counter += 1;
        let n = self.node_counter;
        format!("#block{}{:02}", n, (n * 37 + 11) % 100)
    }

    pub(crate) fn open_medium(&mut self, image: HostImage, driver: &str, ro: bool) -> Medium {
        let file_node_name = self.node_name();
        let node_name = self.node_name();
        Medium {
            image,
            driver: driver.into(),
            ro,
            node_name,
            file_node_name,
            file_stats: Stats::default(),
        }
    }

    pub fn drive(&self, device: &str) -> Option<&Drive> {
        self.drives.iter().find(|d| d.device == device)
    }

    pub(crate) fn drive_mut(&mut self, device: &str) -> Option<&mut Drive> {
        self.drives.iter_mut().find(|d| d.device == device)
    }

    pub fn image(&self, path: &str) -> Option<&HostImage> {
        self.images.iter().find(|i| i.path == path)
    }

    pub(crate) fn unlock_all_trays(&mut self) {
        for d in &mut self.drives {
            d.locked = false;
        }
    }

    /// Guest I/O while the vCPUs run: steady traffic on the disk.
    pub(crate) fn tick(&mut self, now: Duration, step: Duration, running: bool) {
        if !running {
            return;
        }
        let ticks = (step.as_millis() / 100).max(1) as i64;
        for d in &mut self.drives {
            let Some(m) = &mut d.medium else { continue };
            if d.device != "drive0" {
                continue;
            }
            let s = &mut d.stats;
            let n = s.rd_operations / 3;
            s.last_io = Some(now);
            s.rd_operations += 3 * ticks;
            s.rd_bytes += 3 * 16_384 * ticks;
            s.rd_total_time_ns += 3 * 181_000 * ticks;
            if n % 2 == 0 {
                s.wr_operations += ticks;
                s.wr_bytes += 8_192 * ticks;
                s.wr_total_time_ns += 412_000 * ticks;
                let off = (s.wr_bytes * 97) % m.image.virtual_size.max(1);
                s.wr_highest_offset = s.wr_highest_offset.max(off);
            }
            if n % 20 == 0 {
                s.flush_operations += 1;
                s.flush_total_time_ns += 1_250_000;
            }
            let f = &mut m.file_stats;
            f.rd_operations = s.rd_operations;
            f.rd_bytes = s.rd_bytes;
            f.wr_operations = s.wr_operations + s.flush_operations;
            f.wr_bytes = s.wr_bytes + 512 * s.flush_operations;
            f.wr_highest_offset = m.image.file_length();
        }
    }
}

pub(crate) fn tray_event(st: &mut State, device: &str, open: bool) {
    let qdev = st
        .block
        .drive(device)
        .map(|d| d.qdev.clone())
        .unwrap_or_default();
    st.emit(
        "DEVICE_TRAY_MOVED",
        Some(json!({"device": device, "tray-open": open, "id": qdev})),
    );
}

/// The guest honours an eject request: unlock, then open the tray.
pub(crate) fn guest_open_tray(st: &mut State, device: &str) {
    let Some(d) = st.block.drive_mut(device) else {
        return;
    };
    d.locked = false;
    if !d.tray_open {
        d.tray_open = true;
        tray_event(st, device, true);
    }
}

fn image_info(image: &HostImage, driver: &str) -> Value {
    let mut v = json!({"filename": image.path, "format": driver, "dirty-flag": false,
                       "actual-size": image.actual_size});
    if driver == "qcow2" {
        v["virtual-size"] = json!(image.virtual_size);
        v["cluster-size"] = json!(65536);
        v["format-specific"] = json!({"type": "qcow2", "data": {
            "compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false,
            "refcount-bits": 16, "corrupt": false, "extended-l2": false}});
    } else {
        v["virtual-size"] = json!(image.file_length().max(image.virtual_size));
    }
    v
}

/// `BlockDeviceInfo` of a node; `throttle` only when seen through its
/// backend (`query-block`).
fn node_info(m: &Medium, file_node: bool, throttle: Option<&Throttle>) -> Value {
    let (name, image) = if file_node {
        let mut img = image_info(&m.image, "file");
        img["virtual-size"] = json!(m.image.file_length());
        img["format-specific"] = json!({"type": "file", "data": {}});
        (&m.file_node_name, img)
    } else {
        (&m.node_name, image_info(&m.image, &m.driver))
    };
    let drv = if file_node { "file" } else { m.driver.as_str() };
    let mut v = json!({"file": m.image.path, "node-name": name, "ro": m.ro, "drv": drv,
        "backing_file_depth": 0, "active": true, "encrypted": false,
        "detect_zeroes": "off", "bps": 0, "bps_rd": 0, "bps_wr": 0,
        "iops": 0, "iops_rd": 0, "iops_wr": 0, "image": image,
        "cache": {"writeback": true, "direct": false, "no-flush": false},
        "write_threshold": 0});
    if let Some(t) = throttle {
        for (k, val) in &t.limits {
            v[k.as_str()] = json!(val);
        }
        if let Some(g) = &t.group {
            v["group"] = json!(g);
        }
    }
    v
}

fn stats_json(s: &Stats, now: Duration, backend: bool) -> Value {
    let mut v = json!({"rd_bytes": s.rd_bytes, "wr_bytes": s.wr_bytes,
        "zone_append_bytes": 0, "unmap_bytes": 0,
        "rd_operations": s.rd_operations, "wr_operations": s.wr_operations,
        "zone_append_operations": 0, "flush_operations": s.flush_operations,
        "unmap_operations": 0, "rd_total_time_ns": s.rd_total_time_ns,
        "wr_total_time_ns": s.wr_total_time_ns, "zone_append_total_time_ns": 0,
        "flush_total_time_ns": s.flush_total_time_ns, "unmap_total_time_ns": 0,
        "wr_highest_offset": s.wr_highest_offset, "rd_merged": 0, "wr_merged": 0,
        "zone_append_merged": 0, "unmap_merged": 0,
        "failed_rd_operations": 0, "failed_wr_operations": 0,
        "failed_zone_append_operations": 0, "failed_flush_operations": 0,
        "failed_unmap_operations": 0, "invalid_rd_operations": 0,
        "invalid_wr_operations": 0, "invalid_zone_append_operations": 0,
        "invalid_flush_operations": 0, "invalid_unmap_operations": 0,
        "account_invalid": backend, "account_failed": backend, "timed_stats": []});
    if let (Some(last), true) = (s.last_io, backend) {
        // The last request finished a little before the tick boundary.
        let idle = now.saturating_sub(last).as_nanos() as i64 + 2_318_211;
        v["idle_time_ns"] = json!(idle);
    }
    v
}

fn query_block(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let list: Vec<Value> = st
        .block
        .drives
        .iter()
        .map(|d| {
            let mut v = json!({"device": d.device, "qdev": d.qdev, "type": "unknown",
                               "removable": d.removable, "locked": d.locked});
            if let Some(m) = &d.medium {
                v["inserted"] = node_info(m, false, Some(&d.throttle));
            }
            if d.removable {
                v["tray_open"] = json!(d.tray_open);
            }
            v["io-status"] = json!("ok");
            v
        })
        .collect();
    Ok(Value::Array(list))
}

fn query_named_block_nodes(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    // Newest nodes first, as QEMU lists them.
    let mut media: Vec<&Medium> = st
        .block
        .drives
        .iter()
        .filter_map(|d| d.medium.as_ref())
        .collect();
    media.reverse();
    let nodes = media
        .iter()
        .flat_map(|m| [node_info(m, false, None), node_info(m, true, None)])
        .collect();
    Ok(Value::Array(nodes))
}

fn query_blockstats(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    use super::args::ArgsExt;
    let now = st.now;
    let nodes_only = a.bool_arg("query-nodes").unwrap_or(false);
    let mut out = Vec::new();
    for d in &st.block.drives {
        let parent = d.medium.as_ref().map(|m| {
            json!({"node-name": m.file_node_name, "stats": stats_json(&m.file_stats, now, false),
                   "driver-specific": {"driver": "file", "discard-nb-ok": 0,
                                       "discard-nb-failed": 0, "discard-bytes-ok": 0}})
        });
        if nodes_only {
            if let (Some(m), Some(p)) = (&d.medium, parent) {
                out.push(p.clone());
                out.push(
                    json!({"node-name": m.node_name, "stats": stats_json(&d.stats, now, false),
                                "parent": p}),
                );
            }
            continue;
        }
        let mut v = json!({"device": d.device, "qdev": d.qdev});
        if let Some(m) = &d.medium {
            v["node-name"] = json!(m.node_name);
        }
        v["stats"] = stats_json(&d.stats, now, true);
        if let Some(p) = parent {
            v["parent"] = p;
        }
        out.push(v);
    }
    Ok(Value::Array(out))
}

fn query_block_jobs(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(json!([]))
}

const FLAT: args::Obj = obj(&[opt("flat", Ty::Bool)]);
const QUERY_NODES: args::Obj = obj(&[opt("query-nodes", Ty::Bool)]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("query-block", &args::NONE, query_block),
    Cmd::new("query-named-block-nodes", &FLAT, query_named_block_nodes),
    Cmd::new("query-blockstats", &QUERY_NODES, query_blockstats),
    Cmd::new("query-block-jobs", &args::NONE, query_block_jobs),
    Cmd::new(
        "eject",
        &super::block_media::EJECT,
        super::block_media::eject,
    ),
    Cmd::new(
        "blockdev-open-tray",
        &super::block_media::EJECT,
        super::block_media::open_tray,
    ),
    Cmd::new(
        "blockdev-close-tray",
        &super::block_media::DEVICE_OR_ID,
        super::block_media::close_tray,
    ),
    Cmd::new(
        "blockdev-change-medium",
        &super::block_media::CHANGE,
        super::block_media::change_medium,
    ),
    Cmd::new(
        "block_resize",
        &super::block_media::RESIZE,
        super::block_media::block_resize,
    ),
    Cmd::new(
        "block_set_io_throttle",
        &super::block_media::THROTTLE,
        super::block_media::set_io_throttle,
    ),
];
