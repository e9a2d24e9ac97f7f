//! The interactive monitor over a fleet (`(qemu 12 VMs)`), or over a
//! target connected for each line.

use super::{output, Fleet, FleetOptions, Member, Outcome};
use crate::grammar::Profile;
use crate::output::{Exit, Format};
use crate::qmp::Target;
use crate::repl::{run_lines, LineRunner, LinesOptions};
use crate::translate::QemuFacts;

struct FleetRunner {
    fleet: Fleet,
    options: FleetOptions,
    profile: Profile,
}

impl LineRunner for FleetRunner {
    fn profile(&self) -> Profile {
        self.profile
    }

    fn run(&mut self, runtime: &tokio::runtime::Runtime, line: &str, format: Format) {
        // A line that does not parse is said once, with a caret, not per VM.
        let errors = self.fleet.parse_errors(&[line.to_string()]);
        if let Some((line, error)) = errors.first() {
            crate::output::report_parse_error_at_prompt(line, error);
            return;
        }
        if let Some(warning) = self.fleet.caution(line) {
            eprintln!("{warning}");
        }
        let outcomes = runtime.block_on(self.fleet.run_line(line));
        let options = FleetOptions {
            format,
            ..self.options.clone()
        };
        output::print(self.fleet.members(), &outcomes, &options);
    }
}

/// Connects to every target and serves the prompt.
pub fn run_prompt(
    runtime: &tokio::runtime::Runtime,
    targets: Vec<Target>,
    options: FleetOptions,
    assume_yes: bool,
) -> Exit {
    let mut fleet = Fleet::new(targets, &options);
    let unreachable = runtime.block_on(fleet.connect());
    for outcome in unreachable.iter().flatten() {
        if let Outcome::Unreachable(e) = outcome {
            eprintln!("qhmp: {e}");
        }
    }
    let reached = unreachable.iter().filter(|u| u.is_none()).count();
    if reached == 0 {
        return Exit::Connection;
    }
    let version = fleet.members().iter().find_map(Member::version).cloned();
    let Some(version) = version else {
        return Exit::Connection;
    };
    let profile = QemuFacts {
        version: version.clone(),
        commands: None,
    }
    .profile();
    let live = fleet
        .members()
        .iter()
        .filter(|m| !m.transient)
        .filter_map(|m| m.connected().map(|mon| mon.client().clone()))
        .collect();
    let all_transient = fleet.members().iter().all(|m| m.transient);
    // Sockets others own are let go while the user types.
    runtime.block_on(async {
        for member in fleet.members.iter_mut().filter(|m| m.transient) {
            member.release().await;
        }
    });
    let total = fleet.members().len();
    let (prompt, mut banner) = if options.labelled {
        (
            format!("(qemu {total} VMs) "),
            format!("qhmp monitor on {total} VMs ({reached} reached; first QEMU {version}) - type 'help' for more information"),
        )
    } else {
        (
            "(qemu) ".to_string(),
            format!("QEMU {version} monitor via qhmp - type 'help' for more information"),
        )
    };
    if all_transient {
        banner.push_str(
            "\ntransient: connecting for each line and disconnecting after it; \
             events are not shown (they need a held connection)",
        );
    } else if options.labelled {
        banner.push_str("\nevents are not shown on a fleet; use qhmp events --connect TARGET");
    }
    let vm_label = match fleet.members().first() {
        Some(only) if !options.labelled => only.target.to_string(),
        _ => format!("{total} VMs"),
    };
    let mut runner = FleetRunner {
        fleet,
        options: options.clone(),
        profile,
    };
    let exit = run_lines(
        runtime,
        &mut runner,
        LinesOptions {
            prompt,
            banner,
            format: options.format,
            assume_yes,
            vm_label,
            live,
        },
    );
    runtime.block_on(runner.fleet.release());
    exit
}
