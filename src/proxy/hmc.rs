//! `human-monitor-command` through the proxy: answered by qhmp's translator
//! (or, with `--hmp native`, by QEMU's own HMP), with QEMU's texts for bad
//! arguments and CPU numbers. Under a policy every line is judged first by
//! what it does (see `judge`); a line qhmp cannot parse is answered here
//! with QEMU's text and never passed on.

use super::dispatch::{error_reply, forward, with_id};
use super::judge::{judge_line, LineVerdict};
use super::session::Session;
use crate::monitor::{Monitor, MonitorError};
use serde_json::{json, Map, Value};

/// The reply to a `human-monitor-command` request.
pub async fn answer(session: &Session, request: Map<String, Value>, id: Option<&Value>) -> Value {
    let empty = Map::new();
    let arguments = request
        .get("arguments")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let Some((line, cpu_index)) = well_formed(arguments) else {
        return forward(session, disarmed(request), id).await;
    };
    let line = line.to_string();
    let shared = &session.shared;
    let mut answer_here = None;
    if !shared.policy.is_open() {
        let (generation, monitor) = match session_monitor(session).await {
            Ok(kept) => kept,
            Err(e) => return error_reply("GenericError", &format!("qhmp proxy: {e}"), id),
        };
        let verdict = judge_line(&shared.policy, monitor.facts(), &line);
        *session.monitor.lock().await = Some((generation, monitor));
        match verdict {
            LineVerdict::Allowed => {}
            LineVerdict::Refused(why) => return error_reply("GenericError", &why, id),
            // Nothing QEMU would run: answered here, never passed on.
            LineVerdict::Answer(text) => answer_here = Some(text.replace('\n', "\r\n")),
        }
    }
    // QEMU reads a NUL as an ordinary character; its own HMP answers.
    let native = shared.native_hmp || line.contains('\0');
    if native && answer_here.is_none() {
        return forward(session, request, id).await;
    }
    if let Some(cpu) = cpu_index {
        if let Some(refusal) = check_cpu(session, cpu, id).await {
            return refusal;
        }
    }
    if let Some(text) = answer_here {
        return with_id(json!({"return": text}), id);
    }
    translated(session, &line, cpu_index, id).await
}

/// The command line and CPU when the arguments are exactly what QEMU
/// accepts (a string `command-line`, an optional 64-bit `cpu-index`).
fn well_formed(arguments: &Map<String, Value>) -> Option<(&str, Option<i64>)> {
    let line = arguments.get("command-line")?.as_str()?;
    let cpu = match arguments.get("cpu-index") {
        None => None,
        Some(v) => Some(v.as_i64()?),
    };
    let known = |k: &String| k == "command-line" || k == "cpu-index";
    arguments.keys().all(known).then_some((line, cpu))
}

/// A malformed request with an empty command line: QEMU rejects it with its
/// own words for what is wrong, and could run nothing even if it did not.
fn disarmed(mut request: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Object(arguments)) = request.get_mut("arguments") {
        if let Some(Value::String(line)) = arguments.get_mut("command-line") {
            line.clear();
        }
    }
    request
}

/// QEMU refuses a CPU index it has no CPU for before it looks at the line;
/// an empty line with that index asks it without running anything.
async fn check_cpu(session: &Session, cpu: i64, id: Option<&Value>) -> Option<Value> {
    let Some((client, _)) = session.shared.client() else {
        return Some(not_connected(id));
    };
    let probe = json!({"command-line": "", "cpu-index": cpu});
    match client.execute("human-monitor-command", Some(probe)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(error_reply(&e.class, &e.desc, id)),
        Err(e) => Some(upstream_error(&e, id)),
    }
}

async fn translated(
    session: &Session,
    line: &str,
    cpu_index: Option<i64>,
    id: Option<&Value>,
) -> Value {
    let shared = &session.shared;
    let (generation, mut monitor) = match session_monitor(session).await {
        Ok(kept) => kept,
        Err(e) => return error_reply("GenericError", &format!("qhmp proxy: {e}"), id),
    };
    monitor.set_format_defaults(shared.format_defaults());
    let outcome = monitor
        .human_monitor_command_checked(line, cpu_index, |planned| shared.policy.check_line(planned))
        .await;
    shared.set_format_defaults(monitor.format_defaults());
    let reply = match outcome {
        Ok(answer) => {
            if let Some(why) = &answer.fallback {
                let words = if line.trim_start().starts_with("info") {
                    2
                } else {
                    1
                };
                let command: Vec<&str> = line.split_whitespace().take(words).collect();
                let command = command.join(" ");
                shared.note_once(format!("'{command}' is answered by QEMU's own HMP ({why})"));
            }
            with_id(json!({"return": answer.text}), id)
        }
        Err(MonitorError::Refused(why)) => error_reply("GenericError", &why, id),
        Err(MonitorError::Transport(e)) => upstream_error(&e, id),
        Err(e) => error_reply("GenericError", &format!("qhmp proxy: {e}"), id),
    };
    *session.monitor.lock().await = Some((generation, monitor));
    reply
}

/// This client's translator (taken out of the session while in use),
/// renewed when the upstream connection has changed.
async fn session_monitor(session: &Session) -> Result<(u64, Monitor), String> {
    let current = session.shared.client().map(|(_, generation)| generation);
    let kept = session.monitor.lock().await.take();
    match kept {
        Some((generation, monitor)) if Some(generation) == current => Ok((generation, monitor)),
        _ => session.shared.monitor().await,
    }
}

fn not_connected(id: Option<&Value>) -> Value {
    error_reply(
        "GenericError",
        "qhmp proxy: the upstream QEMU is not connected",
        id,
    )
}

fn upstream_error(e: &crate::qmp::ClientError, id: Option<&Value>) -> Value {
    error_reply(
        "GenericError",
        &format!("qhmp proxy: upstream QEMU: {e}"),
        id,
    )
}
