//! `grammar/effects.tsv`: what each QMP command and each HMP command does,
//! by effect class. The proxy's policy is decided from this one table.

use super::table::{GrammarError, Location};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// What a command can do, from harmless to dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// Shows guest or VM state.
    Read,
    /// Changes VM state.
    Change,
    /// Reads or writes host files.
    HostFiles,
    /// Opens host network endpoints or hands data out.
    Exposure,
    /// Runs host programs.
    Spawn,
    /// May crash QEMU or load modules.
    Unsafe,
    /// `human-monitor-command`: judged by the HMP line it carries.
    Line,
}

impl Effect {
    pub const ALL: [Effect; 7] = [
        Effect::Read,
        Effect::Change,
        Effect::HostFiles,
        Effect::Exposure,
        Effect::Spawn,
        Effect::Unsafe,
        Effect::Line,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Change => "change",
            Effect::HostFiles => "host-files",
            Effect::Exposure => "exposure",
            Effect::Spawn => "spawn",
            Effect::Unsafe => "unsafe",
            Effect::Line => "line",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Effect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Effect::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Effect::ALL.iter().map(|e| e.as_str()).collect();
                format!("unknown effect class '{s}' (known: {})", known.join(", "))
            })
    }
}

/// The parsed table.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    qmp: HashMap<String, Effect>,
    hmp: HashMap<String, Effect>,
}

/// The table embedded in the binary.
pub const BUILTIN_EFFECTS: (&str, &str) = (
    "grammar/effects.tsv",
    include_str!("../../grammar/effects.tsv"),
);

/// QOM property names that hold secrets or host paths (`secret` objects'
/// `data`, `file`, `keyid`, `iv`; TLS and crypto credentials).
const SECRET_PROPERTIES: &[&str] = &[
    "data",
    "file",
    "keyid",
    "iv",
    "key",
    "password",
    "passphrase",
    "secret",
    "psk",
    "psk-file",
];

impl Effects {
    /// The embedded table (checked by the test suite; an error here is a
    /// broken build, reported rather than panicking).
    pub fn builtin() -> Result<&'static Effects, &'static GrammarError> {
        static BUILTIN: OnceLock<Result<Effects, GrammarError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Effects::parse(BUILTIN_EFFECTS.0, BUILTIN_EFFECTS.1))
            .as_ref()
    }

    /// Parses `KIND NAME CLASS [# why]` rows; errors name `file:line:column`.
    pub fn parse(file: &str, text: &str) -> Result<Effects, GrammarError> {
        let mut effects = Effects::default();
        for (n, raw) in text.lines().enumerate() {
            let at = |column: usize, message: String| GrammarError {
                location: Location {
                    file: file.to_string(),
                    line: n + 1,
                    column,
                },
                message,
            };
            let row = raw.split('#').next().unwrap_or_default();
            if row.trim().is_empty() {
                continue;
            }
            let mut fields = row.split_whitespace();
            let column_of =
                |field: &str| (field.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize) + 1;
            let (Some(kind), Some(name), Some(class)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(at(1, "expected KIND NAME CLASS".into()));
            };
            if let Some(extra) = fields.next() {
                return Err(at(column_of(extra), format!("unexpected '{extra}'")));
            }
            let effect: Effect = class.parse().map_err(|e| at(column_of(class), e))?;
            let map = match kind {
                "qmp" => &mut effects.qmp,
                "hmp" => &mut effects.hmp,
                _ => {
                    return Err(at(
                        column_of(kind),
                        format!("expected 'qmp' or 'hmp', found '{kind}'"),
                    ))
                }
            };
            if map.insert(name.to_string(), effect).is_some() {
                return Err(at(
                    column_of(name),
                    format!("{kind} command '{name}' is listed twice"),
                ));
            }
        }
        Ok(effects)
    }

    /// The class of a QMP command as the table lists it.
    pub fn qmp(&self, command: &str) -> Option<Effect> {
        self.qmp.get(command).copied()
    }

    /// The class of a top-level HMP command (its primary name).
    pub fn hmp(&self, command: &str) -> Option<Effect> {
        self.hmp.get(command).copied()
    }

    /// The class of one QMP request, refined by its arguments.
    pub fn of_request(&self, command: &str, arguments: Option<&Value>) -> Option<Effect> {
        let listed = self.qmp(command)?;
        let text = |key: &str| arguments.and_then(|a| a.get(key)).and_then(Value::as_str);
        Some(match command {
            "qom-get" => qom_get_effect(text("path"), text("property")),
            "migrate" | "migrate-incoming" if arguments.is_some_and(runs_program) => Effect::Spawn,
            _ => listed,
        })
    }

    /// The class of an HMP command given its `path`/`property`/`uri`
    /// arguments (the names the grammar gives them).
    pub fn of_hmp(&self, command: &str, text: impl Fn(&str) -> Option<String>) -> Option<Effect> {
        let listed = self.hmp(command)?;
        Some(match command {
            "qom-get" => qom_get_effect(text("path").as_deref(), text("property").as_deref()),
            "migrate" | "migrate_incoming"
                if text("uri").is_some_and(|u| u.starts_with("exec:")) =>
            {
                Effect::Spawn
            }
            _ => listed,
        })
    }
}

/// `qom-get` shows state unless it reads a secret-like property (anywhere:
/// partial paths and links can reach `/objects`).
fn qom_get_effect(_path: Option<&str>, property: Option<&str>) -> Effect {
    match property {
        Some(p) if SECRET_PROPERTIES.contains(&p) => Effect::Exposure,
        _ => Effect::Read,
    }
}

/// True when migration arguments name an `exec:` URI or channel.
fn runs_program(arguments: &Value) -> bool {
    match arguments {
        Value::String(s) => s.starts_with("exec:"),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| (k == "transport" && v.as_str() == Some("exec")) || runs_program(v)),
        Value::Array(items) => items.iter().any(runs_program),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::Grammar;
    use serde_json::json;

    #[test]
    fn the_builtin_table_parses_and_covers_every_hmp_command() {
        let effects = Effects::builtin().expect("effects table");
        let grammar = Grammar::builtin().expect("grammar");
        let missing: Vec<&str> = grammar
            .commands()
            .entries
            .iter()
            .map(|e| e.primary_name())
            .filter(|name| effects.hmp(name).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "HMP commands without a class: {missing:?}"
        );
        assert_eq!(effects.qmp("query-status"), Some(Effect::Read));
        assert_eq!(effects.hmp("savevm"), Some(Effect::Change));
        assert_eq!(effects.hmp("info"), Some(Effect::Read));
        assert_eq!(effects.qmp("device-list-properties"), Some(Effect::Unsafe));
    }

    #[test]
    fn arguments_refine_the_class() {
        let effects = Effects::builtin().expect("effects table");
        let secret = json!({"path": "/objects/sec0", "property": "data"});
        assert_eq!(
            effects.of_request("qom-get", Some(&secret)),
            Some(Effect::Exposure)
        );
        let kind = json!({"path": "/objects/sec0", "property": "type"});
        assert_eq!(
            effects.of_request("qom-get", Some(&kind)),
            Some(Effect::Read)
        );
        let exec = json!({"uri": "exec:touch /tmp/x"});
        assert_eq!(
            effects.of_request("migrate", Some(&exec)),
            Some(Effect::Spawn)
        );
        let channel = json!({"channels": [{"addr": {"transport": "exec", "args": []}}]});
        assert_eq!(
            effects.of_request("migrate", Some(&channel)),
            Some(Effect::Spawn)
        );
        let tcp = json!({"uri": "tcp:127.0.0.1:4444"});
        assert_eq!(
            effects.of_request("migrate", Some(&tcp)),
            Some(Effect::Exposure)
        );
        let uri = |u: &str| Some(u.to_string());
        assert_eq!(
            effects.of_hmp("migrate", |k| (k == "uri")
                .then(|| "exec:true".into())
                .or(uri("x"))),
            Some(Effect::Spawn)
        );
        assert_eq!(effects.of_request("nosuch", None), None);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = Effects::parse("t.tsv", "# c\nqmp stop change\nqmp stop read\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.tsv:3:5: qmp command 'stop' is listed twice"
        );
        let err = Effects::parse("t.tsv", "qmp stop nasty\n").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("t.tsv:1:10: unknown effect class 'nasty'"));
        let err = Effects::parse("t.tsv", "qapi stop read\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.tsv:1:1: expected 'qmp' or 'hmp', found 'qapi'"
        );
        let err = Effects::parse("t.tsv", "qmp stop\n").unwrap_err();
        assert_eq!(err.to_string(), "t.tsv:1:1: expected KIND NAME CLASS");
    }
}
