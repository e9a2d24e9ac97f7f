//! Live completion values, asked of the connected QEMU when Tab is pressed.

use super::completion::{Live, LiveSource};
use crate::qmp::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a completion may wait for QEMU before offering nothing.
const LIVE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The schema is large; typing a `\qmp` line may wait for it a little longer.
const SCHEMA_TIMEOUT: Duration = Duration::from_secs(10);

pub struct QemuValues {
    client: Client,
    handle: tokio::runtime::Handle,
    /// Values that cannot change while this QEMU runs (types, capabilities).
    cache: Mutex<HashMap<Live, Vec<String>>>,
    /// `query-qmp-schema`, fetched when first needed.
    schema: Mutex<Option<Arc<Value>>>,
}

impl QemuValues {
    pub fn new(client: Client, handle: tokio::runtime::Handle) -> Self {
        QemuValues {
            client,
            handle,
            cache: Mutex::new(HashMap::new()),
            schema: Mutex::new(None),
        }
    }

    async fn schema(&self) -> Arc<Value> {
        if let Some(schema) = self.schema.lock().ok().and_then(|s| s.clone()) {
            return schema;
        }
        let schema = Arc::new(query(&self.client, "query-qmp-schema", None).await);
        if schema.is_array() {
            if let Ok(mut slot) = self.schema.lock() {
                *slot = Some(Arc::clone(&schema));
            }
        }
        schema
    }
}

impl LiveSource for QemuValues {
    /// `query-qmp-schema` of the connected QEMU (`null` when it cannot be had).
    fn qmp_schema(&self) -> Arc<Value> {
        let fetch = self.schema();
        self.handle
            .block_on(async { tokio::time::timeout(SCHEMA_TIMEOUT, fetch).await.ok() })
            .unwrap_or_else(|| Arc::new(Value::Null))
    }
    fn values(&self, what: &Live) -> Vec<String> {
        let cached = self.cache.lock().ok().and_then(|c| c.get(what).cloned());
        if let Some(values) = cached {
            return values;
        }
        let fetch = self.fetch(what);
        let fetched = self
            .handle
            .block_on(async { tokio::time::timeout(LIVE_TIMEOUT, fetch).await.ok() });
        let Some(values) = fetched else {
            return Vec::new();
        };
        if what.is_static() && !values.is_empty() {
            if let Ok(mut cache) = self.cache.lock() {
                cache.insert(what.clone(), values.clone());
            }
        }
        values
    }
}

async fn query(client: &Client, command: &str, args: Option<Value>) -> Value {
    match client.execute(command, args).await {
        Ok(Ok(v)) => v,
        _ => Value::Null,
    }
}

/// Text of an HMP command run by QEMU itself (for lists QMP does not offer).
async fn hmp_text(client: &Client, line: &str) -> String {
    let reply = query(
        client,
        "human-monitor-command",
        Some(json!({"command-line": line})),
    )
    .await;
    reply.as_str().unwrap_or_default().replace("\r\n", "\n")
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

impl QemuValues {
    async fn fetch(&self, what: &Live) -> Vec<String> {
        let client = &self.client;
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
            Live::ChardevBackends => {
                strings(&query(client, "query-chardev-backends", None).await, "name")
            }
            Live::DeviceIds => qom_children(client, "/machine/peripheral", false).await,
            Live::DeviceTypes => device_types(&hmp_text(client, "device_add help").await),
            Live::DeviceProperties(driver) => strings(
                &query(
                    client,
                    "device-list-properties",
                    Some(json!({"typename": driver})),
                )
                .await,
                "name",
            ),
            Live::ObjectIds => qom_children(client, "/objects", false).await,
            Live::ObjectTypes => strings(
                &query(
                    client,
                    "qom-list-types",
                    Some(json!({"implements": "user-creatable", "abstract": false})),
                )
                .await,
                "name",
            ),
            Live::ObjectProperties(kind) => strings(
                &query(
                    client,
                    "qom-list-properties",
                    Some(json!({"typename": kind})),
                )
                .await,
                "name",
            ),
            Live::NetClients => net_clients(&hmp_text(client, "info network").await, true),
            Live::Netdevs => net_clients(&hmp_text(client, "info network").await, false),
            Live::NetdevTypes => netdev_types(&hmp_text(client, "netdev_add help").await),
            Live::MigrationCapabilities => strings(
                &query(client, "query-migrate-capabilities", None).await,
                "capability",
            ),
            Live::MigrationParameters => query(client, "query-migrate-parameters", None)
                .await
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            Live::MigrationParameterValues(name) => {
                member_values(&*self.schema().await, "migrate-set-parameters", name)
            }
            Live::LogItems => log_items(&hmp_text(client, "help log").await),
            Live::CpuIndexes => query(client, "query-cpus-fast", None)
                .await
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("cpu-index").and_then(Value::as_i64))
                .map(|i| i.to_string())
                .collect(),
            Live::TraceEvents => strings(
                &query(client, "trace-event-get-state", Some(json!({"name": "*"}))).await,
                "name",
            ),
            Live::Snapshots => snapshots(&query(client, "query-block", None).await),
            Live::QomPath(typed) => {
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
            Live::QomProperties(path) => strings(
                &query(client, "qom-list", Some(json!({"path": path}))).await,
                "name",
            ),
            Live::QmpCommands => strings(&query(client, "query-commands", None).await, "name"),
            Live::QmpArguments(command) => argument_names(&*self.schema().await, command),
        }
    }
}

/// The values an argument of a QMP command takes, from the schema:
/// enum members, or `on`/`off` for a boolean.
fn member_values(schema: &Value, command: &str, member: &str) -> Vec<String> {
    let ty = argument_members(schema, command)
        .into_iter()
        .find(|m| m.get("name").and_then(Value::as_str) == Some(member))
        .and_then(|m| m.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ty == "bool" {
        return vec!["on".into(), "off".into()];
    }
    schema_entry(schema, ty)
        .and_then(|kind| kind.get("values"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The members of a QMP command's argument type, from the schema.
fn argument_names(schema: &Value, command: &str) -> Vec<String> {
    argument_members(schema, command)
        .into_iter()
        .filter_map(|m| m.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The member objects of `command`'s argument type (none when unknown).
fn argument_members<'a>(schema: &'a Value, command: &str) -> Vec<&'a Value> {
    schema_entry(schema, command)
        .and_then(|c| c.get("arg-type"))
        .and_then(Value::as_str)
        .and_then(|ty| schema_entry(schema, ty))
        .and_then(|o| o.get("members"))
        .and_then(Value::as_array)
        .map(|members| members.iter().collect())
        .unwrap_or_default()
}

/// The `query-qmp-schema` entry called `name`.
fn schema_entry<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// First words of the lines after the heading of `help log`.
fn log_items(help: &str) -> Vec<String> {
    help.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| !w.contains(':') && *w != "Use")
        .map(str::to_string)
        .collect()
}

/// `name "virtio-net-pci", bus PCI, …` lines of `device_add help`.
fn device_types(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|l| l.strip_prefix("name \""))
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_string()))
        .collect()
}

/// The lines after the heading of `netdev_add help`.
fn netdev_types(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.ends_with(':'))
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(' '))
        .map(str::to_string)
        .collect()
}

/// Client names from `info network` (`name: index=…,type=…` lines, peers
/// indented with ` \ `); NICs only when `nics` is set.
fn net_clients(info: &str, nics: bool) -> Vec<String> {
    info.lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("\\ ")
                .split_once(": index=")
        })
        .filter(|(_, fields)| nics || !fields.split(',').any(|f| f == "type=nic"))
        .map(|(name, _)| name.trim().to_string())
        .collect()
}

/// Internal snapshot names and ids of every inserted medium.
fn snapshots(block: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for device in block.as_array().into_iter().flatten() {
        let list = device
            .pointer("/inserted/image/snapshots")
            .and_then(Value::as_array);
        for snap in list.into_iter().flatten() {
            for key in ["name", "id"] {
                if let Some(v) = snap.get(key).and_then(Value::as_str) {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_from_hmp_help_texts() {
        let devices = "Controller/Bridge/Hub devices:\nname \"pci-bridge\", bus PCI, desc \"x\"\n\nNetwork devices:\nname \"e1000\", bus PCI, alias \"e1000-82540em\"\n";
        assert_eq!(device_types(devices), ["pci-bridge", "e1000"]);
        let netdevs = "Available netdev backend types:\nsocket\nuser\n\n";
        assert_eq!(netdev_types(netdevs), ["socket", "user"]);
    }

    #[test]
    fn nics_and_netdevs_from_info_network() {
        let info = "net0: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:56\n \\ user0: index=0,type=user,net=10.0.2.0,restrict=off\ntap1: index=0,type=tap,ifname=tap1\n";
        assert_eq!(net_clients(info, true), ["net0", "user0", "tap1"]);
        assert_eq!(net_clients(info, false), ["user0", "tap1"]);
    }

    #[test]
    fn enum_and_boolean_members_from_the_schema() {
        let schema = json!([
            {"name": "migrate-set-parameters", "meta-type": "command", "arg-type": "1"},
            {"name": "1", "meta-type": "object", "members": [
                {"name": "mode", "type": "2"}, {"name": "direct-io", "type": "bool"},
                {"name": "downtime-limit", "type": "int"}]},
            {"name": "2", "meta-type": "enum", "values": ["normal", "cpr-reboot"]},
        ]);
        let values = |m| member_values(&schema, "migrate-set-parameters", m);
        assert_eq!(values("mode"), ["normal", "cpr-reboot"]);
        assert_eq!(values("direct-io"), ["on", "off"]);
        assert!(values("downtime-limit").is_empty());
        assert!(values("nosuch").is_empty());
        assert_eq!(
            argument_names(&schema, "migrate-set-parameters"),
            ["mode", "direct-io", "downtime-limit"]
        );
    }

    #[test]
    fn log_items_from_help_log() {
        let help = "Log items (comma separated):\nnone            remove all logs\nout_asm         show code\ntrace:PATTERN   enable trace events\n\nUse \"log trace:help\" to get a list of trace events.\n\n";
        assert_eq!(log_items(help), ["none", "out_asm"]);
    }

    #[test]
    fn snapshot_names_and_ids() {
        let block = json!([{"device": "d", "inserted": {"image": {"snapshots": [{"id": "1", "name": "before"}]}}}, {"device": "cd"}]);
        assert_eq!(snapshots(&block), ["before", "1"]);
    }
}
