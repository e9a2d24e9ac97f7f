//! The shapes of QMP messages: greeting, replies and events.

use crate::version::QemuVersion;
use serde_json::{Map, Value};

/// A QMP error reply (`{"error": {"class": …, "desc": …}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QmpErrorReply {
    pub class: String,
    pub desc: String,
}

impl std::fmt::Display for QmpErrorReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.desc)
    }
}

/// The outcome of one QMP call: its `return` value or its error.
pub type Reply = Result<Value, QmpErrorReply>;

/// What QEMU says first on a fresh connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Greeting {
    /// QEMU's version, including the distribution's `package` string.
    pub version: QemuVersion,
    /// Capabilities on offer (e.g. `oob`).
    pub capabilities: Vec<String>,
    /// The whole greeting object as received.
    pub raw: Value,
}

impl Greeting {
    /// Reads `{"QMP": {"version": {"qemu": {...}, "package": …}, "capabilities": [...]}}`.
    pub fn parse(message: &Value) -> Result<Greeting, String> {
        let qmp = message
            .get("QMP")
            .ok_or_else(|| "the first message has no \"QMP\" member".to_string())?;
        let version_value = qmp
            .get("version")
            .ok_or_else(|| "the greeting has no \"version\"".to_string())?;
        let version = QemuVersion::from_query_version(version_value)
            .ok_or_else(|| format!("unreadable greeting version {version_value}"))?;
        let capabilities = match qmp.get("capabilities") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|c| match c {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("greeting capability {other} is not a string")),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(format!("greeting capabilities {other} is not a list")),
        };
        Ok(Greeting {
            version,
            capabilities,
            raw: message.clone(),
        })
    }

    /// True when QEMU offers the named capability.
    pub fn offers(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// An asynchronous event QEMU sent (`{"event": NAME, "data": …, "timestamp": …}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    /// The `data` member, or `null` when the event has none.
    pub data: Value,
    /// `(seconds, microseconds)` since the epoch, when QEMU stamped the event.
    pub timestamp: Option<(i64, i64)>,
    /// The whole event object as received.
    pub raw: Value,
}

impl Event {
    fn from_object(name: String, object: Map<String, Value>) -> Event {
        let timestamp = object.get("timestamp").and_then(|t| {
            Some((
                t.get("seconds")?.as_i64()?,
                t.get("microseconds")?.as_i64()?,
            ))
        });
        Event {
            name,
            data: object.get("data").cloned().unwrap_or(Value::Null),
            timestamp,
            raw: Value::Object(object),
        }
    }
}

/// One message from QEMU after the greeting, sorted by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Event(Event),
    /// A reply (`return` or `error`), with the `id` taken out of `body`.
    Reply {
        id: Option<Value>,
        body: Map<String, Value>,
    },
}

impl Incoming {
    /// Sorts a decoded message; anything but an event or a reply is an error.
    pub fn classify(message: Value) -> Result<Incoming, String> {
        let mut object = match message {
            Value::Object(object) => object,
            other => return Err(format!("message is not a JSON object: {}", short(&other))),
        };
        if let Some(name) = object.get("event") {
            let name = match name {
                Value::String(s) => s.clone(),
                other => return Err(format!("event name {} is not a string", short(other))),
            };
            return Ok(Incoming::Event(Event::from_object(name, object)));
        }
        if object.contains_key("return") || object.contains_key("error") {
            let id = object.remove("id");
            return Ok(Incoming::Reply { id, body: object });
        }
        Err(format!(
            "message is neither a reply nor an event: {}",
            short(&Value::Object(object))
        ))
    }
}

/// Turns a reply object (`return` or `error` member) into a [`Reply`].
pub fn reply_from_object(body: &Map<String, Value>) -> Result<Reply, String> {
    if let Some(value) = body.get("return") {
        return Ok(Ok(value.clone()));
    }
    let error = body
        .get("error")
        .ok_or_else(|| format!("reply has neither return nor error: {}", short_map(body)))?;
    let field = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_string);
    match (field("class"), field("desc")) {
        (Some(class), Some(desc)) => Ok(Err(QmpErrorReply { class, desc })),
        _ => Err(format!(
            "error reply lacks a string class or desc: {}",
            short(error)
        )),
    }
}

/// A JSON value printed, cut to a readable length.
fn short(value: &Value) -> String {
    let text = value.to_string();
    crate::qmp::decoder::excerpt(text.as_bytes())
}

fn short_map(map: &Map<String, Value>) -> String {
    short(&Value::Object(map.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_real_greeting() {
        let g = Greeting::parse(&json!({"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2"}, "capabilities": ["oob"]}})).unwrap();
        assert_eq!(
            (g.version.major, g.version.minor, g.version.micro),
            (10, 0, 2)
        );
        assert_eq!(g.version.package, "Debian 1:10.0.2+ds-2");
        assert!(g.offers("oob"));
        assert!(!g.offers("x"));
    }

    #[test]
    fn rejects_bad_greetings() {
        assert!(Greeting::parse(&json!({"return": {}})).is_err());
        assert!(Greeting::parse(&json!({"QMP": {}})).is_err());
        let bad_caps = json!({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": "oob"}});
        assert!(Greeting::parse(&bad_caps).is_err());
    }

    #[test]
    fn classifies_events_and_replies() {
        let ev = json!({"timestamp": {"seconds": 5, "microseconds": 6}, "event": "STOP"});
        match Incoming::classify(ev.clone()).unwrap() {
            Incoming::Event(e) => {
                assert_eq!(e.name, "STOP");
                assert_eq!(e.timestamp, Some((5, 6)));
                assert_eq!(e.data, Value::Null);
                assert_eq!(e.raw, ev);
            }
            other => panic!("{other:?}"),
        }
        match Incoming::classify(json!({"id": 3, "return": {}})).unwrap() {
            Incoming::Reply { id, body } => {
                assert_eq!(id, Some(json!(3)));
                assert_eq!(Value::Object(body), json!({"return": {}}));
            }
            other => panic!("{other:?}"),
        }
        assert!(Incoming::classify(json!({"foo": 1})).is_err());
        assert!(Incoming::classify(json!([1])).is_err());
        assert!(Incoming::classify(json!({"event": 1})).is_err());
    }

    #[test]
    fn converts_replies() {
        let ok = json!({"return": [1]});
        assert_eq!(
            reply_from_object(ok.as_object().unwrap()),
            Ok(Ok(json!([1])))
        );
        let err = json!({"error": {"class": "GenericError", "desc": "boom"}});
        assert_eq!(
            reply_from_object(err.as_object().unwrap()),
            Ok(Err(QmpErrorReply {
                class: "GenericError".into(),
                desc: "boom".into()
            }))
        );
        let bad = json!({"error": {"class": 1}});
        assert!(reply_from_object(bad.as_object().unwrap()).is_err());
    }
}
