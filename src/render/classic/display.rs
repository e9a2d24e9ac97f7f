//! Classic renderers of the remote displays (VNC, SPICE) and of the mice.

use super::fields::{list_of_objects, on_return, Fields};
use super::fmt::c_str;
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};
use crate::version::QemuVersion;
use serde_json::Value;
use std::fmt::Write;

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    _args: &Args,
) -> Option<Result<String, RenderError>> {
    let out = match name {
        "vnc" => on_return(name, replies, |r| vnc(name, r)),
        "spice" => on_return(name, replies, |r| spice(name, &ctx.version, r)),
        "mice" => on_return(name, replies, |r| mice(name, r)),
        _ => return None,
    };
    Some(out)
}

fn vnc(name: &str, reply: &Value) -> Result<String, RenderError> {
    let displays = list_of_objects(name, reply)?;
    if displays.is_empty() {
        return Ok("None\n".to_string());
    }
    let mut out = String::new();
    for d in displays {
        let _ = writeln!(out, "{}:", d.str("id")?);
        let servers = d.objects("server")?;
        for s in &servers {
            vnc_endpoint(&mut out, "Server", s)?;
            vnc_auth(&mut out, "    ", s)?;
        }
        for c in d.objects("clients")? {
            vnc_endpoint(&mut out, "Client", &c)?;
            let _ = writeln!(
                out,
                "    x509_dname: {}",
                c.opt_str("x509_dname")?.unwrap_or("none")
            );
            let _ = writeln!(
                out,
                "    sasl_username: {}",
                c.opt_str("sasl_username")?.unwrap_or("none")
            );
        }
        // Servers show their own auth; a reverse connection has none.
        if servers.is_empty() {
            vnc_auth(&mut out, "  ", &d)?;
        }
        if let Some(display) = d.opt_str("display")? {
            let _ = writeln!(out, "  Display: {display}");
        }
    }
    Ok(out)
}

fn vnc_endpoint(out: &mut String, role: &str, e: &Fields) -> Result<(), RenderError> {
    let _ = writeln!(
        out,
        "  {role}: {}:{} ({}{})",
        e.str("host")?,
        e.str("service")?,
        e.str("family")?,
        if e.opt_bool("websocket")?.unwrap_or(false) {
            " (Websocket)"
        } else {
            ""
        }
    );
    Ok(())
}

fn vnc_auth(out: &mut String, indent: &str, f: &Fields) -> Result<(), RenderError> {
    let _ = writeln!(
        out,
        "{indent}Auth: {} (Sub: {})",
        f.str("auth")?,
        f.opt_str("vencrypt")?.unwrap_or("none")
    );
    Ok(())
}

fn spice(name: &str, v: &QemuVersion, reply: &Value) -> Result<String, RenderError> {
    let f = Fields::new(name, reply)?;
    if !f.bool("enabled")? {
        return Ok("Server: disabled\n".to_string());
    }
    let host = c_str(f.opt_str("host")?);
    let mut out = String::from("Server:\n");
    if let Some(port) = f.opt_int("port")? {
        let _ = writeln!(out, "     address: {host}:{port}");
    }
    if let Some(port) = f.opt_int("tls-port")? {
        let _ = writeln!(out, "     address: {host}:{port} [tls]");
    }
    let migrated = f.bool("migrated")?;
    let _ = writeln!(out, "    migrated: {migrated}");
    let _ = writeln!(out, "        auth: {}", c_str(f.opt_str("auth")?));
    let _ = writeln!(
        out,
        "    compiled: {}",
        c_str(f.opt_str("compiled-version")?)
    );
    let _ = writeln!(out, "  mouse-mode: {}", f.str("mouse-mode")?);
    let channels = f.objects("channels")?;
    if channels.is_empty() {
        out.push_str("Channels: none\n");
    }
    for c in channels {
        let kind = c.int("channel-type")?;
        let _ = writeln!(
            out,
            "Channel:\n     address: {}:{}{}",
            c.str("host")?,
            c.str("port")?,
            if c.bool("tls")? { " [tls]" } else { "" }
        );
        let _ = writeln!(out, "     session: {}", c.int("connection-id")?);
        let _ = writeln!(out, "     channel: {kind}:{}", c.int("channel-id")?);
        let _ = writeln!(out, "     channel name: {}", spice_channel_name(v, kind));
    }
    Ok(out)
}

/// SPICE channel type numbers as HMP names them; `webdav` (11) is named
/// since 8.0.
fn spice_channel_name(v: &QemuVersion, kind: i64) -> &'static str {
    match kind {
        1 => "main",
        2 => "display",
        3 => "inputs",
        4 => "cursor",
        5 => "playback",
        6 => "record",
        7 => "tunnel",
        8 => "smartcard",
        9 => "usbredir",
        10 => "port",
        11 if v.at_least(8, 0) => "webdav",
        _ => "unknown",
    }
}

fn mice(name: &str, reply: &Value) -> Result<String, RenderError> {
    let mice = list_of_objects(name, reply)?;
    if mice.is_empty() {
        return Ok("No mouse devices connected\n".to_string());
    }
    let mut out = String::new();
    for m in mice {
        let _ = writeln!(
            out,
            "{} Mouse #{}: {}{}",
            if m.bool("current")? { '*' } else { ' ' },
            m.int("index")?,
            m.str("name")?,
            if m.bool("absolute")? {
                " (absolute)"
            } else {
                ""
            }
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Cases the live fixtures do not cover; expectations follow QEMU's
    //! formats.
    use super::*;
    use serde_json::json;

    fn run(name: &str, version: (u32, u32), reply: Value) -> String {
        let ctx = RenderContext::new(QemuVersion::new(version.0, version.1, 0));
        render(name, &ctx, &[Ok(reply)], &Args::new())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn vnc_client_identity_is_shown() {
        let reply = json!([{"id": "default", "auth": "vencrypt", "vencrypt": "x509-vnc",
            "server": [], "clients": [{"host": "::1", "service": "5", "family": "ipv6",
            "websocket": true, "x509_dname": "CN=me", "sasl_username": "bob"}]}]);
        assert_eq!(
            run("vnc", (10, 0), reply),
            "default:\n  Client: ::1:5 (ipv6 (Websocket))\n    x509_dname: CN=me\n    \
             sasl_username: bob\n  Auth: vencrypt (Sub: x509-vnc)\n"
        );
    }

    #[test]
    fn spice_channel_names() {
        let v7 = QemuVersion::new(7, 2, 0);
        let v10 = QemuVersion::new(10, 0, 0);
        assert_eq!(spice_channel_name(&v7, 11), "unknown");
        assert_eq!(spice_channel_name(&v10, 11), "webdav");
        assert_eq!(spice_channel_name(&v10, 9), "usbredir");
        assert_eq!(spice_channel_name(&v10, 0), "unknown");
        assert_eq!(spice_channel_name(&v10, 12), "unknown");
        let reply = json!({"enabled": true, "migrated": true, "auth": "spice",
            "compiled-version": "0.15.1", "mouse-mode": "client", "tls-port": 5901,
            "channels": [{"host": "h", "port": "1", "family": "ipv4", "tls": true,
                          "connection-id": 3, "channel-type": 2, "channel-id": 1}]});
        assert_eq!(
            run("spice", (10, 0), reply),
            "Server:\n     address: (null):5901 [tls]\n    migrated: true\n        auth: spice\n    \
             compiled: 0.15.1\n  mouse-mode: client\nChannel:\n     address: h:1 [tls]\n     \
             session: 3\n     channel: 2:1\n     channel name: display\n"
        );
    }
}
