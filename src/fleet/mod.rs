//! Many VMs at once, and VMs whose sockets others own.
//!
//! ```text
//! targets  what --connect names: one target or a glob (sockets, libvirt domains)
//! member   one VM: its target and its monitor while connected (or per line: --transient)
//! output   one line's outcomes on all VMs, as JSON, one merged table or labelled text
//! caution  the once-per-session warning before changing a libvirt domain
//! prompt   the interactive monitor over a fleet, or over a transient target
//! ```
//!
//! A line runs on every VM concurrently, at most `jobs` at a time; one VM
//! failing or unreachable never stops the others.

mod caution;
mod member;
mod output;
mod prompt;
pub mod targets;

pub use caution::Caution;
pub use member::{describe, Member, Outcome};
pub use prompt::run_prompt;

use crate::grammar::Grammar;
use crate::output::{Exit, Format};
use crate::parse::{self, FormatDefaults};
use crate::qmp::{ClientConfig, Target};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How a fleet session runs.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub format: Format,
    /// VMs worked on at once.
    pub jobs: usize,
    pub config: ClientConfig,
    /// Connect per line for every target (Proxmox sockets always are).
    pub transient: bool,
    /// Say which VM each part of the output came from (several targets, or a glob).
    pub labelled: bool,
}

/// The VMs of one session.
pub struct Fleet {
    pub(crate) members: Vec<Member>,
    jobs: usize,
    caution: Caution,
}

/// Work done on every member at once.
#[derive(Clone)]
enum Job {
    Connect,
    Line(Arc<str>),
    Release,
}

impl Fleet {
    pub fn new(targets: Vec<Target>, options: &FleetOptions) -> Fleet {
        let members = targets
            .into_iter()
            .map(|t| {
                let transient = options.transient || t.owned_by_others();
                Member::new(t, transient, options.config.clone())
            })
            .collect();
        Fleet {
            members,
            jobs: options.jobs.max(1),
            caution: Caution::new(),
        }
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Connects every member; the outcome of each that could not be reached.
    pub async fn connect(&mut self) -> Vec<Option<Outcome>> {
        self.each(Job::Connect).await
    }

    /// Runs `line` on every member; outcomes in member order.
    pub async fn run_line(&mut self, line: &str) -> Vec<Outcome> {
        self.each(Job::Line(Arc::from(line)))
            .await
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Failed("no outcome".into())))
            .collect()
    }

    /// Lets go of every socket.
    pub async fn release(&mut self) {
        self.each(Job::Release).await;
    }

    /// The warning to print before `line`, once per session, when it would
    /// change libvirt domains.
    pub fn caution(&mut self, line: &str) -> Option<String> {
        let domains: Vec<String> = self
            .members
            .iter()
            .filter_map(|m| m.domain().map(str::to_string))
            .collect();
        let monitor = self.members.iter().find_map(Member::connected)?;
        self.caution.check(monitor, line, &domains)
    }

    /// Parse errors of `lines` for the QEMUs seen so far (every line must
    /// parse everywhere before anything is sent).
    pub fn parse_errors(&self, lines: &[String]) -> Vec<(String, crate::parse::ParseError)> {
        let Ok(grammar) = Grammar::builtin() else {
            return Vec::new();
        };
        let mut profiles: Vec<_> = self
            .members
            .iter()
            .filter_map(Member::version)
            .map(|v| v.profile())
            .collect();
        profiles.sort_by_key(|p| p.to_string());
        profiles.dedup();
        let mut errors = Vec::new();
        for profile in profiles {
            let mut defaults = FormatDefaults::default();
            for line in lines {
                if let Err(e) = parse::parse_line(grammar, profile, line, &mut defaults) {
                    if !errors.iter().any(|(l, _)| l == line) {
                        errors.push((line.clone(), e));
                    }
                }
            }
        }
        errors
    }

    async fn each(&mut self, job: Job) -> Vec<Option<Outcome>> {
        let limit = Arc::new(Semaphore::new(self.jobs));
        let mut set = JoinSet::new();
        for (index, mut member) in std::mem::take(&mut self.members).into_iter().enumerate() {
            let limit = Arc::clone(&limit);
            let job = job.clone();
            set.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let outcome = match job {
                    Job::Connect => member.open().await.err().map(Outcome::Unreachable),
                    Job::Line(line) => Some(member.run(&line).await),
                    Job::Release => {
                        member.release().await;
                        None
                    }
                };
                (index, member, outcome)
            });
        }
        let mut done: Vec<(usize, Member, Option<Outcome>)> = Vec::with_capacity(set.len());
        while let Some(joined) = set.join_next().await {
            if let Ok(result) = joined {
                done.push(result);
            }
        }
        done.sort_by_key(|(i, _, _)| *i);
        let mut outcomes = Vec::with_capacity(done.len());
        for (_, member, outcome) in done {
            self.members.push(member);
            outcomes.push(outcome);
        }
        outcomes
    }
}

/// The exit status of one line's outcomes: 3 when no VM was reached, 2 for
/// a line that does not parse, 1 when any VM failed.
pub fn exit_of(outcomes: &[Outcome]) -> Exit {
    if !outcomes.is_empty()
        && outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Unreachable(_)))
    {
        return Exit::Connection;
    }
    outcomes.iter().fold(Exit::Success, |status, o| match o {
        Outcome::Parse(_) => status.worst(Exit::Usage),
        o if o.failed() => status.worst(Exit::CommandFailed),
        _ => status,
    })
}

/// One-shot: runs `lines` in order on every target and prints each line's
/// outcomes.
pub async fn run_lines(targets: Vec<Target>, lines: &[String], options: &FleetOptions) -> Exit {
    let mut fleet = Fleet::new(targets, options);
    let unreachable = fleet.connect().await;
    if unreachable.iter().all(Option::is_some) {
        for outcome in unreachable.iter().flatten() {
            if let Outcome::Unreachable(e) = outcome {
                eprintln!("qhmp: {e}");
            }
        }
        return Exit::Connection;
    }
    let errors = fleet.parse_errors(lines);
    if !errors.is_empty() {
        for (line, error) in &errors {
            crate::output::report_parse_error(line, error);
        }
        fleet.release().await;
        return Exit::Usage;
    }
    let mut status = Exit::Success;
    for line in lines {
        if let Some(warning) = fleet.caution(line) {
            eprintln!("{warning}");
        }
        let outcomes = fleet.run_line(line).await;
        output::print(fleet.members(), &outcomes, options);
        status = status.worst(exit_of(&outcomes));
    }
    fleet.release().await;
    status
}
