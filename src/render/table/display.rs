//! `info spice` and `info vnc`: the remote display servers and their clients.

use super::fmt::{endpoint, field, flag, int, list, object, text, yes_no, NBSP, NONE};
use super::out::{Grid, Out, Text, Tone};
use crate::render::event::spice_channel_name;
use serde_json::Value;

/// SPICE's main channel: the first channel of every session.
const SPICE_MAIN_CHANNEL: i64 = 1;

/// `query-spice`: the server facts, then the channels grouped by session.
pub(super) fn spice(out: &mut Out, reply: &Value) {
    let Some(info) = object(out, reply) else {
        return;
    };
    out.heading("SPICE server");
    let mut facts = Grid::keyed();
    if flag(info, "enabled") != Some(true) {
        facts.pair("Enabled", Text::toned("no", Tone::Warn));
        facts.pair("Mouse mode", text(info, "mouse-mode"));
        out.grid(&facts);
        return;
    }
    let host = text(info, "host");
    let address = match field(info, "port") {
        Some(port) => endpoint(&host, &port),
        None => host,
    };
    facts.pair("Address", address);
    facts.pair(
        "TLS port",
        field(info, "tls-port").unwrap_or_else(|| "none".into()),
    );
    facts.pair("Auth", text(info, "auth"));
    facts.pair("Compiled version", text(info, "compiled-version"));
    facts.pair("Mouse mode", text(info, "mouse-mode"));
    facts.pair("Migrated", yes_no(info, "migrated"));
    out.grid(&facts);

    let channels = info
        .get("channels")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if channels.is_empty() {
        out.note("No clients connected.");
        return;
    }
    for (connection, members) in sessions(channels) {
        let count = members.len();
        let mut title = format!(
            "SPICE session {connection}: {count} channel{}",
            if count == 1 { "" } else { "s" }
        );
        if !members
            .iter()
            .any(|c| int(c, "channel-type") == Some(SPICE_MAIN_CHANNEL))
        {
            title.push_str(" (no main channel)");
        }
        out.heading(&title);
        // Narrow terminals get the channel type and id in one column, and
        // the connection id only in the heading.
        let mut full = Grid::new(&[
            "Client",
            "Port",
            "Family",
            "Connection",
            "Channel",
            "ID",
            "TLS",
        ])
        .right(&[1, 3, 5]);
        let mut compact = Grid::new(&["Client", "Family", "Channel", "TLS"]);
        for channel in members {
            let kind = int(channel, "channel-type")
                .map(spice_channel_name)
                .unwrap_or_else(|| NONE.into());
            let (host, port, id) = (
                text(channel, "host"),
                text(channel, "port"),
                text(channel, "channel-id"),
            );
            compact.row(vec![
                endpoint(&host, &port).into(),
                text(channel, "family").into(),
                channel_cell(channel, format!("{kind}{NBSP}{id}")),
                yes_no(channel, "tls"),
            ]);
            full.row(vec![
                host.into(),
                port.into(),
                text(channel, "family").into(),
                text(channel, "connection-id").into(),
                channel_cell(channel, kind),
                id.into(),
                yes_no(channel, "tls"),
            ]);
        }
        out.first_fitting(&[full, compact]);
    }
}

/// The channel's name, the main channel (the session's anchor) highlighted.
fn channel_cell(channel: &Value, name: String) -> Text {
    let tone = if int(channel, "channel-type") == Some(SPICE_MAIN_CHANNEL) {
        Tone::Good
    } else {
        Tone::Plain
    };
    Text::toned(name, tone)
}

/// Channels grouped by connection id, in order of first appearance, each
/// session's main channel first.
fn sessions(channels: &[Value]) -> Vec<(String, Vec<&Value>)> {
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for channel in channels {
        let id = text(channel, "connection-id");
        match groups.iter_mut().find(|(known, _)| *known == id) {
            Some((_, members)) => members.push(channel),
            None => groups.push((id, vec![channel])),
        }
    }
    for (_, members) in &mut groups {
        // Stable: the other channels keep QEMU's order.
        members.sort_by_key(|c| int(c, "channel-type") != Some(SPICE_MAIN_CHANNEL));
    }
    groups
}

/// `query-vnc-servers`: each server's facts, then its clients.
pub(super) fn vnc(out: &mut Out, reply: &Value) {
    let Some(servers) = list(out, reply) else {
        return;
    };
    if servers.is_empty() {
        out.heading("VNC");
        out.note("No VNC server is running.");
        return;
    }
    for server in servers {
        let id = text(server, "id");
        out.heading(&format!("VNC server {id}"));
        let auth = auth(server);
        let mut facts = Grid::keyed();
        facts.pair(
            "Display",
            field(server, "display").unwrap_or_else(|| "(default console)".into()),
        );
        facts.pair("Auth", text(server, "auth"));
        // QEMU always says the VeNCrypt sub-type, `none` included.
        facts.pair(
            "Sub-auth",
            field(server, "vencrypt").unwrap_or_else(|| "none".into()),
        );
        let sockets = server
            .get("server")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let listening: Vec<String> = sockets
            .iter()
            .map(|socket| listening_line(socket, &auth))
            .collect();
        facts.pair(
            "Listening on",
            if listening.is_empty() {
                "nothing".into()
            } else {
                listening.join("\n")
            },
        );
        out.grid(&facts);

        let clients = server
            .get("clients")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if clients.is_empty() {
            out.note("No clients connected.");
            continue;
        }
        out.heading(&format!("VNC clients of {id}: {}", clients.len()));
        let mut grid = Grid::new(&[
            "Client",
            "Port",
            "Family",
            "Websocket",
            "x509 dname / SASL user",
        ])
        .right(&[1])
        .optional(&[4, 3]);
        for client in clients {
            grid.row(vec![
                text(client, "host").into(),
                text(client, "service").into(),
                text(client, "family").into(),
                yes_no(client, "websocket"),
                identity(client).into(),
            ]);
        }
        out.grid(&grid);
    }
}

/// `auth`, with the VeNCrypt sub-type when there is one.
fn auth(v: &Value) -> String {
    let auth = text(v, "auth");
    match field(v, "vencrypt") {
        Some(sub) => format!("{auth} ({sub})"),
        None => auth,
    }
}

/// `127.0.0.1:5900 (ipv4, websocket)`; the socket's auth when it differs
/// from the server's.
fn listening_line(socket: &Value, server_auth: &str) -> String {
    let mut notes = vec![text(socket, "family")];
    if flag(socket, "websocket") == Some(true) {
        notes.push("websocket".into());
    }
    let socket_auth = auth(socket);
    if socket.get("auth").is_some() && socket_auth != server_auth {
        notes.push(format!("auth {socket_auth}"));
    }
    format!(
        "{} ({})",
        endpoint(&text(socket, "host"), &text(socket, "service")),
        notes.join(", ")
    )
}

/// Who the client proved to be: its x509 distinguished name and/or SASL user.
fn identity(client: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(dname) = field(client, "x509_dname") {
        parts.push(format!("x509: {dname}"));
    }
    if let Some(user) = field(client, "sasl_username") {
        parts.push(format!("SASL: {user}"));
    }
    if parts.is_empty() {
        NONE.into()
    } else {
        parts.join(", ")
    }
}
