//! `qhmp proxy`: option handling around [`crate::proxy::run`].

use super::args::ProxyArgs;
use super::Cli;
use crate::output::Exit;
use crate::proxy::{Listen, Policy, ProxyError, ProxyOptions};
use crate::qmp::{ClientConfig, Target};

pub fn run(cli: &Cli, args: &ProxyArgs) -> Exit {
    let options = match options(cli, args) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("qhmp proxy: {message}");
            return Exit::Usage;
        }
    };
    let Some(runtime) = super::runtime(true) else {
        return Exit::Connection;
    };
    match runtime.block_on(crate::proxy::run(options)) {
        Ok(()) => Exit::Success,
        Err(e @ ProxyError::Listen(_)) => {
            eprintln!("qhmp proxy: {e}");
            Exit::Usage
        }
        Err(e) => {
            eprintln!("qhmp proxy: {e}");
            Exit::Connection
        }
    }
}

fn options(cli: &Cli, args: &ProxyArgs) -> Result<ProxyOptions, String> {
    let upstream: Target = args
        .upstream
        .parse()
        .map_err(|e| format!("--upstream {}: {e}", args.upstream))?;
    let listen: Listen = args.listen.parse().map_err(|e| format!("--listen: {e}"))?;
    listen
        .check_loopback(args.allow_remote)
        .map_err(|e| e.to_string())?;
    let socket_mode = u32::from_str_radix(args.socket_mode.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| {
            format!(
                "--socket-mode {}: expected an octal mode such as 0600",
                args.socket_mode
            )
        })?;
    let clean = |list: &[String]| {
        list.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let policy = Policy {
        read_only: args.read_only,
        allow: (!args.allow.is_empty()).then(|| clean(&args.allow)),
        deny: clean(&args.deny),
    };
    Ok(ProxyOptions {
        upstream,
        listen,
        policy,
        native_hmp: args.hmp == "native",
        reconnect: !args.exit_on_upstream_loss,
        socket_mode,
        // A relay waits as long as QEMU takes, as its clients would without it.
        client: ClientConfig {
            request_timeout: None,
            ..super::oneshot::client_config(cli)
        },
    })
}
