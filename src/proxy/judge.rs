//! HMP lines at the boundary: read exactly as QEMU's HMP reads them, then
//! judged by what they do (the HMP command's own effect class and every QMP
//! request its translation sends), never as `human-monitor-command`.
//!
//! QEMU's JSON parser keeps a `\u0000` inside the command-line (as the
//! bytes `C0 80`), so its HMP sees an ordinary non-blank character there,
//! not the end of the line. qhmp reads the line with a stand-in character
//! in its place, which its parser treats the same way.

use super::policy::{plan_actions, refusal_of_line, Action, Policy};
use crate::grammar::{Effects, Grammar, QmpMapping};
use crate::parse::{self, FormatDefaults};
use crate::translate::{self, QemuFacts, TranslateError};

/// Stands for NUL while qhmp reads a line (a private-use character).
const NUL_STAND_IN: char = '\u{E000}';

/// What the policy makes of one HMP line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineVerdict {
    /// Nothing in it is refused.
    Allowed,
    /// Refused by the policy; says why.
    Refused(String),
    /// QEMU would only print this text for it (the line does not parse, or
    /// the command's own checks refuse it): under a policy the proxy
    /// answers it itself and sends nothing.
    Answer(String),
}

/// The line as QEMU's HMP reads it, NUL included as an ordinary character.
pub fn qemu_reading(line: &str) -> Result<String, String> {
    if !line.contains('\0') {
        return Ok(line.to_string());
    }
    if line.contains(NUL_STAND_IN) {
        return Err(format!(
            "qhmp proxy: a line with both NUL and U+{:04X} cannot be judged",
            u32::from(NUL_STAND_IN)
        ));
    }
    Ok(line.replace('\0', &NUL_STAND_IN.to_string()))
}

/// Text qhmp produced for a stand-in line, with the NULs put back.
fn restore(text: &str) -> String {
    text.replace(NUL_STAND_IN, "\0")
}

/// Judges one `human-monitor-command` line for a QEMU described by `facts`.
pub fn judge_line(policy: &Policy, facts: &QemuFacts, line: &str) -> LineVerdict {
    if policy.is_open() {
        return LineVerdict::Allowed;
    }
    let (Ok(grammar), Ok(effects)) = (Grammar::builtin(), Effects::builtin()) else {
        return LineVerdict::Refused("qhmp proxy: the built-in tables are broken".into());
    };
    let reading = match qemu_reading(line) {
        Ok(reading) => reading,
        Err(why) => return LineVerdict::Refused(why),
    };
    let mut defaults = FormatDefaults::default();
    let parsed = match parse::parse_line(grammar, facts.profile(), &reading, &mut defaults) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return LineVerdict::Allowed,
        Err(e) => return LineVerdict::Answer(restore(&e.hmp_text())),
    };
    let top = parsed.path.first().copied().unwrap_or(parsed.entry);
    let spelled: Vec<&str> = parsed.path.iter().map(|e| e.primary_name()).collect();
    let mut names = vec![spelled.join(" ")];
    if let QmpMapping::Calls(calls) = parsed.entry.qmp.get(facts.profile()) {
        names.extend(calls.iter().map(|c| c.command.clone()));
    }
    let own = Action {
        names,
        effect: effects.of_hmp(top.primary_name(), |k| {
            parsed.args.str(k).map(str::to_string)
        }),
    };
    // What the translation sends first (the clearer refusal), then the
    // command's own class.
    let mut actions = Vec::new();
    match translate::plan(parsed.entry, &parsed.args, &reading, facts) {
        Ok(plan) => actions.extend(plan_actions(&plan)),
        Err(TranslateError::Refused { hmp_text }) => {
            return LineVerdict::Answer(restore(&hmp_text))
        }
        // QEMU's own HMP runs it: the command's own class decides.
        Err(_) => {}
    }
    actions.push(own);
    for action in &actions {
        if let Some(rule) = policy.rule_against(action) {
            return LineVerdict::Refused(refusal_of_line(line, action, &rule));
        }
    }
    LineVerdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_only() -> Policy {
        Policy {
            read_only: true,
            ..Policy::default()
        }
    }

    fn judge(policy: &Policy, line: &str) -> LineVerdict {
        judge_line(policy, &QemuFacts::assumed(), line)
    }

    fn refused(v: LineVerdict) -> bool {
        matches!(v, LineVerdict::Refused(_))
    }

    #[test]
    fn findings_are_refused_under_read_only() {
        let p = read_only();
        for line in [
            "nbd_server_start -a unix:/tmp/x/nbd.sock",
            "nbd_server_start -a -w unix:/tmp/x/nbd.sock",
            "memsave 0 4096 \"/tmp/x/mem\"",
            "block_set_io_throttle d0 1000 0 0 0 0 0",
            "announce_self",
            "pmemsave $eax 4096 \"/tmp/x/pm\"",
            "dump-guest-memory \"/tmp/x/dg\" $eax 4096",
            "migrate \"exec:touch /tmp/x/PWNED #\0\"",
            "pmemsave 0 4096 \"/tmp/x/pmem\0\"",
            "savevm x",
            "wavcapture /tmp/x/a.wav ad0",
            "logfile /tmp/x/log",
            "gdbserver tcp::1234",
            "qom-get /objects/sec0 data",
        ] {
            assert!(refused(judge(&p, line)), "{line:?} passed --read-only");
        }
        for line in [
            "info registers",
            "info status",
            "x/4x 0",
            "print $eax",
            "help",
        ] {
            assert_eq!(judge(&p, line), LineVerdict::Allowed, "{line:?}");
        }
    }

    #[test]
    fn a_nul_is_an_ordinary_character_as_in_qemu() {
        assert_eq!(
            judge(&read_only(), "info status\0x"),
            LineVerdict::Answer("unknown command: 'info status\0x'\n".into())
        );
        assert_eq!(qemu_reading("a\0b").as_deref(), Ok("a\u{E000}b"));
        assert!(qemu_reading("a\0b\u{E000}").is_err());
    }

    #[test]
    fn register_expressions_do_not_slip_past_deny_or_allow() {
        let deny = Policy {
            deny: ["pmemsave", "memsave", "dump-guest-memory"]
                .map(String::from)
                .into(),
            ..Policy::default()
        };
        let allow = Policy {
            allow: Some(
                ["query-status", "query-block", "human-monitor-command"]
                    .map(String::from)
                    .into(),
            ),
            ..Policy::default()
        };
        for p in [&deny, &allow] {
            assert!(refused(judge(p, "pmemsave $eax 4096 \"/tmp/x/pm\"")));
            assert!(refused(judge(
                p,
                "dump-guest-memory \"/tmp/x/dg\" $eax 4096"
            )));
        }
        assert_eq!(judge(&allow, "info status"), LineVerdict::Allowed);
        assert!(refused(judge(&allow, "info registers")));
    }
}
