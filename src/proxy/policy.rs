//! What the proxy lets clients do: `--read-only`, `--allow`, `--deny`.
//!
//! Everything is judged by what it does, from `grammar/effects.tsv`: a QMP
//! request by its command's effect class (refined by its arguments), an HMP
//! line by every QMP request its translation sends (follow-ups included) and
//! by the effect of the HMP command itself when QEMU's own HMP runs it. The
//! same rules run again on each request at the socket ([`Policy::gate`]).

use crate::grammar::{Effect, Effects};
use crate::monitor::{walk_commands, LinePlan};
use crate::translate::{typing::Typing, Plan};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Only commands of the `read` class may run.
    pub read_only: bool,
    /// When set, only these commands or effect classes (plus the
    /// negotiation) may run.
    pub allow: Option<BTreeSet<String>>,
    /// Commands or effect classes that may not run.
    pub deny: BTreeSet<String>,
}

/// One thing a request or line does: the names it answers to under
/// `--allow`/`--deny` and its effect class (`None`: not in the table).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub names: Vec<String>,
    pub effect: Option<Effect>,
}

impl Action {
    /// A QMP request, classed by the table and its arguments.
    pub fn qmp(command: &str, arguments: Option<&Value>) -> Action {
        let effect = Effects::builtin()
            .ok()
            .and_then(|t| t.of_request(command, arguments));
        Action {
            names: vec![command.to_string()],
            effect,
        }
    }
}

/// Requests qhmp itself needs to know the QEMU it talks to; they show only
/// what the greeting and schema already tell every client.
const METADATA: &[&str] = &[
    "qmp_capabilities",
    "query-version",
    "query-commands",
    "query-qmp-schema",
];

impl Policy {
    /// True when nothing is restricted.
    pub fn is_open(&self) -> bool {
        !self.read_only && self.allow.is_none() && self.deny.is_empty()
    }

    /// Names in `--allow`/`--deny` that are no command (QMP, HMP or
    /// `info …` line) and no effect class: most likely a typing mistake.
    pub fn unknown_names(&self) -> Vec<String> {
        let Ok(effects) = Effects::builtin() else {
            return Vec::new();
        };
        let known = |name: &str| {
            name.parse::<Effect>().is_ok()
                || effects.qmp(name).is_some()
                || effects.hmp(name).is_some()
                || name.starts_with("info ")
        };
        let listed = self.allow.iter().flatten().chain(&self.deny);
        listed.filter(|n| !known(n)).cloned().collect()
    }

    /// The rule that refuses an action, if one does.
    pub fn rule_against(&self, action: &Action) -> Option<String> {
        if self.is_open() || action.names.iter().any(|n| n == "qmp_capabilities") {
            return None;
        }
        let class = action.effect.map(Effect::as_str);
        let named = |list: &BTreeSet<String>| {
            action.names.iter().any(|n| list.contains(n)) || class.is_some_and(|c| list.contains(c))
        };
        let Some(effect) = action.effect else {
            return Some("not classified in grammar/effects.tsv".into());
        };
        if named(&self.deny) {
            Some(format!("--deny; class {effect}"))
        } else if self.allow.as_ref().is_some_and(|a| !named(a)) {
            Some(format!("not in --allow; class {effect}"))
        } else if self.read_only && effect != Effect::Read {
            Some(format!("--read-only; class {effect}"))
        } else {
            None
        }
    }

    /// Judges one QMP request from a client. `human-monitor-command` is
    /// refused here only by `--deny`; its line is judged on its own.
    pub fn check_request(&self, command: &str, arguments: Option<&Value>) -> Result<(), String> {
        if command == "human-monitor-command" {
            if self.deny.contains(command) {
                return Err(refusal_of_qmp(command, "--deny"));
            }
            return Ok(());
        }
        match self.rule_against(&Action::qmp(command, arguments)) {
            Some(rule) => Err(refusal_of_qmp(command, &rule)),
            None => Ok(()),
        }
    }

    /// Judges how a translated line will run: every request of the plan,
    /// follow-ups computed after a reply included, before any is sent.
    pub fn check_line(&self, line: &LinePlan<'_>) -> Result<(), String> {
        for action in plan_actions(&line.plan) {
            if let Some(rule) = self.rule_against(&action) {
                return Err(refusal_of_line(line.line, &action, &rule));
            }
        }
        Ok(())
    }

    /// The check at the socket: a request the policy refuses never leaves
    /// the proxy, whoever computed it. An HMP line is judged by `judge_line`.
    pub fn gate(
        &self,
        request: &Map<String, Value>,
        judge_line: impl Fn(&str) -> Result<(), String>,
    ) -> Result<(), String> {
        let command = ["execute", "exec-oob"]
            .iter()
            .find_map(|verb| request.get(*verb).and_then(Value::as_str))
            .unwrap_or_default();
        let arguments = request.get("arguments");
        if METADATA.contains(&command) {
            return Ok(());
        }
        if command == "human-monitor-command" {
            self.check_request(command, arguments)?;
            let line = arguments
                .and_then(|a| a.get("command-line"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return judge_line(line);
        }
        self.check_request(command, arguments)
    }
}

pub fn refusal_of_qmp(command: &str, rule: &str) -> String {
    format!("command '{command}' is refused by the qhmp proxy policy ({rule})")
}

/// The text of a refused line: the HMP command and what refused it.
pub fn refusal_of_line(line: &str, action: &Action, rule: &str) -> String {
    let mut words = line.split_whitespace();
    let name = match (words.next(), words.next()) {
        (Some("info"), Some(what)) => format!("info {what}"),
        (first, _) => first.unwrap_or_default().to_string(),
    };
    let runs = action.names.first().map(String::as_str).unwrap_or_default();
    format!("HMP command '{name}' is refused by the qhmp proxy policy: it runs '{runs}' ({rule})")
}

/// Everything a plan can send, follow-ups included.
pub fn plan_actions(plan: &Plan) -> Vec<Action> {
    match plan {
        Plan::Local => Vec::new(),
        Plan::Qmp(requests) => {
            let mut actions = Vec::new();
            for r in requests {
                match &r.typing {
                    Some(Typing::DeviceProperties { .. }) => {
                        actions.push(Action::qmp("device-list-properties", None))
                    }
                    // The schema is read to type the value (a query).
                    Some(Typing::MigrationParameter { .. }) => {
                        actions.push(Action::qmp("query-qmp-schema", None))
                    }
                    // A line QEMU's own HMP runs instead is judged again, as
                    // that line, at the upstream gate.
                    Some(Typing::Schema { .. } | Typing::OwnHmp) | None => {}
                }
                actions.push(Action::qmp(&r.execute, r.arguments.as_ref()));
            }
            actions
        }
        Plan::Walk { routine, .. } => match walk_commands(routine) {
            Some(commands) => commands.iter().map(|c| Action::qmp(c, None)).collect(),
            None => vec![Action {
                names: vec![format!("walk {routine}")],
                effect: None,
            }],
        },
        // Judged by the HMP command's own class by the line judge.
        Plan::Hmp { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::QmpRequest;
    use serde_json::json;

    fn names(list: &[&str]) -> Option<BTreeSet<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn read_only_allows_the_read_class_only() {
        let p = Policy {
            read_only: true,
            ..Policy::default()
        };
        assert!(p
            .check_request("stop", None)
            .unwrap_err()
            .contains("read-only"));
        assert!(p.check_request("query-spice", None).is_ok());
        let unsafe_ = p.check_request("device-list-properties", None).unwrap_err();
        assert!(unsafe_.contains("class unsafe"), "{unsafe_}");
        let secret = json!({"path": "/objects/sec0", "property": "data"});
        assert!(p.check_request("qom-get", Some(&secret)).is_err());
        let unknown = p.check_request("x-made-up", None).unwrap_err();
        assert!(unknown.contains("not classified"), "{unknown}");
        let stop = Plan::Qmp(vec![QmpRequest::new("stop", None)]);
        let line = LinePlan {
            line: "stop",
            plan: stop,
            shows_only: false,
        };
        assert!(p.check_line(&line).is_err());
    }

    #[test]
    fn follow_ups_are_judged_before_anything_is_sent() {
        let p = Policy {
            deny: ["block_set_io_throttle".to_string()].into(),
            ..Policy::default()
        };
        let walk = Plan::Walk {
            routine: "block_set_io_throttle".into(),
            assumed: Vec::new(),
        };
        let line = LinePlan {
            line: "block_set_io_throttle d0 1 0 0 0 0 0",
            plan: walk,
            shows_only: false,
        };
        assert_eq!(
            p.check_line(&line),
            Err(
                "HMP command 'block_set_io_throttle' is refused by the qhmp proxy policy: \
                 it runs 'block_set_io_throttle' (--deny; class change)"
                    .into()
            )
        );
    }

    #[test]
    fn allow_and_deny_take_commands_and_classes() {
        let p = Policy {
            allow: names(&["query-status", "host-files"]),
            deny: ["query-status".to_string()].into(),
            ..Policy::default()
        };
        assert!(p
            .check_request("query-status", None)
            .unwrap_err()
            .contains("--deny"));
        assert!(p
            .check_request("query-vnc", None)
            .unwrap_err()
            .contains("--allow"));
        assert!(p.check_request("pmemsave", None).is_ok());
        assert!(p.check_request("qmp_capabilities", None).is_ok());
        assert!(p.unknown_names().is_empty());
        let typo = Policy {
            deny: ["hostfiles".to_string()].into(),
            ..Policy::default()
        };
        assert_eq!(typo.unknown_names(), ["hostfiles"]);
        let no_files = Policy {
            deny: ["host-files".to_string(), "spawn".to_string()].into(),
            ..Policy::default()
        };
        assert!(no_files.check_request("memsave", None).is_err());
        let exec = json!({"uri": "exec:true"});
        assert!(no_files.check_request("migrate", Some(&exec)).is_err());
        let tcp = json!({"uri": "tcp:127.0.0.1:1"});
        assert!(no_files.check_request("migrate", Some(&tcp)).is_ok());
    }

    #[test]
    fn the_gate_judges_lines_and_lets_metadata_through() {
        let p = Policy {
            allow: names(&["query-status"]),
            ..Policy::default()
        };
        let request = |v: Value| v.as_object().cloned().unwrap_or_default();
        let no_lines = |_: &str| Err("line refused".to_string());
        assert!(p
            .gate(&request(json!({"execute": "query-version"})), no_lines)
            .is_ok());
        assert!(p
            .gate(&request(json!({"execute": "stop"})), no_lines)
            .is_err());
        let hmc = json!({"execute": "human-monitor-command",
                         "arguments": {"command-line": "info status"}});
        assert_eq!(
            p.gate(&request(hmc.clone()), no_lines),
            Err("line refused".into())
        );
        assert!(p.gate(&request(hmc), |_| Ok(())).is_ok());
    }
}
