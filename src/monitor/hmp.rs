//! `human-monitor-command` semantics: one HMP line in, exactly the text
//! QEMU's own HMP would print out (CR LF line ends, errors as text).

use super::{Monitor, MonitorError};
use crate::parse;
use crate::translate::{self, Plan, TranslateError};

/// What a check sees of a line before it runs (see
/// [`Monitor::human_monitor_command_checked`]).
#[derive(Debug)]
pub struct LinePlan<'a> {
    /// The line as given.
    pub line: &'a str,
    /// How it will be carried out.
    pub plan: Plan,
    /// True for `info …` and `help`: lines that only show state, even when
    /// QEMU's own HMP has to run them.
    pub shows_only: bool,
}

/// The answer to one HMP line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmpAnswer {
    /// The text QEMU's HMP prints for the line, with `\r\n` line ends.
    pub text: String,
    /// Set when qhmp could not translate or render the line and QEMU's own
    /// HMP answered it instead; says why.
    pub fallback: Option<String>,
}

impl Monitor {
    /// Answers an HMP line the way QEMU's `human-monitor-command` does: the
    /// whole output text with `\r\n` line ends, parse errors and `Error: …`
    /// lines included (they are text, not an `Err`). `cpu_index` selects the
    /// CPU for this line only, like the QMP argument of that name.
    ///
    /// Lines qhmp cannot translate, and `info` lines it cannot render, are
    /// answered by QEMU's own HMP, so the text is always QEMU's.
    ///
    /// ```no_run
    /// # async fn demo(monitor: &mut qhmp::monitor::Monitor) -> Result<(), qhmp::monitor::MonitorError> {
    /// let text = monitor.human_monitor_command("info registers", Some(1)).await?;
    /// assert!(text.ends_with("\r\n"));
    /// # Ok(()) }
    /// ```
    pub async fn human_monitor_command(
        &mut self,
        line: &str,
        cpu_index: Option<i64>,
    ) -> Result<String, MonitorError> {
        self.human_monitor_command_checked(line, cpu_index, |_| Ok(()))
            .await
            .map(|answer| answer.text)
    }

    /// Like [`Monitor::human_monitor_command`], but `check` sees how the
    /// line would run first and may refuse it (the proxy's policy does).
    /// A refusal comes back as [`MonitorError::Refused`] and nothing runs.
    ///
    /// ```no_run
    /// # async fn demo(monitor: &mut qhmp::monitor::Monitor) -> Result<(), qhmp::monitor::MonitorError> {
    /// let answer = monitor
    ///     .human_monitor_command_checked("stop", None, |line| {
    ///         if line.shows_only { Ok(()) } else { Err("read-only".into()) }
    ///     })
    ///     .await;
    /// assert!(matches!(answer, Err(qhmp::monitor::MonitorError::Refused(_))));
    /// # Ok(()) }
    /// ```
    pub async fn human_monitor_command_checked<F>(
        &mut self,
        line: &str,
        cpu_index: Option<i64>,
        check: F,
    ) -> Result<HmpAnswer, MonitorError>
    where
        F: Fn(&LinePlan<'_>) -> Result<(), String>,
    {
        let grammar = self.grammar;
        let parsed = match parse::parse_line(grammar, self.profile(), line, &mut self.defaults) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Ok(text_answer(String::new())),
            Err(error) => return Ok(text_answer(error.hmp_text())),
        };
        let native = || Plan::Hmp {
            command_line: line.trim_start().to_string(),
        };
        let mut fallback = None;
        let plan = match translate::plan(parsed.entry, &parsed.args, line, &self.facts) {
            Ok(Plan::Local) => native(), // Programs expect QEMU's help text, not qhmp's.
            Ok(plan) => plan,
            Err(TranslateError::Refused { hmp_text }) => return Ok(text_answer(hmp_text)),
            Err(e) => {
                fallback = Some(format!("not translated: {e}"));
                native()
            }
        };
        let shows_only = shows_only(&parsed);
        let judged = LinePlan {
            line,
            plan,
            shows_only,
        };
        check(&judged).map_err(MonitorError::Refused)?;
        // An `errors: hmp` line may end up in QEMU's own HMP: only when the
        // check lets it run there too.
        let hmp_allowed = !parsed.entry.hmp_errors
            || check(&LinePlan {
                line,
                plan: native(),
                shows_only,
            })
            .is_ok();
        let plan = judged.plan;
        let saved = self.current_cpu;
        if cpu_index.is_some() {
            self.current_cpu = cpu_index;
        }
        let translated = matches!(plan, Plan::Qmp(_) | Plan::Walk { .. });
        self.hmp_fallback = hmp_allowed;
        let mut outcome = self.run(&parsed, plan, line).await;
        self.hmp_fallback = true;
        // A query whose reply qhmp cannot render is harmless to ask again.
        if let Err(MonitorError::Render(e)) = &outcome {
            if translated && shows_only {
                fallback = Some(format!("not rendered: {e}"));
                outcome = self.run_hmp(line.trim_start()).await;
            }
        }
        self.current_cpu = saved;
        Ok(HmpAnswer {
            text: outcome?.crlf_text(),
            fallback,
        })
    }

    /// How `line` would run, without running it or touching the `/fmt`
    /// defaults. `None` when QEMU would only print an error for it (it does
    /// not parse, or the command's own checks refuse it). A line qhmp cannot
    /// translate is planned for QEMU's own HMP.
    pub fn plan_line<'a>(&self, line: &'a str) -> Option<LinePlan<'a>> {
        let mut defaults = self.defaults;
        let parsed =
            parse::parse_line(self.grammar, self.profile(), line, &mut defaults).ok()??;
        let plan = match translate::plan(parsed.entry, &parsed.args, line, &self.facts) {
            Ok(plan) => plan,
            Err(TranslateError::Refused { .. }) => return None,
            Err(_) => Plan::Hmp {
                command_line: line.trim_start().to_string(),
            },
        };
        Some(LinePlan {
            line,
            plan,
            shows_only: shows_only(&parsed),
        })
    }

    /// The `/fmt` defaults (`x`, `xp`) the next line starts from. QEMU keeps
    /// one pair per process; several monitors on one QEMU can share it.
    pub fn format_defaults(&self) -> parse::FormatDefaults {
        self.defaults
    }

    /// Sets the `/fmt` defaults (see [`Monitor::format_defaults`]).
    pub fn set_format_defaults(&mut self, defaults: parse::FormatDefaults) {
        self.defaults = defaults;
    }
}

/// `info …` and `help` only show state.
fn shows_only(parsed: &parse::ParsedCommand<'_>) -> bool {
    parsed.path.len() > 1 || parsed.entry.primary_name() == "help"
}

fn text_answer(text: String) -> HmpAnswer {
    HmpAnswer {
        text: text.replace('\n', "\r\n"),
        fallback: None,
    }
}
