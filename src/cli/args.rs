//! The command line, as clap parses it. The man page is generated from this
//! definition and from the grammar, so the three always agree.

use crate::output::Format;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "qhmp",
    version,
    about = "QEMU's human monitor (HMP) on top of QMP",
    long_about = "qhmp parses human monitor commands the way QEMU's own HMP does, turns them into \
                  QMP calls, sends them to a running QEMU over its QMP socket and renders the \
                  replies. Without --connect it runs on a built-in simulated QEMU.",
    after_help = "Exit status: 0 success, 1 a command failed, 2 usage or parse error, 3 connection error."
)]
pub struct Cli {
    /// QMP socket of a running QEMU: unix:PATH, tcp:HOST:PORT, tcp:[::1]:PORT or a bare path;
    /// libvirt:DOMAIN[@URI] for a libvirt domain; pve:VMID for a Proxmox VM. Repeat it, or
    /// use globs ('unix:/run/qemu/*.qmp', 'libvirt:*'), to run each line on a fleet of VMs.
    #[arg(long, value_name = "TARGET", global = true)]
    pub connect: Vec<String>,

    /// Connect for each line and disconnect after it, leaving the socket free for others
    /// (the default for Proxmox sockets). Events are unavailable then.
    #[arg(long, global = true)]
    pub transient: bool,

    /// How many VMs of a fleet are worked on at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: u32,

    /// Run LINE and exit (repeatable; lines run in order). Without -c, lines are read from
    /// standard input when it is not a terminal.
    #[arg(short = 'c', long = "command", value_name = "LINE")]
    pub commands: Vec<String>,

    /// Output format (default: table on a terminal, classic otherwise).
    #[arg(long, value_enum, value_name = "FORMAT", global = true)]
    pub format: Option<Format>,

    /// Print the QMP request(s) each line becomes, one JSON object per line, without sending
    /// anything (passwords shown as ********). Needs no VM (assumes QEMU 10.0 unless --connect
    /// is given).
    #[arg(long)]
    pub dry_run: bool,

    /// Answer the password prompt of `change vnc password` (given without a password) with
    /// the first line of standard input; the command lines then come from -c.
    #[arg(long)]
    pub password_stdin: bool,

    /// Do not ask before commands that cannot be undone (quit, system_reset, loadvm, delvm,
    /// drive_del, migrate, device_del).
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Seconds to wait for each QMP reply (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, global = true)]
    pub reply_timeout: u64,

    #[command(subcommand)]
    pub subcommand: Option<Sub>,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Share one QMP socket among many clients and answer human-monitor-command by translation.
    Proxy(Box<ProxyArgs>),
    /// Watch QMP events, one readable line each.
    Events(EventsArgs),
    /// Serve the built-in simulated QEMU to other QMP clients.
    Sim(SimArgs),
    /// Guided lessons on a simulated QEMU (lists them without a NAME).
    Train(TrainArgs),
    /// Print a completion script for a shell (`qhmp completions bash > /etc/bash_completion.d/qhmp`).
    Completions(CompletionsArgs),
    /// Print the man page (roff) generated from the grammar and these options.
    #[command(hide = true)]
    Man,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish.
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// The QEMU QMP socket to share (same forms as --connect).
    #[arg(long, value_name = "TARGET")]
    pub upstream: String,
    /// Where clients connect: unix:PATH or tcp:HOST:PORT.
    #[arg(long, value_name = "ADDRESS")]
    pub listen: String,
    /// Accept TCP clients on non-loopback addresses.
    #[arg(long)]
    pub allow_remote: bool,
    /// How human-monitor-command is answered: translate (qhmp) or native (QEMU's own HMP).
    #[arg(long, value_name = "MODE", default_value = "translate", value_parser = ["translate", "native"])]
    pub hmp: String,
    /// Allow only commands of the read class (grammar/effects.tsv).
    #[arg(long)]
    pub read_only: bool,
    /// Allow only these commands or effect classes (comma-separated; repeatable).
    #[arg(long, value_name = "COMMANDS", value_delimiter = ',')]
    pub allow: Vec<String>,
    /// Refuse these commands or effect classes (comma-separated; repeatable).
    #[arg(long, value_name = "COMMANDS", value_delimiter = ',')]
    pub deny: Vec<String>,
    /// Permissions of the unix listen socket (octal).
    #[arg(long, value_name = "MODE", default_value = "0600")]
    pub socket_mode: String,
    /// Exit when the upstream QEMU goes away instead of reconnecting.
    #[arg(long)]
    pub exit_on_upstream_loss: bool,
    /// Clients served at once; more are turned away.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_clients: usize,
    /// Bytes queued for one client beyond which its events are dropped (it is told) and it is not read.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub client_queue_bytes: usize,
    /// Longest request a client may send (QEMU's own 64 MiB limit applies anyway).
    #[arg(long, value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Disconnect a client that sends nothing for this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<u64>,
    /// Disconnect a client that reads none of its output for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub write_timeout: u64,
    /// Log every request, its decision and why, and connects, to FILE (- for stderr).
    #[arg(long, value_name = "FILE")]
    pub audit: Option<String>,
    /// Unix clients allowed by user id (peer credentials; comma-separated).
    #[arg(long, value_name = "UIDS", value_delimiter = ',')]
    pub allow_uid: Vec<u32>,
    /// Unix clients allowed by group id (peer credentials; comma-separated).
    #[arg(long, value_name = "GIDS", value_delimiter = ',')]
    pub allow_gid: Vec<u32>,
    /// TCP clients must send the token in FILE as their first line (required by --allow-remote).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Event names to show: globs (SPICE_*) or /regex/, case-insensitive; all when none.
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Keep SPICE events of main channels only (one per session).
    #[arg(long)]
    pub sessions: bool,
    /// Stop after N events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after S seconds.
    #[arg(long, value_name = "S")]
    pub timeout: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Where QMP clients connect: unix:PATH or tcp:127.0.0.1:PORT.
    #[arg(long, value_name = "ADDRESS")]
    pub listen: String,
    /// The QEMU release to play: 5.2, 7.2, 8.2, 10.0 or 11.1 (its greeting,
    /// QMP commands and reply shapes, captured from the real binaries).
    #[arg(long, value_name = "V", default_value = "10.0")]
    pub qemu_version: crate::grammar::Profile,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The lesson to run.
    #[arg(value_name = "NAME")]
    pub lesson: Option<String>,
    /// Run the lesson non-interactively with commands from standard input; exit 0 when its goal is reached.
    #[arg(long)]
    pub check: bool,
}
