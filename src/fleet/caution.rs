//! The warning before changing a libvirt domain behind libvirt's back.
//!
//! libvirt marks a domain whose monitor is used directly "tainted:
//! custom-monitor", and state changed that way is not in its view (after
//! `stop`, `virsh domstate` says "paused (unknown)"). The grammar's
//! `libvirt:` field names the managed equivalent of a command.

use crate::grammar::Grammar;
use crate::monitor::Monitor;
use crate::translate::Plan;

/// Commands outside `info` that only read the VM.
const READS: &[&str] = &["x", "xp", "print", "sum", "gpa2hva", "gpa2hpa", "gva2gpa"];

/// Warns once per session.
#[derive(Debug, Default)]
pub struct Caution {
    warned: bool,
}

impl Caution {
    pub fn new() -> Self {
        Caution::default()
    }

    /// The warning to print before `line` runs, the first time a line would
    /// change one of the libvirt `domains`; `None` otherwise.
    pub fn check(&mut self, monitor: &Monitor, line: &str, domains: &[String]) -> Option<String> {
        if self.warned || domains.is_empty() {
            return None;
        }
        let planned = monitor.plan_line(line)?;
        if planned.shows_only || matches!(planned.plan, Plan::Local) {
            return None;
        }
        let word = line.split_whitespace().next()?;
        let entry = Grammar::builtin()
            .ok()?
            .commands()
            .lookup(word, monitor.profile())?;
        if READS.contains(&entry.primary_name()) {
            return None;
        }
        self.warned = true;
        Some(warning(
            entry.primary_name(),
            entry.libvirt.as_deref(),
            domains,
        ))
    }
}

fn warning(command: &str, managed: Option<&str>, domains: &[String]) -> String {
    let (what, name) = match domains {
        [one] => (format!("{one} is a libvirt domain"), one.as_str()),
        many => (
            format!("{} targets are libvirt domains", many.len()),
            "DOMAIN",
        ),
    };
    let advice = match managed {
        Some(m) => format!(
            "the managed equivalent of '{command}' is `{}`",
            m.replace("DOMAIN", name)
        ),
        None => format!("libvirt has no managed equivalent of '{command}'"),
    };
    format!(
        "qhmp: warning: {what}: commands that change it through the monitor mark it \
         \"tainted: custom-monitor\" and libvirt's view of it drifts (after 'stop', \
         `virsh domstate` says \"paused (unknown)\"); {advice}. (Said once per session.)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn warns_once_for_changes_only_with_the_grammar_equivalent() {
        let monitor = Monitor::simulated().await.unwrap();
        let mut caution = Caution::new();
        let web = ["web1".to_string()];
        assert_eq!(caution.check(&monitor, "stop", &[]), None);
        assert_eq!(caution.check(&monitor, "info status", &web), None);
        assert_eq!(caution.check(&monitor, "help stop", &web), None);
        assert_eq!(caution.check(&monitor, "x /4x 0", &web), None);
        let said = caution.check(&monitor, "stop", &web).expect("a warning");
        assert!(said.contains("`virsh suspend web1`"), "{said}");
        assert!(said.contains("custom-monitor"), "{said}");
        assert_eq!(caution.check(&monitor, "cont", &web), None, "only once");
        let mut fresh = Caution::new();
        let said = fresh
            .check(&monitor, "system_reset", &["a".into(), "b".into()])
            .unwrap();
        assert!(said.contains("`virsh reset DOMAIN`"), "{said}");
    }
}
