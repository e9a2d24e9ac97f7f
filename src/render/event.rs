//! QMP events as one readable line each:
//! `14:02:11.388 SPICE_CONNECTED client 127.0.0.1:52873 -> server 127.0.0.1:5920 (ipv4)`.

use chrono::{Local, TimeZone};
use serde_json::Value;

/// Renders an event message (`{"event", "data", "timestamp"}`) without a
/// trailing newline. The time is the event's own timestamp in local time.
pub fn event_line(event: &Value) -> String {
    let name = event.get("event").and_then(Value::as_str).unwrap_or("?");
    let empty = Value::Object(Default::default());
    let data = event.get("data").unwrap_or(&empty);
    let time = timestamp(event).unwrap_or_else(|| "--:--:--.---".to_string());
    let text = describe(name, data);
    if text.is_empty() {
        format!("{time} {name}")
    } else {
        format!("{time} {name} {text}")
    }
}

fn timestamp(event: &Value) -> Option<String> {
    let ts = event.get("timestamp")?;
    let seconds = ts.get("seconds")?.as_i64()?;
    let micros = ts.get("microseconds")?.as_i64()?.clamp(0, 999_999);
    let when = Local
        .timestamp_opt(seconds, (micros * 1000) as u32)
        .single()?;
    Some(when.format("%H:%M:%S%.3f").to_string())
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// `host:port` of a SPICE (`port`) or VNC (`service`) endpoint.
fn endpoint(v: &Value) -> String {
    let host = s(v, "host");
    let port = v
        .get("port")
        .or_else(|| v.get("service"))
        .map(scalar)
        .unwrap_or_else(|| "?".into());
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

const SPICE_CHANNELS: [&str; 12] = [
    "unknown",
    "main",
    "display",
    "inputs",
    "cursor",
    "playback",
    "record",
    "tunnel",
    "smartcard",
    "usbredir",
    "port",
    "webdav",
];

/// A SPICE channel type by name (number for unknown ones).
pub fn spice_channel_name(channel_type: i64) -> String {
    usize::try_from(channel_type)
        .ok()
        .filter(|&t| t > 0)
        .and_then(|t| SPICE_CHANNELS.get(t))
        .map(|n| n.to_string())
        .unwrap_or_else(|| channel_type.to_string())
}

fn describe(name: &str, data: &Value) -> String {
    match name {
        "SPICE_CONNECTED"
        | "SPICE_INITIALIZED"
        | "SPICE_DISCONNECTED"
        | "SPICE_MIGRATE_COMPLETED" => spice(data),
        "VNC_CONNECTED" | "VNC_INITIALIZED" | "VNC_DISCONNECTED" => vnc(data),
        "STOP" | "RESUME" | "POWERDOWN" => String::new(),
        "RESET" | "SHUTDOWN" => {
            let who = match data.get("guest").and_then(Value::as_bool) {
                Some(true) => "by the guest",
                Some(false) => "by the host",
                None => "",
            };
            let reason = data
                .get("reason")
                .and_then(Value::as_str)
                .map(|r| format!("({r})"))
                .unwrap_or_default();
            [who, reason.as_str()]
                .iter()
                .filter(|x| !x.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        }
        "DEVICE_DELETED" => match data.get("device").and_then(Value::as_str) {
            Some(id) => format!("device {id} ({})", s(data, "path")),
            None => format!("path {}", s(data, "path")),
        },
        "BLOCK_IO_ERROR" => {
            let mut text = format!(
                "{} {} error on {}: {}",
                s(data, "operation"),
                s(data, "action"),
                s(data, "device"),
                data.get("reason").and_then(Value::as_str).unwrap_or("?")
            );
            if data.get("nospace").and_then(Value::as_bool) == Some(true) {
                text.push_str(" (no space)");
            }
            text
        }
        n if n.starts_with("BLOCK_JOB_") => {
            let mut text = format!(
                "{} job on {}: {} of {} bytes",
                s(data, "type"),
                s(data, "device"),
                data.get("offset").map(scalar).unwrap_or_default(),
                data.get("len").map(scalar).unwrap_or_default()
            );
            if let Some(err) = data.get("error").and_then(Value::as_str) {
                text.push_str(&format!(", error: {err}"));
            }
            text
        }
        "JOB_STATUS_CHANGE" => format!("job {} is now {}", s(data, "id"), s(data, "status")),
        "MIGRATION" => format!("status {}", s(data, "status")),
        "MIGRATION_PASS" => format!("pass {}", data.get("pass").map(scalar).unwrap_or_default()),
        "BALLOON_CHANGE" => match data.get("actual").and_then(Value::as_i64) {
            Some(bytes) => format!("guest memory now {} MiB", bytes >> 20),
            None => generic(data),
        },
        _ => generic(data),
    }
}

fn spice(data: &Value) -> String {
    let empty = Value::Null;
    let client = data.get("client").unwrap_or(&empty);
    let server = data.get("server").unwrap_or(&empty);
    let mut text = format!(
        "client {} -> server {} ({})",
        endpoint(client),
        endpoint(server),
        s(client, "family")
    );
    if let Some(t) = client.get("channel-type").and_then(Value::as_i64) {
        text.push_str(&format!(
            " session {} channel {}:{}",
            client.get("connection-id").map(scalar).unwrap_or_default(),
            spice_channel_name(t),
            client.get("channel-id").map(scalar).unwrap_or_default()
        ));
    }
    if client.get("tls").and_then(Value::as_bool) == Some(true) {
        text.push_str(" tls");
    }
    text
}

fn vnc(data: &Value) -> String {
    let empty = Value::Null;
    let client = data.get("client").unwrap_or(&empty);
    let server = data.get("server").unwrap_or(&empty);
    let mut text = format!(
        "client {} -> server {} ({})",
        endpoint(client),
        endpoint(server),
        s(client, "family")
    );
    if let Some(auth) = server.get("auth").and_then(Value::as_str) {
        text.push_str(&format!(" auth {auth}"));
    }
    for key in ["x509_dname", "sasl_username"] {
        if let Some(v) = client.get(key).and_then(Value::as_str) {
            text.push_str(&format!(" {key}={v}"));
        }
    }
    text
}

/// `key=value` pairs, nested objects flattened with dots.
fn generic(data: &Value) -> String {
    let mut parts = Vec::new();
    flatten("", data, &mut parts);
    parts.join(" ")
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, child, out);
            }
        }
        other if !prefix.is_empty() => out.push(format!("{prefix}={}", scalar(other))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(v: Value) -> String {
        // Drop the local-time prefix; it depends on the machine's zone.
        let l = event_line(&v);
        l.split_once(' ')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or(l)
    }

    #[test]
    fn spice_events_name_both_ends_and_the_channel() {
        let ev = json!({"event": "SPICE_CONNECTED", "timestamp": {"seconds": 1, "microseconds": 388000},
            "data": {"server": {"port": "5920", "family": "ipv4", "host": "127.0.0.1"},
                     "client": {"port": "52873", "family": "ipv4", "host": "127.0.0.1"}}});
        assert_eq!(
            line(ev.clone()),
            "SPICE_CONNECTED client 127.0.0.1:52873 -> server 127.0.0.1:5920 (ipv4)"
        );
        assert!(event_line(&ev)
            .split(' ')
            .next()
            .is_some_and(|t| t.len() == 12 && t.ends_with(".388")));
        let init = json!({"event": "SPICE_INITIALIZED", "data": {
            "server": {"auth": "none", "port": "5920", "family": "ipv4", "host": "127.0.0.1"},
            "client": {"port": "52873", "family": "ipv4", "channel-type": 1, "connection-id": 1804289383,
                       "host": "127.0.0.1", "channel-id": 0, "tls": false}}});
        assert_eq!(
            line(init),
            "SPICE_INITIALIZED client 127.0.0.1:52873 -> server 127.0.0.1:5920 (ipv4) session 1804289383 channel main:0"
        );
    }

    #[test]
    fn dedicated_wording_and_generic_fallback() {
        assert_eq!(line(json!({"event": "STOP"})), "STOP");
        assert_eq!(
            line(json!({"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}})),
            "SHUTDOWN by the host (host-qmp-quit)"
        );
        assert_eq!(
            line(json!({"event": "BALLOON_CHANGE", "data": {"actual": 1073741824}})),
            "BALLOON_CHANGE guest memory now 1024 MiB"
        );
        assert_eq!(
            line(
                json!({"event": "DEVICE_DELETED", "data": {"device": "n1", "path": "/machine/peripheral/n1"}})
            ),
            "DEVICE_DELETED device n1 (/machine/peripheral/n1)"
        );
        assert_eq!(
            line(json!({"event": "NIC_RX_FILTER_CHANGED", "data": {"name": "n1", "path": "/p"}})),
            "NIC_RX_FILTER_CHANGED name=n1 path=/p"
        );
        assert_eq!(
            line(json!({"event": "X", "data": {"a": {"b": 1}}})),
            "X a.b=1"
        );
        assert_eq!(spice_channel_name(11), "webdav");
        assert_eq!(spice_channel_name(42), "42");
    }
}
