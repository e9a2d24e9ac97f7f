//! SPICE and VNC servers: their clients (connecting and leaving on demand
//! or by themselves over time), passwords and expiry, with the event
//! sequences QEMU 10.0 emits.

use super::args::{obj, req, ArgsExt, Obj, Ty, Union};
use super::commands::Cmd;
use super::error::{ok, CmdResult, QmpError};
use super::script::Action;
use super::state::{State, Task};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// One VNC viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VncClient {
    pub host: String,
    pub port: u16,
}

/// One SPICE client session: a main channel plus display, inputs and
/// cursor channels, each on its own TCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpiceClient {
    pub host: String,
    /// Port of the main channel; the others follow it.
    pub port: u16,
    pub connection_id: i64,
}

/// (channel-type, channel-id) of the channels a client opens, in order.
const SPICE_CHANNELS: [(i64, i64); 4] = [(1, 0), (2, 0), (3, 0), (4, 0)];

/// A password and when it stops being accepted (virtual time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Password {
    pub value: Option<String>,
    pub expires: Option<Duration>,
}

impl Password {
    /// Whether a client knowing the password can log in at `now`.
    pub fn usable(&self, now: Duration) -> bool {
        self.value.is_some() && self.expires.is_none_or(|t| now < t)
    }
}

#[derive(Debug, Clone)]
pub struct Display {
    pub host: String,
    pub vnc_port: u16,
    pub spice_port: u16,
    pub vnc_password: Password,
    pub spice_password: Password,
    pub vnc_clients: Vec<VncClient>,
    pub spice_clients: Vec<SpiceClient>,
    /// Viewers come and go by themselves (next visit due at this time).
    pub ambient_next: Option<Duration>,
    ambient_seed: u64,
}

impl Display {
    pub(crate) fn new(ambient: bool) -> Self {
        let initial = |p: &str| Password {
            value: Some(p.into()),
            expires: None,
        };
        Display {
            host: "0.0.0.0".into(),
            vnc_port: 5900,
            spice_port: 5930,
            vnc_password: initial("vnc-secret"),
            spice_password: initial("spice-secret"),
            vnc_clients: Vec::new(),
            spice_clients: Vec::new(),
            ambient_next: ambient.then_some(Duration::from_secs(20)),
            ambient_seed: 0x5eed,
        }
    }

    fn vnc_server(&self, with_auth: bool) -> Value {
        let mut v = json!({"host": self.host, "service": self.vnc_port.to_string(),
                           "family": "ipv4", "websocket": false});
        if with_auth {
            v["auth"] = json!("vnc");
        }
        v
    }

    fn spice_server(&self, with_auth: bool) -> Value {
        let mut v = json!({"host": self.host, "port": self.spice_port.to_string(),
                           "family": "ipv4"});
        if with_auth {
            v["auth"] = json!("spice");
        }
        v
    }
}

fn vnc_client_json(c: &VncClient) -> Value {
    json!({"host": c.host, "service": c.port.to_string(), "family": "ipv4", "websocket": false})
}

fn vnc_event(st: &mut State, name: &str, c: &VncClient) {
    let data = json!({"server": st.display.vnc_server(true), "client": vnc_client_json(c)});
    st.emit(name, Some(data));
}

/// A VNC viewer connects; it gets in only with a usable password.
pub(crate) fn vnc_connect(st: &mut State, host: &str, port: u16) -> Result<(), String> {
    let c = VncClient {
        host: host.into(),
        port,
    };
    if st.display.vnc_clients.contains(&c) {
        return Err(format!("VNC client {host}:{port} is already connected"));
    }
    vnc_event(st, "VNC_CONNECTED", &c);
    if st.display.vnc_password.usable(st.now) {
        vnc_event(st, "VNC_INITIALIZED", &c);
        st.display.vnc_clients.push(c);
    } else {
        vnc_event(st, "VNC_DISCONNECTED", &c);
    }
    Ok(())
}

/// VNC viewers leave: one by port, or all.
pub(crate) fn vnc_disconnect(st: &mut State, port: Option<u16>) {
    let (leaving, staying): (Vec<_>, Vec<_>) = std::mem::take(&mut st.display.vnc_clients)
        .into_iter()
        .partition(|c| port.is_none_or(|p| p == c.port));
    st.display.vnc_clients = staying;
    for c in leaving {
        vnc_event(st, "VNC_DISCONNECTED", &c);
    }
}

fn spice_client_json(c: &SpiceClient, chan: usize) -> Value {
    json!({"host": c.host, "port": (c.port as usize + chan).to_string(), "family": "ipv4"})
}

/// A SPICE client connects: every channel links, then initializes.
pub(crate) fn spice_connect(st: &mut State, host: &str, port: u16) -> Result<(), String> {
    if st
        .display
        .spice_clients
        .iter()
        .any(|c| c.port == port && c.host == host)
    {
        return Err(format!("SPICE client {host}:{port} is already connected"));
    }
    let seq = st.next_seq() as i64;
    let c = SpiceClient {
        host: host.into(),
        port,
        connection_id: (seq * 2_654_435_761 % 4_294_967_291) - 2_147_483_648,
    };
    let server = st.display.spice_server(false);
    if !st.display.spice_password.usable(st.now) {
        let data = json!({"server": server, "client": spice_client_json(&c, 0)});
        st.emit("SPICE_CONNECTED", Some(data.clone()));
        st.emit("SPICE_DISCONNECTED", Some(data));
        return Ok(());
    }
    for (i, (ctype, cid)) in SPICE_CHANNELS.iter().enumerate() {
        let client = spice_client_json(&c, i);
        st.emit(
            "SPICE_CONNECTED",
            Some(json!({"server": server, "client": client})),
        );
        let mut full = client.clone();
        full["connection-id"] = json!(c.connection_id);
        full["channel-type"] = json!(ctype);
        full["channel-id"] = json!(cid);
        full["tls"] = json!(false);
        let server_auth = st.display.spice_server(true);
        st.emit(
            "SPICE_INITIALIZED",
            Some(json!({"server": server_auth, "client": full})),
        );
    }
    st.display.spice_clients.push(c);
    Ok(())
}

/// SPICE clients leave: one by main-channel port, or all. Channels close
/// last-opened first.
pub(crate) fn spice_disconnect(st: &mut State, port: Option<u16>) {
    let (leaving, staying): (Vec<_>, Vec<_>) = std::mem::take(&mut st.display.spice_clients)
        .into_iter()
        .partition(|c| port.is_none_or(|p| p == c.port));
    st.display.spice_clients = staying;
    let server = st.display.spice_server(false);
    for c in leaving {
        for i in (0..SPICE_CHANNELS.len()).rev() {
            let data = json!({"server": server, "client": spice_client_json(&c, i)});
            st.emit("SPICE_DISCONNECTED", Some(data));
        }
    }
}

/// Viewers that come and go by themselves, when enabled.
pub(crate) fn tick(st: &mut State) {
    let Some(due) = st.display.ambient_next else {
        return;
    };
    if st.now < due {
        return;
    }
    let d = &mut st.display;
    d.ambient_seed = d
        .ambient_seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1);
    let r = d.ambient_seed >> 33;
    d.ambient_next = Some(due + Duration::from_secs(60 + r % 90));
    let host = format!("10.10.0.{}", 20 + r % 40);
    let port = 40_000 + (r % 20_000) as u16;
    let stay = Duration::from_secs(15 + (r >> 8) % 60);
    let (connect, leave) = if r.is_multiple_of(2) {
        (
            vnc_connect(st, &host, port),
            Action::VncDisconnect { port: Some(port) },
        )
    } else {
        (
            spice_connect(st, &host, port),
            Action::SpiceDisconnect { port: Some(port) },
        )
    };
    if connect.is_ok() {
        st.after(stay, Task::Script(leave));
    }
}

fn query_vnc(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let d = &st.display;
    let clients: Vec<Value> = d.vnc_clients.iter().map(vnc_client_json).collect();
    Ok(json!({"enabled": true, "host": d.host, "family": "ipv4",
              "service": d.vnc_port.to_string(), "auth": "vnc", "clients": clients}))
}

fn query_vnc_servers(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let d = &st.display;
    let clients: Vec<Value> = d.vnc_clients.iter().map(vnc_client_json).collect();
    Ok(
        json!([{"id": "default", "server": [d.vnc_server(true)], "clients": clients,
               "auth": "vnc", "display": "video0"}]),
    )
}

fn query_spice(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    let d = &st.display;
    let mut channels = Vec::new();
    for c in &d.spice_clients {
        for (i, (ctype, cid)) in SPICE_CHANNELS.iter().enumerate() {
            let mut ch = spice_client_json(c, i);
            ch["connection-id"] = json!(c.connection_id);
            ch["channel-type"] = json!(ctype);
            ch["channel-id"] = json!(cid);
            ch["tls"] = json!(false);
            channels.push(ch);
        }
    }
    Ok(
        json!({"enabled": true, "migrated": false, "host": d.host, "port": d.spice_port,
              "auth": "spice", "compiled-version": "0.15.1", "mouse-mode": "server",
              "channels": channels}),
    )
}

const PROTOCOL: Ty = Ty::Enum(&["vnc", "spice"]);
const VNC_DISPLAY: Obj = obj(&[super::args::opt("display", Ty::Str)]);
const NOTHING: Obj = obj(&[]);
pub(crate) const SET_PASSWORD: Obj = Obj {
    members: &[
        req("protocol", PROTOCOL),
        req("password", Ty::Str),
        super::args::opt("connected", Ty::Enum(&["keep", "fail", "disconnect"])),
    ],
    union: Some(Union {
        tag: "protocol",
        cases: &[("vnc", &VNC_DISPLAY), ("spice", &NOTHING)],
        open_cases: false,
    }),
};
pub(crate) const EXPIRE_PASSWORD: Obj = Obj {
    members: &[req("protocol", PROTOCOL), req("time", Ty::Str)],
    union: Some(Union {
        tag: "protocol",
        cases: &[("vnc", &VNC_DISPLAY), ("spice", &NOTHING)],
        open_cases: false,
    }),
};
const CHANGE_VNC_PASSWORD: Obj = obj(&[req("password", Ty::Str)]);

/// Only the default VNC display exists (named `default`, on `video0`).
fn vnc_display_ok(a: &Map<String, Value>) -> bool {
    a.str_arg("display")
        .is_none_or(|d| d == "default" || d == "video0")
}

fn set_password(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let password = a.str_arg("password").unwrap_or_default().to_string();
    let connected = a.str_arg("connected").unwrap_or("keep");
    if a.str_arg("protocol") == Some("vnc") {
        if connected != "keep" {
            return Err(QmpError::generic(
                "parameter 'connected' must be 'keep' when 'protocol' is 'vnc'",
            ));
        }
        if !vnc_display_ok(a) {
            return Err(QmpError::generic("Could not set password"));
        }
        st.display.vnc_password.value = Some(password);
        return ok();
    }
    if connected == "fail" && !st.display.spice_clients.is_empty() {
        return Err(QmpError::generic("Could not set password"));
    }
    st.display.spice_password.value = Some(password);
    if connected == "disconnect" {
        spice_disconnect(st, None);
    }
    ok()
}

/// Parse `now`, `never`, `+SECONDS` or absolute `SECONDS` since the epoch
/// into a virtual expiry time (`None` = never).
fn parse_expiry(st: &State, when: &str) -> Result<Option<Duration>, QmpError> {
    let bad = || QmpError::generic(format!("Parameter 'time' doesn't take value '{when}'"));
    let secs = |s: &str| s.parse::<u64>().map_err(|_| bad());
    match when {
        "now" => Ok(Some(st.now)),
        "never" => Ok(None),
        _ => match when.strip_prefix('+') {
            Some(rel) => Ok(Some(st.now + Duration::from_secs(secs(rel)?))),
            None => {
                let abs = secs(when)?;
                let wall = st.wall_secs();
                Ok(Some(st.now + Duration::from_secs(abs.saturating_sub(wall))))
            }
        },
    }
}

fn expire_password(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    let expiry = parse_expiry(st, a.str_arg("time").unwrap_or_default())?;
    if a.str_arg("protocol") == Some("vnc") {
        if !vnc_display_ok(a) {
            return Err(QmpError::generic("Could not set password expire time"));
        }
        st.display.vnc_password.expires = expiry;
    } else {
        st.display.spice_password.expires = expiry;
    }
    ok()
}

fn change_vnc_password(st: &mut State, a: &Map<String, Value>) -> CmdResult {
    st.display.vnc_password.value = Some(a.str_arg("password").unwrap_or_default().into());
    ok()
}

pub(crate) const COMMANDS: &[Cmd] = &[
    Cmd::new("query-vnc", &super::args::NONE, query_vnc),
    Cmd::new("query-vnc-servers", &super::args::NONE, query_vnc_servers),
    Cmd::new("query-spice", &super::args::NONE, query_spice),
    Cmd::new("set_password", &SET_PASSWORD, set_password),
    Cmd::new("expire_password", &EXPIRE_PASSWORD, expire_password),
    Cmd::new(
        "change-vnc-password",
        &CHANGE_VNC_PASSWORD,
        change_vnc_password,
    ),
];
