//! `qhmp proxy`: option handling around [`crate::proxy::run`].

use super::args::ProxyArgs;
use super::Cli;
use crate::output::Exit;
use crate::proxy::{Access, Limits, Listen, Policy, ProxyError, ProxyOptions};
use crate::qmp::{ClientConfig, Target};
use crate::render::escape_controls;
use std::time::Duration;

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
            eprintln!("qhmp proxy: {}", escape_controls(&e.to_string()));
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
    let access = access(args, &listen)?;
    let limits = Limits {
        max_clients: args.max_clients.max(1),
        queue_bytes: args.client_queue_bytes,
        pending_oob: Limits::default().pending_oob,
        max_request_bytes: args.max_request_bytes,
        idle_timeout: args.idle_timeout.map(Duration::from_secs),
        write_timeout: Duration::from_secs(args.write_timeout.max(1)),
    };
    let policy = Policy {
        read_only: args.read_only,
        allow: (!args.allow.is_empty()).then(|| clean(&args.allow)),
        deny: clean(&args.deny),
    };
    for name in policy.unknown_names() {
        eprintln!(
            "qhmp proxy: warning: '{name}' in --allow/--deny is no known command or effect class"
        );
    }
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
        limits,
        access,
        audit: args.audit.clone(),
    })
}

/// `--allow-uid`/`--allow-gid` (unix sockets) and the token (TCP, required
/// with `--allow-remote`).
fn access(args: &ProxyArgs, listen: &Listen) -> Result<Access, String> {
    let tcp = matches!(listen, Listen::Tcp { .. });
    if tcp && !(args.allow_uid.is_empty() && args.allow_gid.is_empty()) {
        return Err("--allow-uid and --allow-gid need a unix: listen address".into());
    }
    if args.allow_remote && args.token_file.is_none() {
        return Err(
            "--allow-remote needs --token-file: remote clients must prove themselves".into(),
        );
    }
    let token = match &args.token_file {
        None => None,
        Some(_) if !tcp => return Err("--token-file applies to tcp: listen addresses".into()),
        Some(file) => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("--token-file {file}: {e}"))?;
            let token = text.trim().to_string();
            if token.len() < 16 || token.contains('\n') {
                return Err(format!(
                    "--token-file {file}: expected one line of at least 16 characters"
                ));
            }
            Some(token)
        }
    };
    Ok(Access {
        allow_uid: args.allow_uid.clone(),
        allow_gid: args.allow_gid.clone(),
        token,
    })
}
