//! The `qhmp` program: one-shot commands, dry run, the interactive monitor
//! and the subcommands.

mod applicable;
pub mod args;
mod events;
pub mod man;
mod oneshot;
mod proxy;
mod train;

use crate::output::Exit;
pub use args::Cli;
pub use events::EventFilter;

use crate::monitor::Monitor;
use crate::qmp::{Client, Target};
use clap::{CommandFactory, FromArgMatches};
use std::io::IsTerminal;

/// Runs qhmp with the process arguments; returns the exit status.
pub fn main() -> Exit {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let mut cli = match parsed {
        Ok((cli, matches)) => {
            if let Err(why) = applicable::check(&matches) {
                eprintln!("qhmp: {why}");
                return Exit::Usage;
            }
            cli
        }
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            };
        }
    };
    match &cli.subcommand {
        Some(args::Sub::Completions(args)) => {
            print!("{}", completions(&args.shell));
            Exit::Success
        }
        Some(args::Sub::Man) => {
            print!("{}", man::render());
            Exit::Success
        }
        Some(args::Sub::Proxy(args)) => proxy::run(&cli, args),
        Some(args::Sub::Sim(args)) => serve_simulator(&args.listen, args.qemu_version),
        Some(args::Sub::Train(args)) => train::run(args),
        Some(args::Sub::Events(args)) => {
            if let Err(why) = single_target(&cli) {
                eprintln!("qhmp events: {why}");
                return Exit::Usage;
            }
            let Some(runtime) = runtime(false) else {
                return Exit::Connection;
            };
            match runtime.block_on(connect(&cli)) {
                Ok((client, _)) => events::run(args, &cli, &runtime, client),
                Err(exit) => exit,
            }
        }
        None => {
            // Tables on a terminal, as --help says, for -c lines too.
            cli.format = cli.format.or_else(|| Some(crate::output::default_format()));
            session(&cli)
        }
    }
}

/// The completion script for `shell` (bash, zsh or fish), from the clap
/// definition.
pub fn completions(shell: &str) -> String {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let shell = match shell {
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => Shell::Bash,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "qhmp", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// Commands from `-c` or standard input, or the interactive monitor.
fn session(cli: &Cli) -> Exit {
    let lines = match oneshot::command_lines(cli) {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("qhmp: {e}");
            return Exit::Usage;
        }
    };
    let fleet = wants_fleet(cli);
    if cli.dry_run && (cli.connect.is_empty() || fleet) {
        return oneshot::dry_run(&lines);
    }
    let interactive = lines.is_empty() && !cli.dry_run && std::io::stdin().is_terminal();
    if fleet {
        return run_fleet(cli, &lines, interactive);
    }
    let Some(runtime) = runtime(interactive) else {
        return Exit::Connection;
    };
    let connected = runtime.block_on(async {
        let (client, note) = connect(cli).await?;
        match Monitor::on_client(client).await {
            Ok(monitor) => Ok((monitor, note)),
            Err(e) => {
                eprintln!("qhmp: {e}");
                Err(Exit::Connection)
            }
        }
    });
    let (monitor, note) = match connected {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    if interactive {
        let options = crate::repl::ReplOptions {
            format: cli.format.unwrap_or_else(crate::output::default_format),
            assume_yes: cli.yes,
            banner_note: note,
            reconnect: reconnect_target(cli),
            libvirt_domain: libvirt_domain(cli),
        };
        return crate::repl::run(&runtime, monitor, options);
    }
    runtime.block_on(oneshot::run(cli, monitor, &lines))
}

/// A current-thread runtime for one-shot work; the interactive monitor needs
/// a worker thread so events print while the prompt waits for a line.
pub(crate) fn runtime(worker: bool) -> Option<tokio::runtime::Runtime> {
    let built = if worker {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    match built {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("qhmp: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Connects to `--connect`, or to a fresh built-in simulator without it.
/// Returns a note for the banner ("simulated") when it is the simulator.
async fn connect(cli: &Cli) -> Result<(Client, Option<String>), Exit> {
    let config = oneshot::client_config(cli);
    let Some(text) = cli.connect.first().map(String::as_str) else {
        let sim = crate::sim::Simulator::new();
        return match Client::from_stream(sim.connect(), config).await {
            Ok(client) => Ok((client, Some("simulated".to_string()))),
            Err(e) => {
                eprintln!("qhmp: built-in simulator: {e}");
                Err(Exit::Connection)
            }
        };
    };
    let target: Target = text.parse().map_err(|e| {
        eprintln!("qhmp: --connect {text}: {e}");
        Exit::Usage
    })?;
    Client::connect(&target, config)
        .await
        .map(|c| (c, None))
        .map_err(|e| {
            eprintln!("qhmp: {}", crate::fleet::describe(&target, &e));
            Exit::Connection
        })
}

/// Several targets, a glob, or a socket not to be held: the fleet runner.
fn wants_fleet(cli: &Cli) -> bool {
    cli.connect.len() > 1
        || cli.transient
        || cli
            .connect
            .iter()
            .any(|c| crate::fleet::targets::is_glob(c))
        || cli
            .connect
            .first()
            .and_then(|c| c.parse::<Target>().ok())
            .is_some_and(|t| t.owned_by_others())
}

/// Subcommands that hold one connection (events) take one plain target.
fn single_target(cli: &Cli) -> Result<(), String> {
    if cli.connect.len() > 1
        || cli
            .connect
            .iter()
            .any(|c| crate::fleet::targets::is_glob(c))
    {
        return Err("watches one VM: give a single --connect without wildcards".into());
    }
    if cli.transient {
        return Err("events need a held connection; they are unavailable with --transient".into());
    }
    Ok(())
}

/// The libvirt domain of a single `--connect`, for the state-change warning.
pub(crate) fn libvirt_domain(cli: &Cli) -> Option<String> {
    match cli.connect.first()?.parse().ok()? {
        Target::Libvirt { domain, .. } => Some(domain),
        _ => None,
    }
}

/// One-shot lines or the prompt over several targets, or over a target
/// connected for each line.
fn run_fleet(cli: &Cli, lines: &[String], interactive: bool) -> Exit {
    let (targets, errors) = crate::fleet::targets::expand(&cli.connect);
    for e in &errors {
        eprintln!("qhmp: {e}");
    }
    if targets.is_empty() {
        return if cli
            .connect
            .iter()
            .any(|c| c.parse::<Target>().is_err() && !crate::fleet::targets::is_glob(c))
        {
            Exit::Usage
        } else {
            Exit::Connection
        };
    }
    let labelled = targets.len() > 1
        || cli
            .connect
            .iter()
            .any(|c| crate::fleet::targets::is_glob(c));
    let options = crate::fleet::FleetOptions {
        format: cli.format.unwrap_or_else(crate::output::default_format),
        jobs: cli.jobs as usize,
        config: oneshot::client_config(cli),
        transient: cli.transient,
        labelled,
    };
    let Some(runtime) = runtime(interactive) else {
        return Exit::Connection;
    };
    let exit = if interactive {
        crate::fleet::run_prompt(&runtime, targets, options, cli.yes)
    } else {
        runtime.block_on(crate::fleet::run_lines(targets, lines, &options))
    };
    if errors.is_empty() {
        exit
    } else {
        exit.worst(Exit::CommandFailed)
    }
}

/// Where the interactive monitor may connect again after QEMU went away.
fn reconnect_target(cli: &Cli) -> Option<(Target, crate::qmp::ClientConfig)> {
    let target = cli.connect.first()?.parse().ok()?;
    Some((target, oneshot::client_config(cli)))
}

fn serve_simulator(listen: &str, version: crate::grammar::Profile) -> Exit {
    let listen: crate::sim::Listen = match listen.parse() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("qhmp sim: --listen {listen}: {e}");
            return Exit::Usage;
        }
    };
    let Some(runtime) = runtime(true) else {
        return Exit::Connection;
    };
    eprintln!("qhmp sim: serving a simulated QEMU {version} on {listen} (Ctrl-C stops)");
    let sim = crate::sim::Simulator::with_options(crate::sim::SimOptions {
        qemu_version: version,
        ..Default::default()
    });
    match runtime.block_on(crate::sim::serve_until_ctrl_c(sim, listen)) {
        Ok(()) => Exit::Success,
        Err(e) => {
            eprintln!("qhmp sim: {e}");
            Exit::Connection
        }
    }
}
