//! Commands whose QMP requests depend on earlier answers: `info qom-tree`
//! walks the composition tree one `qom-list` at a time.

use super::MonitorError;
use crate::parse::Args;
use crate::qmp::Client;
use crate::render::Reply;
use crate::translate::special;
use serde_json::{json, Value};

/// Every QMP command a walk routine may send, for a policy to judge before
/// the first is sent; `None` for an unknown routine.
pub fn commands(routine: &str) -> Option<&'static [&'static str]> {
    Some(match routine {
        "qom_tree" => &["qom-get", "qom-list"],
        "memsave" => &["memsave"],
        "announce_self" => &["query-migrate-parameters", "announce-self"],
        "block_set_io_throttle" => &["query-block", "block_set_io_throttle"],
        "nbd_server_start_all" => &[
            "nbd-server-start",
            "query-block",
            "nbd-server-add",
            "nbd-server-stop",
        ],
        _ => return None,
    })
}

/// Runs a walk routine; the result is one reply for the renderer (for
/// `info qom-tree` a synthetic tree, otherwise the last command's reply).
pub async fn run(
    routine: &str,
    client: &Client,
    args: &Args,
    current_cpu: i64,
) -> Result<Reply, MonitorError> {
    match routine {
        "qom_tree" => {
            // Concurrent walks on one connection (proxy clients) would each
            // hold a whole tree at once: 32 of them doubled the proxy's peak.
            let _turn = client.take_turn().await;
            qom_tree(client, args.str("path").unwrap_or("/machine")).await
        }
        "memsave" => call(client, "memsave", special::memsave_args(args, current_cpu)).await,
        "announce_self" => {
            let params = call(client, "query-migrate-parameters", json!({}))
                .await?
                .ok();
            call(
                client,
                "announce-self",
                special::announce_args(args, params.as_ref()),
            )
            .await
        }
        "block_set_io_throttle" => {
            let name = args.str("device").unwrap_or_default();
            let blocks = call(client, "query-block", json!({}))
                .await?
                .unwrap_or(Value::Null);
            let is_backend = blocks.as_array().into_iter().flatten().any(|b| {
                b.get("device")
                    .and_then(Value::as_str)
                    .is_some_and(|d| !d.is_empty() && d == name)
            });
            let key = if is_backend { "device" } else { "id" };
            call(
                client,
                "block_set_io_throttle",
                special::throttle_args(args, key),
            )
            .await
        }
        "nbd_server_start_all" => nbd_start_all(client, args).await,
        other => Err(MonitorError::Walk(format!(
            "unknown walk routine '{other}'"
        ))),
    }
}

async fn call(client: &Client, command: &str, arguments: Value) -> Result<Reply, MonitorError> {
    let arguments = (!arguments.as_object().is_some_and(|o| o.is_empty())).then_some(arguments);
    client
        .execute(command, arguments)
        .await
        .map_err(MonitorError::Transport)
}

/// `nbd_server_start -a [-w] ADDR`: start the server, export every drive
/// with a medium, and stop the server again if an export fails.
async fn nbd_start_all(client: &Client, args: &Args) -> Result<Reply, MonitorError> {
    let start = special::nbd_start_args(args).map_err(MonitorError::Walk)?;
    let started = call(client, "nbd-server-start", start).await?;
    if started.is_err() {
        return Ok(started);
    }
    let blocks = call(client, "query-block", json!({}))
        .await?
        .unwrap_or(Value::Null);
    for block in blocks.as_array().into_iter().flatten() {
        let Some(device) = block.get("device").and_then(Value::as_str) else {
            continue;
        };
        if block.get("inserted").is_none() {
            continue;
        }
        let added = call(
            client,
            "nbd-server-add",
            json!({"device": device, "writable": args.flag("writable")}),
        )
        .await?;
        if added.is_err() {
            let _ = call(client, "nbd-server-stop", json!({})).await?;
            return Ok(added);
        }
    }
    Ok(Ok(json!({})))
}

/// Upper bound on objects visited, so a cyclic or huge tree cannot hang us.
const MAX_OBJECTS: usize = 100_000;

/// Builds `{"path", "name", "type", "children": [...]}` for `path`, following
/// `child<…>` properties only (composition), as QEMU's `info qom-tree` does.
async fn qom_tree(client: &Client, path: &str) -> Result<Reply, MonitorError> {
    let root_type = match client
        .execute("qom-get", Some(json!({"path": path, "property": "type"})))
        .await
        .map_err(MonitorError::Transport)?
    {
        Ok(v) => v.as_str().unwrap_or_default().to_string(),
        Err(e) => return Ok(Err(e)),
    };
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    let mut visited = 0usize;
    let mut root = json!({"path": path, "name": name, "type": root_type, "children": []});
    // Depth-first with an explicit stack of JSON pointers into `root`.
    let mut stack = vec![(path.to_string(), String::new())];
    while let Some((obj_path, pointer)) = stack.pop() {
        visited += 1;
        if visited > MAX_OBJECTS {
            return Err(MonitorError::Walk(format!(
                "QOM tree under '{path}' has more than {MAX_OBJECTS} objects"
            )));
        }
        let props = match client
            .execute("qom-list", Some(json!({"path": obj_path})))
            .await
            .map_err(MonitorError::Transport)?
        {
            Ok(Value::Array(props)) => props,
            Ok(_) => Vec::new(),
            Err(e) if pointer.is_empty() => return Ok(Err(e)),
            Err(_) => Vec::new(),
        };
        let mut children = Vec::new();
        for p in &props {
            let (Some(name), Some(ty)) = (
                p.get("name").and_then(Value::as_str),
                p.get("type").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(inner) = ty.strip_prefix("child<").and_then(|t| t.strip_suffix('>')) {
                children.push((name.to_string(), inner.to_string()));
            }
        }
        let base = if obj_path == "/" {
            String::new()
        } else {
            obj_path.clone()
        };
        let node = root
            .pointer_mut(&pointer)
            .and_then(|n| n.get_mut("children"))
            .and_then(Value::as_array_mut);
        let Some(node_children) = node else { continue };
        for (i, (name, ty)) in children.into_iter().enumerate() {
            let child_path = format!("{base}/{name}");
            node_children
                .push(json!({"path": child_path, "name": name, "type": ty, "children": []}));
            stack.push((child_path, format!("{pointer}/children/{i}")));
        }
    }
    Ok(Ok(root))
}
