//! What the proxy does with one message from a client, in QEMU's order:
//! envelope checks (`execute`/`exec-oob`/`arguments`/`id`), capabilities
//! negotiation, policy, then the command — `qmp_capabilities` locally,
//! `human-monitor-command` by translation, anything else forwarded upstream
//! with the id rewritten. Error texts are QEMU's.

use super::audit;
use super::hmc;
use super::session::Session;
use crate::qjson::{qdict_bucket, Message};
use serde_json::{json, Map, Value};

const NOT_NEGOTIATED: &str = "Expecting capabilities negotiation with 'qmp_capabilities'";
const ALREADY_NEGOTIATED: &str = "Capabilities negotiation is already complete, command ignored";

/// QEMU's error reply shape, with the request's id when it had one.
pub fn error_reply(class: &str, desc: &str, id: Option<&Value>) -> Value {
    let mut reply = Map::new();
    reply.insert("error".into(), json!({"class": class, "desc": desc}));
    if let Some(id) = id {
        reply.insert("id".into(), id.clone());
    }
    Value::Object(reply)
}

/// A reply with the client's id put back.
pub fn with_id(reply: Value, id: Option<&Value>) -> Value {
    match (reply, id) {
        (Value::Object(mut map), Some(id)) => {
            map.insert("id".into(), id.clone());
            Value::Object(map)
        }
        (other, _) => other,
    }
}

/// True for requests QEMU runs at once rather than in turn: objects with
/// `exec-oob` and without `execute`.
pub fn is_out_of_band(message: &Message) -> bool {
    matches!(message, Message::Value(Value::Object(map))
        if map.contains_key("exec-oob") && !map.contains_key("execute"))
}

/// Answers one message. The reply is sent through `session`, after the
/// events QEMU sent before it.
pub async fn handle(session: &Session, message: Message) {
    let what = session.shared.audit.is_some().then(|| describe(&message));
    let reply = reply_to(session, message).await;
    if let Some(what) = what {
        let refused = reply.as_ref().and_then(refusal);
        audit::request(&session.shared, &session.peer, &what, refused);
    }
    if let Some(reply) = reply {
        session.shared.deliver(&session.link, reply);
    }
}

/// A request as the audit log names it: the HMP line, or the command and
/// its arguments (cut short).
fn describe(message: &Message) -> String {
    const MAX: usize = 512;
    let Message::Value(Value::Object(request)) = message else {
        return "(not a QMP request)".into();
    };
    let command = ["execute", "exec-oob"]
        .iter()
        .find_map(|verb| request.get(*verb))
        .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
        .unwrap_or_else(|| "(no command)".into());
    let arguments = request.get("arguments");
    let line = arguments
        .and_then(|a| a.get("command-line"))
        .and_then(Value::as_str);
    let mut text = match (command.as_str(), line, arguments) {
        ("human-monitor-command", Some(line), _) => format!("{command}: {line}"),
        (_, _, Some(arguments)) => format!("{command} {arguments}"),
        _ => command,
    };
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The policy's refusal in a reply, if it is one.
fn refusal(reply: &Value) -> Option<&str> {
    reply
        .pointer("/error/desc")
        .and_then(Value::as_str)
        .filter(|d| {
            d.contains("refused by the qhmp proxy policy") || d.contains("qhmp proxy: a line")
        })
}

/// The reply to one message; `None` when it has been sent already.
async fn reply_to(session: &Session, message: Message) -> Option<Value> {
    let request = match message {
        Message::Error(desc) => return Some(error_reply("GenericError", &desc, None)),
        Message::Value(Value::Object(request)) => request,
        Message::Value(_) => {
            return Some(error_reply(
                "GenericError",
                "QMP input must be a JSON object",
                None,
            ))
        }
    };
    let id = request.get("id").cloned();
    let id = id.as_ref();
    let (command, oob) = match check_envelope(&request, session.oob_enabled()) {
        Ok(found) => found,
        Err(desc) => return Some(error_reply("GenericError", &desc, id)),
    };
    if command == "qmp_capabilities" {
        if oob {
            let desc = "The command qmp_capabilities does not support OOB";
            return Some(error_reply("GenericError", desc, id));
        }
        return negotiate(session, &request, id);
    }
    if !session.link.negotiated() {
        return Some(error_reply("CommandNotFound", NOT_NEGOTIATED, id));
    }
    if let Err(why) = session
        .shared
        .policy
        .check_request(&command, request.get("arguments"))
    {
        return Some(error_reply("GenericError", &why, id));
    }
    if command == "human-monitor-command" && !oob {
        return Some(hmc::answer(session, request, id).await);
    }
    Some(forward(session, request, id).await)
}

/// QEMU's checks of the request object itself, made in the order QEMU's
/// dictionary yields the members. Returns the command and whether it is
/// out-of-band.
fn check_envelope(request: &Map<String, Value>, allow_oob: bool) -> Result<(String, bool), String> {
    let mut members: Vec<(&String, &Value)> = request.iter().collect();
    members.sort_by_key(|(key, _)| qdict_bucket(key));
    let mut found: Option<(&str, &str)> = None;
    for (key, value) in members {
        match key.as_str() {
            "execute" | "exec-oob" if key == "execute" || allow_oob => {
                let Value::String(command) = value else {
                    return Err(format!("QMP input member '{key}' must be a string"));
                };
                if let Some((earlier, _)) = found {
                    return Err(format!("QMP input member '{key}' clashes with '{earlier}'"));
                }
                found = Some((key, command));
            }
            "arguments" if !value.is_object() => {
                return Err("QMP input member 'arguments' must be an object".into())
            }
            "arguments" | "id" => {}
            other => return Err(format!("QMP input member '{other}' is unexpected")),
        }
    }
    found
        .map(|(key, command)| (command.to_string(), key == "exec-oob"))
        .ok_or_else(|| "QMP input lacks member 'execute'".into())
}

/// `qmp_capabilities`: arguments checked as QEMU's visitor does, then the
/// session leaves negotiation mode (once); `None` when it did (the reply
/// went out together with the change).
fn negotiate(session: &Session, request: &Map<String, Value>, id: Option<&Value>) -> Option<Value> {
    let offered = session.shared.greeting();
    let offered = offered
        .pointer("/QMP/capabilities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let enable = match capabilities_argument(request.get("arguments")) {
        Ok(enable) => enable,
        Err(desc) => return Some(error_reply("GenericError", &desc, id)),
    };
    if session.link.negotiated() {
        return Some(error_reply("CommandNotFound", ALREADY_NEGOTIATED, id));
    }
    let unavailable: Vec<&str> = enable
        .iter()
        .filter(|c| !offered.iter().any(|o| o.as_str() == Some(c)))
        .map(String::as_str)
        .collect();
    if !unavailable.is_empty() {
        let desc = format!("Capability {} not available", unavailable.join(", "));
        return Some(error_reply("GenericError", &desc, id));
    }
    session.enable_oob(enable.iter().any(|c| c == "oob"));
    session
        .shared
        .complete_negotiation(&session.link, with_id(json!({"return": {}}), id));
    None
}

/// The `enable` list of `qmp_capabilities`, or QEMU's complaint about it.
fn capabilities_argument(arguments: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(Value::Object(arguments)) = arguments else {
        return Ok(Vec::new());
    };
    let mut enable = Vec::new();
    if let Some(list) = arguments.get("enable") {
        let Value::Array(items) = list else {
            return Err("Invalid parameter type for 'enable', expected: array".into());
        };
        for (i, item) in items.iter().enumerate() {
            let Value::String(name) = item else {
                return Err(format!(
                    "Invalid parameter type for 'enable[{i}]', expected: string"
                ));
            };
            // QEMU names no parameter here (it prints 'null').
            if name != "oob" {
                return Err(format!("Parameter 'null' does not accept value '{name}'"));
            }
            enable.push(name.clone());
        }
    }
    let mut unexpected: Vec<&String> = arguments.keys().filter(|k| *k != "enable").collect();
    unexpected.sort_by_key(|k| qdict_bucket(k));
    match unexpected.first() {
        Some(key) => Err(format!("Parameter '{key}' is unexpected")),
        None => Ok(enable),
    }
}

/// Sends the request upstream under the proxy's own id and gives the reply
/// the client's id.
pub async fn forward(
    session: &Session,
    mut request: Map<String, Value>,
    id: Option<&Value>,
) -> Value {
    request.remove("id");
    let Some((client, _)) = session.shared.client() else {
        return error_reply(
            "GenericError",
            "qhmp proxy: the upstream QEMU is not connected",
            id,
        );
    };
    // No time limit: the client waits as long as QEMU takes, as it would
    // without the proxy.
    match client.request_raw_with_timeout(request, None).await {
        Ok(reply) => with_id(reply, id),
        Err(e) => error_reply(
            "GenericError",
            &format!("qhmp proxy: upstream QEMU: {e}"),
            id,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(v: Value, oob: bool) -> Result<(String, bool), String> {
        match v {
            Value::Object(map) => check_envelope(&map, oob),
            _ => unreachable!(),
        }
    }

    // Texts as QEMU 7.2 and 10.0 answer them.
    #[test]
    fn envelope_errors_in_qemu_order() {
        assert_eq!(
            envelope(
                json!({"execute": "query-status", "exec-oob": "query-status"}),
                true
            ),
            Err("QMP input member 'execute' clashes with 'exec-oob'".into())
        );
        assert_eq!(
            envelope(json!({"exec-oob": "query-status", "execute": "x"}), false),
            Err("QMP input member 'exec-oob' is unexpected".into())
        );
        assert_eq!(
            envelope(json!({"execute": 1}), false),
            Err("QMP input member 'execute' must be a string".into())
        );
        assert_eq!(
            envelope(json!({"execute": "q", "foo": 1, "id": 2}), false),
            Err("QMP input member 'foo' is unexpected".into())
        );
        assert_eq!(
            envelope(json!({"execute": "q", "arguments": null}), false),
            Err("QMP input member 'arguments' must be an object".into())
        );
        assert_eq!(
            envelope(json!({"id": 5}), false),
            Err("QMP input lacks member 'execute'".into())
        );
        assert_eq!(
            envelope(json!({"exec-oob": "migrate-pause"}), true),
            Ok(("migrate-pause".into(), true))
        );
    }

    #[test]
    fn capability_arguments() {
        let check = |v: Value| capabilities_argument(Some(&v));
        assert_eq!(check(json!({"enable": []})), Ok(vec![]));
        assert_eq!(check(json!({"enable": ["oob"]})), Ok(vec!["oob".into()]));
        assert_eq!(
            check(json!({"enable": "oob"})),
            Err("Invalid parameter type for 'enable', expected: array".into())
        );
        assert_eq!(
            check(json!({"enable": [1]})),
            Err("Invalid parameter type for 'enable[0]', expected: string".into())
        );
        assert_eq!(
            check(json!({"x": 1, "enable": ["oob", "foo"]})),
            Err("Parameter 'null' does not accept value 'foo'".into())
        );
        assert_eq!(
            check(json!({"x": 1})),
            Err("Parameter 'x' is unexpected".into())
        );
    }
}
