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

    /// Judges one QMP command; the error names the rule that refused it.
    pub fn check_qmp(&self, command: &str) -> Result<(), String> {
        if command == "qmp_capabilities" {
            return Ok(());
        }
        if self.deny.contains(command) {
            return Err(format!(
                "command '{command}' is refused by the qhmp proxy policy (--deny)"
            ));
        }
        if let Some(allow) = &self.allow {
            if !allow.contains(command) {
                return Err(format!(
                    "command '{command}' is refused by the qhmp proxy policy (not in --allow)"
                ));
            }
        }
        if self.read_only && !is_query(command) && command != "human-monitor-command" {
            return Err(format!(
                "command '{command}' is refused by the qhmp proxy policy (--read-only)"
            ));
        }
        Ok(())
    }

    /// Judges a request's command before it runs. `human-monitor-command`
    /// is only refused outright by `--deny`; otherwise each of its lines is
    /// judged by what it translates to ([`Policy::check_line`]).
    pub fn check_request(&self, command: &str) -> Result<(), String> {
        if command != "human-monitor-command" {
            return self.check_qmp(command);
        }
        if self.deny.contains(command) {
            return Err(format!(
                "command '{command}' is refused by the qhmp proxy policy (--deny)"
            ));
        }
        Ok(())
    }

    /// Judges an HMP line by its translation.
    pub fn check_line(&self, line: &LinePlan<'_>) -> Result<(), String> {
        self.check_hmp(line.line, &line.plan, line.shows_only)
    }

    /// Judges an HMP line by its translation. `is_info` says whether the line
    /// is an `info` subcommand or `help` (read-only by nature even when QEMU
    /// must run it itself).
    pub fn check_hmp(&self, line: &str, plan: &Plan, is_info: bool) -> Result<(), String> {
        let name = line.split_whitespace().next().unwrap_or_default();
        let refuse = |why: &str| {
            Err(format!(
                "HMP command '{name}' is refused by the qhmp proxy policy ({why})"
            ))
        };
        match plan {
            Plan::Local => Ok(()),
            Plan::Qmp(requests) => {
                for r in requests {
                    if let Err(e) = self.check_qmp(&r.execute) {
                        return Err(format!("HMP command '{name}' needs {e}"));
                    }
                }
                Ok(())
            }
            Plan::Walk { .. } => self.check_qmp("qom-list"),
            Plan::Hmp { .. } => {
                if self.read_only && !is_info {
                    return refuse("--read-only");
                }
                self.check_qmp("human-monitor-command")
            }
        }
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
}
