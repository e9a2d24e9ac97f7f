//! Typed arguments → the QMP request(s) a command line becomes.
//!
//! The grammar entry's `qmp:` field decides: template calls are filled by
//! [`template`], named special cases are built by [`special`], `hmp-only`
//! lines go through `human-monitor-command`, and `local` ones are answered by
//! qhmp itself.

mod chardev;
pub mod exact;
pub mod qcodes;
pub mod special;
pub mod template;
pub mod typing;

use crate::grammar::{Entry, Profile, QmpMapping};
use crate::parse::Args;
use crate::version::QemuVersion;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub use special::needs_schema;
pub use template::TemplateError;

/// One QMP request (without an id: the transport adds it).
#[derive(Debug, Clone, PartialEq)]
pub struct QmpRequest {
    pub execute: String,
    pub arguments: Option<Value>,
    /// Option-string values still to be typed against the live QEMU.
    pub typing: Option<typing::Typing>,
}

impl QmpRequest {
    pub fn new(execute: impl Into<String>, arguments: Option<Value>) -> Self {
        QmpRequest {
            execute: execute.into(),
            arguments,
            typing: None,
        }
    }

    pub fn with_typing(mut self, typing: typing::Typing) -> Self {
        self.typing = Some(typing);
        self
    }

    /// The request as QMP JSON: `{"execute": …, "arguments": …}`.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("execute".into(), Value::String(self.execute.clone()));
        if let Some(args) = &self.arguments {
            obj.insert("arguments".into(), args.clone());
        }
        Value::Object(obj)
    }
}

/// How a parsed line is carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Send these QMP requests in order; the entry's renderer shows the replies.
    Qmp(Vec<QmpRequest>),
    /// Special cases whose requests depend on live answers (e.g. walking
    /// `qom-list` for `info qom-tree`); the executor runs the named routine.
    /// `assumed` is what would be sent to a QEMU in its default state (for
    /// `--dry-run`).
    Walk {
        routine: String,
        assumed: Vec<QmpRequest>,
    },
    /// No QMP equivalent: run the line through QEMU's own HMP.
    Hmp { command_line: String },
    /// Answered by qhmp itself (`help`, bare `info`).
    Local,
}

impl Plan {
    /// The requests as they would go on the wire, for `--dry-run`.
    pub fn wire_requests(&self) -> Vec<Value> {
        match self {
            Plan::Qmp(reqs) => reqs.iter().map(QmpRequest::to_json).collect(),
            Plan::Hmp { command_line } => vec![hmp_request(command_line, None).to_json()],
            Plan::Walk { assumed, .. } => assumed.iter().map(QmpRequest::to_json).collect(),
            Plan::Local => Vec::new(),
        }
    }
}

/// The `human-monitor-command` request for a line.
pub fn hmp_request(command_line: &str, cpu_index: Option<i64>) -> QmpRequest {
    let mut args = Map::new();
    args.insert(
        "command-line".into(),
        Value::String(command_line.to_string()),
    );
    if let Some(cpu) = cpu_index {
        args.insert("cpu-index".into(), Value::from(cpu));
    }
    QmpRequest::new("human-monitor-command", Some(Value::Object(args)))
}

/// What is known of the QEMU a line is translated for.
#[derive(Debug, Clone)]
pub struct QemuFacts {
    pub version: QemuVersion,
    /// QMP commands it offers (`query-commands`); `None` when unknown (dry run).
    pub commands: Option<BTreeSet<String>>,
}

impl QemuFacts {
    /// Facts assumed without a live QEMU: the newest profile, every command.
    pub fn assumed() -> Self {
        let (major, minor) = Profile::DEFAULT.major_minor();
        QemuFacts {
            version: QemuVersion::new(major, minor, 0),
            commands: None,
        }
    }

    pub fn profile(&self) -> Profile {
        self.version.profile()
    }

    /// True when the QEMU offers a QMP command (always, when unknown).
    pub fn offers(&self, command: &str) -> bool {
        self.commands.as_ref().is_none_or(|c| c.contains(command))
    }
}

/// A line that parsed but cannot be carried out on this QEMU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("'{0}' has no QMP equivalent and this QEMU does not offer human-monitor-command")]
    NoHmpPassthrough(String),
    /// QEMU's HMP handler itself refuses such a line; `hmp_text` is what it prints.
    #[error("{}", .hmp_text.trim_end())]
    Refused { hmp_text: String },
    #[error("{command}: {message}")]
    BadArgument { command: String, message: String },
    #[error("grammar entry '{command}': {source}")]
    Template {
        command: String,
        source: TemplateError,
    },
    #[error("grammar entry '{command}' names unknown special translation '{name}'")]
    UnknownSpecial { command: String, name: String },
}

/// Translates a parsed line for a QEMU.
///
/// `line` is the original command line, used verbatim for `hmp-only`
/// commands and for arguments only the VM can evaluate (`$pc`).
pub fn plan(
    entry: &Entry,
    args: &Args,
    line: &str,
    facts: &QemuFacts,
) -> Result<Plan, TranslateError> {
    let passthrough = || -> Result<Plan, TranslateError> {
        if !facts.offers("human-monitor-command") {
            return Err(TranslateError::NoHmpPassthrough(
                entry.primary_name().to_string(),
            ));
        }
        Ok(Plan::Hmp {
            command_line: line.trim_start().to_string(),
        })
    };
    if args.needs_vm() {
        return passthrough();
    }
    let plan = match entry.qmp.get(facts.profile()) {
        QmpMapping::Local => return Ok(Plan::Local),
        QmpMapping::HmpOnly => return passthrough(),
        QmpMapping::Special(name) => special::translate(name, entry, args, line, facts)?,
        QmpMapping::Calls(calls) => {
            let mut requests = Vec::with_capacity(calls.len());
            for call in calls {
                let arguments = match &call.template {
                    None => None,
                    Some(t) => Some(template::fill(t, args).map_err(|source| {
                        TranslateError::Template {
                            command: entry.name.clone(),
                            source,
                        }
                    })?),
                };
                requests.push(QmpRequest::new(call.command.clone(), arguments));
            }
            Plan::Qmp(requests)
        }
    };
    // A QMP command this QEMU does not offer (5.2 has no x-query-*; 8.2 no
    // x-query-interrupt-controllers): QEMU's own HMP still runs the line, so
    // it goes there and the text is QEMU's by construction.
    if let Plan::Qmp(requests) = &plan {
        if requests.iter().any(|r| !facts.offers(&r.execute)) {
            return passthrough();
        }
    }
    Ok(plan)
}
