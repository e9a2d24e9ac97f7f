//! What the proxy lets clients do: `--read-only`, `--allow`, `--deny`,
//! applied to QMP commands and to HMP lines alike (a line is judged by what
//! it translates to).

use crate::monitor::LinePlan;
use crate::translate::Plan;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub read_only: bool,
    /// When set, only these QMP commands (plus the negotiation) may run.
    pub allow: Option<BTreeSet<String>>,
    pub deny: BTreeSet<String>,
}

/// QMP commands that only read state.
fn is_query(command: &str) -> bool {
    command.starts_with("query-")
        || command.starts_with("x-query-")
        || matches!(
            command,
            "qom-list"
                | "qom-get"
                | "qom-list-types"
                | "qom-list-properties"
                | "device-list-properties"
                | "trace-event-get-state"
                | "qmp_capabilities"
        )
}

impl Policy {
    /// True when nothing is restricted.
    pub fn is_open(&self) -> bool {
        !self.read_only && self.allow.is_none() && self.deny.is_empty()
    }

    /// The rule that refuses a QMP command, if one does.
    fn rule_against(&self, command: &str) -> Option<&'static str> {
        if command == "qmp_capabilities" {
            None
        } else if self.deny.contains(command) {
            Some("--deny")
        } else if self.allow.as_ref().is_some_and(|a| !a.contains(command)) {
            Some("not in --allow")
        } else if self.read_only && !is_query(command) && command != "human-monitor-command" {
            Some("--read-only")
        } else {
            None
        }
    }

    /// Judges one QMP command; the error names the rule that refused it.
    pub fn check_qmp(&self, command: &str) -> Result<(), String> {
        match self.rule_against(command) {
            Some(rule) => Err(format!(
                "command '{command}' is refused by the qhmp proxy policy ({rule})"
            )),
            None => Ok(()),
        }
    }

    /// Judges a request's command before it runs. `human-monitor-command`
    /// is only refused outright by `--deny`; otherwise each of its lines is
    /// judged by what it translates to ([`Policy::check_line`]).
    pub fn check_request(&self, command: &str) -> Result<(), String> {
        if command == "human-monitor-command" && !self.deny.contains(command) {
            return Ok(());
        }
        self.check_qmp(command)
    }

    /// Judges an HMP line by its translation.
    pub fn check_line(&self, line: &LinePlan<'_>) -> Result<(), String> {
        self.check_hmp(line.line, &line.plan, line.shows_only)
    }

    /// Judges an HMP line by its translation: every QMP command it runs must
    /// pass. A line QEMU's own HMP runs counts as `human-monitor-command`,
    /// and under `--read-only` only `info` and `help` lines may run so.
    pub fn check_hmp(&self, line: &str, plan: &Plan, is_info: bool) -> Result<(), String> {
        let mut words = line.split_whitespace();
        let name = match (words.next(), words.next()) {
            (Some("info"), Some(what)) => format!("info {what}"),
            (first, _) => first.unwrap_or_default().to_string(),
        };
        let refused = |command: &str, rule: &str| {
            Err(format!(
                "HMP command '{name}' is refused by the qhmp proxy policy: \
                 it runs '{command}' ({rule})"
            ))
        };
        let commands: Vec<&str> = match plan {
            Plan::Local => Vec::new(),
            Plan::Qmp(requests) => requests.iter().map(|r| r.execute.as_str()).collect(),
            Plan::Walk { .. } => vec!["qom-list", "qom-get"],
            Plan::Hmp { .. } if self.read_only && !is_info => {
                return refused("human-monitor-command", "--read-only")
            }
            Plan::Hmp { .. } => vec!["human-monitor-command"],
        };
        for command in commands {
            if let Some(rule) = self.rule_against(command) {
                return refused(command, rule);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::QmpRequest;

    #[test]
    fn read_only_refuses_changes_and_allows_queries() {
        let p = Policy {
            read_only: true,
            ..Policy::default()
        };
        assert!(p.check_qmp("stop").unwrap_err().contains("read-only"));
        assert!(p.check_qmp("query-spice").is_ok());
        let stop = Plan::Qmp(vec![QmpRequest::new("stop", None)]);
        assert!(p.check_hmp("stop", &stop, false).is_err());
        let spice = Plan::Qmp(vec![QmpRequest::new("query-spice", None)]);
        assert!(p.check_hmp("info spice", &spice, true).is_ok());
        let native = Plan::Hmp {
            command_line: "info network".into(),
        };
        assert!(p.check_hmp("info network", &native, true).is_ok());
        let native = Plan::Hmp {
            command_line: "savevm x".into(),
        };
        assert!(p.check_hmp("savevm x", &native, false).is_err());
    }

    #[test]
    fn allow_and_deny_lists() {
        let p = Policy {
            allow: Some(["query-status".to_string()].into()),
            deny: ["query-status".to_string()].into(),
            ..Policy::default()
        };
        assert!(p.check_qmp("query-status").unwrap_err().contains("--deny"));
        assert!(p.check_qmp("query-vnc").unwrap_err().contains("--allow"));
        assert!(p.check_qmp("qmp_capabilities").is_ok());
    }

    #[test]
    fn hmp_lines_are_judged_by_what_they_run() {
        let p = Policy {
            allow: Some(["query-status".to_string()].into()),
            ..Policy::default()
        };
        // The request itself passes; its lines are judged one by one.
        assert!(p.check_request("human-monitor-command").is_ok());
        let version = Plan::Qmp(vec![QmpRequest::new("query-version", None)]);
        assert_eq!(
            p.check_hmp("info version", &version, true),
            Err(
                "HMP command 'info version' is refused by the qhmp proxy policy: \
                 it runs 'query-version' (not in --allow)"
                    .into()
            )
        );
        let status = Plan::Qmp(vec![QmpRequest::new("query-status", None)]);
        assert!(p.check_hmp("info status", &status, true).is_ok());
        let denied = Policy {
            deny: ["human-monitor-command".to_string()].into(),
            ..Policy::default()
        };
        assert!(denied
            .check_request("human-monitor-command")
            .unwrap_err()
            .contains("--deny"));
    }
}
