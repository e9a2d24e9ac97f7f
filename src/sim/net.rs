//! Network backends (`netdev_add`/`netdev_del`) and link state
//! (`set_link`) of backends and the NICs attached to them.

use super::args::{obj, opt, req, ArgsExt, Obj, Ty, Union};
use super::commands::Cmd;
use super::error::{ok, CmdResult, QmpError};
use super::state::State;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Netdev {
    pub id: String,
    /// Backend type: `user`, `tap`, ...
    pub kind: String,
    pub link_up: bool,
    /// The options it was created with (besides `id` and `type`).
    pub options: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Net {
    pub netdevs: Vec<Netdev>,
}

impl Default for Net {
    fn default() -> Self {
        Net {
            netdevs: vec![Netdev {
                id: "net0".into(),
                kind: "user".into(),
                link_up: true,
                options: Map::new(),
            }],
        }
    }
}

/// QEMU's `id_wellformed`: a letter, then letters, digits, `-`, `.`, `_`.
pub(crate) fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

fn set_link(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let name = a.str_arg("name").unwrap_or_default();
    let up = a.bool_arg("up").unwrap_or(true);
    if let Some(n) = st.net.netdevs.iter_mut().find(|n| n.id == name) {
        n.link_up = up;
        // The NIC peer follows its backend, so the guest sees it too.
        for d in st
            .devices
            .list
            .iter_mut()
            .filter(|d| d.netdev.as_deref() == Some(name))
        {
            d.link_up = up;
        }
        return ok();
    }
    let nic = st
        .devices
        .list
        .iter_mut()
        .find(|d| d.mac.is_some() && d.id.as_deref() == Some(name));
    match nic {
        Some(d) => {
            d.link_up = up;
            ok()
        }
        None => Err(QmpError::device_not_found(name)),
    }
}

fn netdev_add(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let id = a.str_arg("id").unwrap_or_default();
    let kind = a.str_arg("type").unwrap_or_default();
    if !id_wellformed(id) {
        return Err(QmpError::invalid_value("id", "an identifier"));
    }
    if st.net.netdevs.iter().any(|n| n.id == id) {
        return Err(QmpError::generic(format!("Duplicate ID '{id}'")));
    }
    if matches!(kind, "nic" | "none") {
        return Err(QmpError::generic(format!(
            "network backend '{kind}' is not compiled into this binary"
        )));
    }
    let options = a
        .iter()
        .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    st.net.netdevs.push(Netdev {
        id: id.into(),
        kind: kind.into(),
        link_up: true,
        options,
    });
    ok()
}

fn netdev_del(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let id = a.str_arg("id").unwrap_or_default();
    let Some(pos) = st.net.netdevs.iter().position(|n| n.id == id) else {
        return Err(QmpError::device_not_found(id));
    };
    st.net.netdevs.remove(pos);
    for d in st
        .devices
        .list
        .iter_mut()
        .filter(|d| d.netdev.as_deref() == Some(id))
    {
        d.netdev = None;
    }
    ok()
}

const STR_WRAPPER: Obj = obj(&[req("str", Ty::Str)]);
const STR_ITEM: Ty = Ty::Obj(&STR_WRAPPER);
const STRS: Ty = Ty::List(&STR_ITEM);
const USER: Obj = obj(&[
    opt("hostname", Ty::Str),
    opt("restrict", Ty::Bool),
    opt("ipv4", Ty::Bool),
    opt("ipv6", Ty::Bool),
    opt("ip", Ty::Str),
    opt("net", Ty::Str),
    opt("host", Ty::Str),
    opt("tftp", Ty::Str),
    opt("bootfile", Ty::Str),
    opt("dhcpstart", Ty::Str),
    opt("dns", Ty::Str),
    opt("dnssearch", STRS),
    opt("domainname", Ty::Str),
    opt("ipv6-prefix", Ty::Str),
    opt("ipv6-prefixlen", Ty::Int),
    opt("ipv6-host", Ty::Str),
    opt("ipv6-dns", Ty::Str),
    opt("smb", Ty::Str),
    opt("smbserver", Ty::Str),
    opt("hostfwd", STRS),
    opt("guestfwd", STRS),
    opt("tftp-server-name", Ty::Str),
]);
const TAP: Obj = obj(&[
    opt("ifname", Ty::Str),
    opt("fd", Ty::Str),
    opt("fds", Ty::Str),
    opt("script", Ty::Str),
    opt("downscript", Ty::Str),
    opt("br", Ty::Str),
    opt("helper", Ty::Str),
    opt("sndbuf", Ty::Int),
    opt("vnet_hdr", Ty::Bool),
    opt("vhost", Ty::Bool),
    opt("vhostfd", Ty::Str),
    opt("vhostfds", Ty::Str),
    opt("vhostforce", Ty::Bool),
    opt("queues", Ty::Int),
    opt("poll-us", Ty::Int),
]);
const SOCKET: Obj = obj(&[
    opt("fd", Ty::Str),
    opt("listen", Ty::Str),
    opt("connect", Ty::Str),
    opt("mcast", Ty::Str),
    opt("localaddr", Ty::Str),
    opt("udp", Ty::Str),
]);
const HUBPORT: Obj = obj(&[req("hubid", Ty::Int), opt("netdev", Ty::Str)]);
const BRIDGE: Obj = obj(&[opt("br", Ty::Str), opt("helper", Ty::Str)]);
const VHOST_USER: Obj = obj(&[
    req("chardev", Ty::Str),
    opt("vhostforce", Ty::Bool),
    opt("queues", Ty::Int),
]);
const NOTHING: Obj = obj(&[]);
const NETDEV_TYPES: &[&str] = &[
    "none",
    "nic",
    "user",
    "tap",
    "l2tpv3",
    "socket",
    "stream",
    "dgram",
    "vde",
    "bridge",
    "hubport",
    "netmap",
    "vhost-user",
    "vhost-vdpa",
];
const NETDEV_ADD: Obj = Obj {
    members: &[req("id", Ty::Str), req("type", Ty::Enum(NETDEV_TYPES))],
    union: Some(Union {
        tag: "type",
        cases: &[
            ("user", &USER),
            ("tap", &TAP),
            ("socket", &SOCKET),
            ("hubport", &HUBPORT),
            ("bridge", &BRIDGE),
            ("vhost-user", &VHOST_USER),
            ("none", &NOTHING),
        ],
        // stream, dgram, l2tpv3, vde, netmap, vhost-vdpa: options not modelled.
        open_cases: true,
    }),
};
const ID: Obj = obj(&[req("id", Ty::Str)]);
const SET_LINK: Obj = obj(&[req("name", Ty::Str), req("up", Ty::Bool)]);

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("set_link", &SET_LINK, set_link),
    Cmd::new("netdev_add", &NETDEV_ADD, netdev_add),
    Cmd::new("netdev_del", &ID, netdev_del),
];
