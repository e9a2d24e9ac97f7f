//! The `qhmp` program: one-shot commands, dry run and the subcommands.

pub mod args;
mod exit;
mod oneshot;

pub use args::{Cli, Format};
pub use exit::Exit;
pub use oneshot::{print_response, report_parse_error};

use clap::Parser;

/// Runs qhmp with the process arguments; returns the exit status.
pub fn main() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Usage } else { Exit::Success };
        }
    };
    match &cli.subcommand {
        Some(args::Sub::Man) => {
            print!("{}", crate::man::render());
            Exit::Success
        }
        None => oneshot::run(&cli),
    }
}
