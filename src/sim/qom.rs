//! A small QOM tree for `qom-list`/`qom-get`: the machine, its devices,
//! vCPUs, the IDE cdrom, user-created objects and chardevs. Properties are
//! a representative subset of QEMU's, with QEMU's type names.

use super::args::{obj, req, ArgsExt, Obj, Ty};
use super::chardev::ChardevKind;
use super::commands::Cmd;
use super::error::{CmdResult, QmpError};
use super::info::{cpu_qom_path, CPUS};
use super::machine::RAM_SIZE;
use super::pci::model_for;
use super::state::State;
use serde_json::{json, Map, Value};

/// One object: its type and its properties (name, QOM type, value).
struct Node {
    type_name: String,
    props: Vec<(String, String, Value)>,
}

impl Node {
    fn new(type_name: &str) -> Self {
        Node {
            type_name: type_name.into(),
            props: vec![("type".into(), "string".into(), json!(type_name))],
        }
    }

    fn prop(mut self, name: &str, ty: &str, value: Value) -> Self {
        self.props.push((name.into(), ty.into(), value));
        self
    }

    fn child(self, parent: &str, name: &str, ty: &str) -> Self {
        let path = format!("{}/{name}", parent.trim_end_matches('/'));
        self.prop(name, &format!("child<{ty}>"), json!(path))
    }

    fn children(&self) -> impl Iterator<Item = &str> {
        self.props
            .iter()
            .filter(|(_, ty, _)| ty.starts_with("child<"))
            .filter_map(|(_, _, v)| v.as_str())
    }
}

fn container(st: &State, path: &str) -> Option<Node> {
    let mut n = Node::new("container");
    match path {
        "/" => {
            n = n
                .child(path, "backend", "container")
                .child(path, "machine", "pc-i440fx-10.0-machine")
                .child(path, "objects", "container")
                .child(path, "chardevs", "container");
        }
        "/machine/peripheral" | "/machine/peripheral-anon" => {
            for d in &st.devices.list {
                let Some(p) = &d.path else { continue };
                if let Some(name) = p.strip_prefix(&format!("{path}/")) {
                    n = n.child(path, name, &d.driver);
                }
            }
        }
        "/machine/unattached" => {
            for i in 0..CPUS {
                let name = format!("device[{}]", i * 2);
                n = n.child(path, &name, "qemu64-x86_64-cpu");
            }
            n = n.child(path, "device[5]", "ide-cd");
        }
        "/objects" => {
            n = n
                .child(path, "iothread0", "iothread")
                .child(path, "mem0", "memory-backend-ram");
        }
        "/chardevs" => {
            for c in &st.chardevs.list {
                n = n.child(path, &c.label, chardev_type(&c.kind));
            }
        }
        "/backend" => {}
        _ => return None,
    }
    Some(n)
}

fn chardev_type(kind: &ChardevKind) -> &'static str {
    match kind {
        ChardevKind::Socket { .. } => "chardev-socket",
        ChardevKind::Ringbuf { .. } => "chardev-ringbuf",
        ChardevKind::Null => "chardev-null",
    }
}

fn machine() -> Node {
    let p = "/machine";
    Node::new("pc-i440fx-10.0-machine")
        .prop(
            "smp",
            "SMPConfiguration",
            json!({"cpus": CPUS, "maxcpus": CPUS,
            "drawers": 1, "books": 1, "sockets": 1, "dies": 1, "clusters": 1,
            "modules": 1, "cores": CPUS, "threads": 1}),
        )
        .prop(
            "memory-backend",
            "link<memory-backend>",
            json!("/objects/mem0"),
        )
        .prop("usb", "bool", json!(false))
        .prop("graphics", "bool", json!(true))
        .prop("hpet", "bool", json!(true))
        .prop("acpi", "OnOffAuto", json!("auto"))
        .prop("dump-guest-core", "bool", json!(true))
        .child(p, "unattached", "container")
        .child(p, "peripheral", "container")
        .child(p, "peripheral-anon", "container")
}

fn device_node(st: &State, path: &str) -> Option<Node> {
    if let Some(base) = path.strip_suffix("/virtio-backend") {
        let d = st.devices.find(base)?;
        let m = model_for(&d.driver).filter(|m| m.virtio)?;
        let ty = m.driver.replace("-pci", "-device");
        let mut n = Node::new(&ty)
            .prop(
                "parent_bus",
                "link<bus>",
                json!(format!("{base}/virtio-bus")),
            )
            .prop("realized", "bool", json!(true));
        if let Some(drive) = &d.drive {
            n = n.prop("drive", "str", json!(drive));
        }
        return Some(n);
    }
    let d = st
        .devices
        .find(path)
        .filter(|d| d.path.as_deref() == Some(path))?;
    let m = model_for(&d.driver)?;
    let mut n = Node::new(m.driver)
        .prop("parent_bus", "link<bus>", json!("/machine/i440fx/pci.0"))
        .prop("realized", "bool", json!(true))
        .prop("hotplugged", "bool", json!(d.hotplugged))
        .prop("hotpluggable", "bool", json!(m.hotpluggable))
        .prop(
            "addr",
            "str",
            json!(format!("{:02x}.{:x}", d.slot, d.function)),
        );
    if let Some(mac) = &d.mac {
        n = n.prop("mac", "str", json!(mac));
        n = n.prop("netdev", "str", json!(d.netdev.clone().unwrap_or_default()));
    }
    if let Some(drive) = &d.drive {
        n = n.prop("drive", "str", json!(drive));
    }
    if m.virtio {
        n = n.child(path, "virtio-backend", &m.driver.replace("-pci", "-device"));
    }
    Some(n)
}

fn other_node(st: &State, path: &str) -> Option<Node> {
    if path == "/machine" {
        return Some(machine());
    }
    for i in 0..CPUS {
        if path == cpu_qom_path(i) {
            return Some(
                Node::new("qemu64-x86_64-cpu")
                    .prop("realized", "bool", json!(true))
                    .prop("apic-id", "uint32", json!(i))
                    .prop("socket-id", "int32", json!(0))
                    .prop("core-id", "int32", json!(i))
                    .prop("thread-id", "int32", json!(0)),
            );
        }
    }
    match path {
        "/machine/unattached/device[5]" => Some(
            Node::new("ide-cd")
                .prop("realized", "bool", json!(true))
                .prop("drive", "str", json!("ide1-cd0"))
                .prop("unit", "uint32", json!(0)),
        ),
        "/objects/iothread0" => Some(
            Node::new("iothread")
                .prop("poll-max-ns", "int", json!(32768))
                .prop("poll-grow", "int", json!(0))
                .prop("poll-shrink", "int", json!(0))
                .prop("aio-max-batch", "int", json!(0))
                .prop("thread-pool-min", "int", json!(0))
                .prop("thread-pool-max", "int", json!(64)),
        ),
        "/objects/mem0" => Some(
            Node::new("memory-backend-ram")
                .prop("size", "int", json!(RAM_SIZE))
                .prop("merge", "bool", json!(true))
                .prop("dump", "bool", json!(true))
                .prop("prealloc", "bool", json!(false))
                .prop("share", "bool", json!(false))
                .prop("reserve", "bool", json!(true))
                .prop("policy", "HostMemPolicy", json!("default"))
                .prop("host-nodes", "int", json!([])),
        ),
        _ => {
            let label = path.strip_prefix("/chardevs/")?;
            let c = st.chardevs.get(label)?;
            Some(Node::new(chardev_type(&c.kind)))
        }
    }
}

fn node_at(st: &State, path: &str) -> Option<Node> {
    container(st, path)
        .or_else(|| device_node(st, path))
        .or_else(|| other_node(st, path))
}

/// Every object path in the tree.
fn all_paths(st: &State) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec!["/".to_string()];
    while let Some(p) = todo.pop() {
        if let Some(n) = node_at(st, &p) {
            todo.extend(n.children().map(str::to_string));
        }
        out.push(p);
    }
    out
}

/// Resolve an absolute or partial path like QEMU's `object_resolve_path`.
fn resolve(st: &State, path: &str) -> Result<(String, Node), QmpError> {
    let not_found = || QmpError::device_not_found(path);
    if path.starts_with('/') {
        let p = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let n = node_at(st, p).ok_or_else(not_found)?;
        return Ok((p.to_string(), n));
    }
    let suffix = format!("/{}", path.trim_end_matches('/'));
    let matches: Vec<String> = all_paths(st)
        .into_iter()
        .filter(|p| p.ends_with(&suffix))
        .collect();
    match matches.as_slice() {
        [one] => {
            let n = node_at(st, one).ok_or_else(not_found)?;
            Ok((one.clone(), n))
        }
        [] => Err(not_found()),
        _ => Err(QmpError::generic(format!("Path '{path}' is ambiguous"))),
    }
}

fn qom_list(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (_, n) = resolve(st, a.str_arg("path").unwrap_or_default())?;
    Ok(n.props
        .iter()
        .map(|(name, ty, _)| json!({"name": name, "type": ty}))
        .collect())
}

fn qom_get(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let (_, n) = resolve(st, a.str_arg("path").unwrap_or_default())?;
    let prop = a.str_arg("property").unwrap_or_default();
    n.props
        .iter()
        .find(|(name, _, _)| name == prop)
        .map(|(_, _, v)| v.clone())
        .ok_or_else(|| QmpError::generic(format!("Property '{}.{prop}' not found", n.type_name)))
}

const QOM_LIST: Obj = obj(&[req("path", Ty::Str)]);
const QOM_GET: Obj = obj(&[req("path", Ty::Str), req("property", Ty::Str)]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("qom-list", &QOM_LIST, qom_list),
    Cmd::new("qom-get", &QOM_GET, qom_get),
];
