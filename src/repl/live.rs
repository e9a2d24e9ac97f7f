//! Live completion values, asked of the connected QEMU when Tab is pressed.

use super::completion::{Live, LiveSource};
use crate::qmp::Client;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a completion may wait for QEMU before offering nothing.
const LIVE_TIMEOUT: Duration = Duration::from_millis(700);

pub struct QemuValues {
    pub client: Client,
    pub handle: tokio::runtime::Handle,
}

impl LiveSource for QemuValues {
    fn values(&self, what: Live, typed: &str) -> Vec<String> {
        let fetch = fetch(&self.client, what, typed);
        self.handle.block_on(async {
            tokio::time::timeout(LIVE_TIMEOUT, fetch)
                .await
                .unwrap_or_default()
        })
    }
}

async fn query(client: &Client, command: &str, args: Option<Value>) -> Value {
    match client.execute(command, args).await {
        Ok(Ok(v)) => v,
        _ => Value::Null,
    }
}

fn strings(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get(key).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Names of `child<…>` (and, when asked, `link<…>`) properties of a QOM path.
async fn qom_children(client: &Client, path: &str, links: bool) -> Vec<String> {
    let props = query(client, "qom-list", Some(json!({"path": path}))).await;
    props
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            let ty = p.get("type").and_then(Value::as_str).unwrap_or_default();
            ty.starts_with("child<") || (links && ty.starts_with("link<"))
        })
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

async fn fetch(client: &Client, what: Live, typed: &str) -> Vec<String> {
    match what {
        Live::BlockDevices => strings(&query(client, "query-block", None).await, "device"),
        Live::Chardevs => strings(&query(client, "query-chardev", None).await, "label"),
        Live::RingbufChardevs => {
            let list = query(client, "query-chardev", None).await;
            list.as_array()
                .into_iter()
                .flatten()
                .filter(|c| c.get("filename").and_then(Value::as_str) == Some("ringbuf"))
                .filter_map(|c| c.get("label").and_then(Value::as_str).map(str::to_string))
                .collect()
        }
        Live::DeviceIds => qom_children(client, "/machine/peripheral", false).await,
        Live::ObjectIds => qom_children(client, "/objects", false).await,
        Live::NetClients => {
            let mut names = strings(&query(client, "query-rx-filter", None).await, "name");
            names.extend(netdev_names(client).await);
            names
        }
        Live::Netdevs => netdev_names(client).await,
        Live::MigrationCapabilities => strings(
            &query(client, "query-migrate-capabilities", None).await,
            "capability",
        ),
        Live::MigrationParameters => query(client, "query-migrate-parameters", None)
            .await
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        Live::QomPath => {
            let parent = match typed.rfind('/') {
                Some(0) | None => "/",
                Some(i) => &typed[..i],
            };
            let base = if parent == "/" { "" } else { parent };
            qom_children(client, parent, true)
                .await
                .into_iter()
                .map(|name| format!("{base}/{name}"))
                .collect()
        }
    }
}

/// Netdev ids: QMP has no list of them, so they are read from `info network`
/// (`name: index=…` lines, NIC peers indented with ` \ `).
async fn netdev_names(client: &Client) -> Vec<String> {
    let text = query(
        client,
        "human-monitor-command",
        Some(json!({"command-line": "info network"})),
    )
    .await;
    text.as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("\\ ")
                .split_once(": index=")
        })
        .map(|(name, _)| name.trim().to_string())
        .collect()
}
