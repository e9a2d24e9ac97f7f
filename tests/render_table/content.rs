//! What the tables say: each renderer's facts, checked against the
//! captured replies they came from.

use super::*;

/// The connection ids of the main channels in a `query-spice` reply.
fn spice_sessions(reply: &Value) -> Vec<String> {
    reply["channels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["channel-type"] == 1)
        .map(|c| c["connection-id"].to_string())
        .collect()
}

#[test]
fn spice_groups_channels_by_session() {
    for version in VERSIONS {
        let fixture = load(version, "spice");
        let sessions = spice_sessions(&fixture.replies[0]);
        assert_eq!(
            sessions.len(),
            2,
            "{version}: the capture should have two sessions"
        );
        let text = table(&fixture, plain(120));
        let headings: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("SPICE session "))
            .collect();
        assert_eq!(headings.len(), 2, "{version}:\n{text}");
        for (heading, id) in headings.iter().zip(&sessions) {
            assert_eq!(
                *heading,
                format!("SPICE session {id}: 2 channels"),
                "{version}:\n{text}"
            );
        }
        // Each session's table lists its main channel, then its inputs channel.
        for id in &sessions {
            let start = text
                .find(&format!("SPICE session {id}"))
                .unwrap_or_default();
            let section = &text[start..];
            let main = section.find("| main").unwrap_or(usize::MAX);
            let inputs = section.find("| inputs").unwrap_or(usize::MAX);
            assert!(
                main < inputs && inputs < usize::MAX,
                "{version} session {id}:\n{section}"
            );
        }
        assert!(text.contains("| Compiled version | 0.15.1"), "{text}");
    }
}

#[test]
fn spice_without_clients_says_so() {
    for version in VERSIONS {
        let text = table(&load(version, "spice-noclients"), plain(80));
        assert!(text.contains("No clients connected."), "{text}");
        assert!(!text.contains("SPICE session"), "{text}");
        let absent = table(&load(version, "spice-absent"), plain(80));
        assert!(
            absent.contains("| Enabled") && absent.contains("| no"),
            "{absent}"
        );
    }
}

#[test]
fn spice_unknown_channel_types_show_their_number() {
    let reply = json!({"enabled": true, "host": "::1", "port": 5930, "auth": "spice",
        "compiled-version": "0.15.1", "mouse-mode": "client", "migrated": true, "tls-port": 5931,
        "channels": [{"host": "::1", "port": "4000", "family": "ipv6", "connection-id": 7,
                      "channel-type": 42, "channel-id": 3, "tls": true}]});
    let text = render("spice", &[reply], plain(100)).unwrap_or_default();
    assert!(
        text.contains("SPICE session 7: 1 channel (no main channel)"),
        "{text}"
    );
    assert!(text.contains("| 42 "), "{text}");
    assert!(
        text.contains("[::1]:5930") && text.contains("5931"),
        "{text}"
    );
}

#[test]
fn vnc_shows_servers_and_clients() {
    for version in VERSIONS {
        let fixture = load(version, "vnc");
        let server = &fixture.replies[0][0];
        let client_port = server["clients"][0]["service"].as_str().unwrap_or("?");
        let text = table(&fixture, plain(120));
        assert!(text.contains("VNC server default"), "{text}");
        assert!(
            text.contains(&format!("| 127.0.0.1 | {client_port} ")),
            "{text}"
        );
        for socket in server["server"].as_array().into_iter().flatten() {
            let port = socket["service"].as_str().unwrap_or("?");
            assert!(text.contains(&format!("127.0.0.1:{port} (ipv4")), "{text}");
        }
        let none = table(&load(version, "vnc-noclients"), plain(80));
        assert!(none.contains("No clients connected."), "{none}");
        let absent = table(&load(version, "vnc-absent"), plain(80));
        assert!(absent.contains("No VNC server is running."), "{absent}");
    }
}

#[test]
fn failed_calls_are_shown_plainly() {
    for version in VERSIONS {
        let fixture = load(version, "balloon-absent");
        let error = &fixture.replies[0]["error"];
        let text = table(&fixture, plain(80));
        let expected = format!(
            "Error: {} ({})\n",
            error["desc"].as_str().unwrap_or("?"),
            error["class"].as_str().unwrap_or("?")
        );
        assert_eq!(text, expected);
    }
    // The first of two calls failing still shows the second.
    let nodes = load("10.0", "block").replies[1].clone();
    let failed = json!({"error": {"class": "GenericError", "desc": "no devices today"}});
    let text = block_table(&[failed, nodes], &[("device", "disk0-file")], 100);
    assert!(
        text.starts_with("Error: no devices today (GenericError)\n"),
        "{text}"
    );
    assert!(
        text.contains("Block nodes") && text.contains("disk0-file"),
        "{text}"
    );
}

/// What identifies each item of a list reply, to find it in the table.
fn identities(renderer: &str, reply: &Value) -> Vec<String> {
    let items = reply.as_array().cloned().unwrap_or_default();
    let get = |item: &Value, path: &[&str]| {
        let mut v = item;
        for key in path {
            v = &v[*key];
        }
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    let path: &[&str] = match renderer {
        "chardev" => &["label"],
        "cpus" => &["thread-id"],
        "mice" => &["name"],
        "iothreads" => &["id"],
        "tpm" => &["id"],
        "memdev" => &["id"],
        "memory-devices" => &["data", "id"],
        "hotpluggable-cpus" => &["qom-path"],
        "block-jobs" => &["device"],
        "migrate_capabilities" => &["capability"],
        "blockstats" => &["node-name"],
        _ => return Vec::new(),
    };
    items
        .iter()
        .map(|item| get(item, path))
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn every_listed_item_is_shown() {
    let mut checked = 0;
    for fixture in fixtures() {
        let text = table(&fixture, plain(200));
        for id in identities(&fixture.renderer, &fixture.replies[0]) {
            assert!(
                text.contains(&format!(" {id} ")),
                "{}/{}: {id} missing:\n{text}",
                fixture.version,
                fixture.name
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} items checked");
}

#[test]
fn pci_shows_a_device_per_row() {
    for version in VERSIONS {
        let fixture = load(version, "pci");
        let devices = fixture.replies[0][0]["devices"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let text = table(&fixture, plain(120));
        for device in &devices {
            let address = format!(
                "| {:02x}:{:02x}.{:x} ",
                device["bus"].as_i64().unwrap_or(-1),
                device["slot"].as_i64().unwrap_or(-1),
                device["function"].as_i64().unwrap_or(-1)
            );
            let ids = format!(
                "{:04x}:{:04x}",
                device["id"]["vendor"].as_i64().unwrap_or(-1),
                device["id"]["device"].as_i64().unwrap_or(-1)
            );
            let row = text
                .lines()
                .find(|l| l.starts_with(&address))
                .unwrap_or_else(|| panic!("{address}:\n{text}"));
            assert!(row.contains(&ids), "{row}");
            let qdev = device["qdev_id"].as_str().unwrap_or_default();
            assert!(
                qdev.is_empty() || row.contains(&format!(" {qdev} ")),
                "{row}"
            );
        }
    }
}

/// `info block` with arguments: `("nodes", "")` is `-n`, `("verbose", "")`
/// is `-v`, `("device", NAME)` names a drive or node.
fn block_table(replies: &[Value], args: &[(&str, &str)], width: u16) -> String {
    use qhmp::parse::{ArgValue, Args};
    let mut parsed = Args::new();
    for (key, value) in args {
        let value = match *key {
            "device" => ArgValue::Str(value.to_string()),
            _ => ArgValue::Bool(true),
        };
        parsed.insert(*key, value);
    }
    let context = qhmp::render::table::TableContext {
        args: parsed,
        ..Default::default()
    };
    qhmp::render::table::render_with("block", replies, &context, plain(width)).unwrap_or_default()
}

#[test]
fn block_shows_drives_or_nodes_as_the_arguments_say() {
    for version in VERSIONS {
        let fixture = load(version, "block");
        let drives: Vec<&str> = fixture.replies[0]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["device"].as_str())
            .filter(|d| !d.is_empty())
            .collect();
        let nodes: Vec<&str> = fixture.replies[1]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["node-name"].as_str())
            .collect();
        assert!(!drives.is_empty() && nodes.len() >= 2, "{version}");
        // Plain `info block`: every drive with its file, no node list.
        let text = block_table(&fixture.replies, &[], 200);
        for drive in fixture.replies[0].as_array().into_iter().flatten() {
            if let Some(file) = drive["inserted"]["file"].as_str() {
                assert!(text.contains(file), "{file}:\n{text}");
            }
        }
        assert!(!text.contains("Block nodes"), "{text}");
        // `info block DRIVE`: that drive's row only.
        let one = block_table(&fixture.replies, &[("device", drives[0])], 200);
        let rows = |t: &str, name: &str| {
            t.lines()
                .filter(|l| l.starts_with(&format!("| {name} ")))
                .count()
        };
        assert_eq!(rows(&one, drives[0]), 1, "{one}");
        assert_eq!(
            one.lines().filter(|l| l.starts_with("| ")).count(),
            2,
            "{one}"
        );
        // `-n`: every node, no drives; `-n NODE`: that node only.
        let all_nodes = block_table(&fixture.replies, &[("nodes", "")], 200);
        assert!(!all_nodes.contains("Block devices"), "{all_nodes}");
        for name in &nodes {
            assert_eq!(rows(&all_nodes, name), 1, "{name}:\n{all_nodes}");
        }
        let node = block_table(
            &fixture.replies,
            &[("nodes", ""), ("device", nodes[0])],
            200,
        );
        assert_eq!(
            node.lines().filter(|l| l.starts_with("| ")).count(),
            2,
            "{node}"
        );
        // A name that is no drive: the node of that name, as QEMU does.
        let by_node = block_table(&fixture.replies, &[("device", nodes[0])], 200);
        assert!(
            by_node.contains("Block nodes") && rows(&by_node, nodes[0]) == 1,
            "{by_node}"
        );
        // `-v` adds the image details.
        let verbose = block_table(&fixture.replies, &[("verbose", "")], 200);
        assert!(
            verbose.contains("Cluster size") && !text.contains("Cluster size"),
            "{verbose}"
        );
    }
}

#[test]
fn migrate_parameters_show_every_parameter_by_its_name() {
    for version in VERSIONS {
        let fixture = load(version, "migrate_parameters");
        let text = table(&fixture, plain(120));
        for key in fixture.replies[0]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            assert!(text.contains(&format!("| {key} ")), "{key}:\n{text}");
        }
    }
}

#[test]
fn migrate_recognises_each_reply_by_its_shape() {
    let status = load("10.0", "migrate-completed").replies[0].clone();
    let caps = load("10.0", "migrate_capabilities").replies[0].clone();
    let params = load("10.0", "migrate_parameters").replies[0].clone();
    let text = render("migrate", &[status, caps, params], plain(100)).unwrap_or_default();
    for heading in [
        "Migration\n",
        "RAM\n",
        "Migration capabilities\n",
        "Migration parameters\n",
    ] {
        assert!(text.contains(heading), "{heading}:\n{text}");
    }
    assert!(text.contains("| Status     | completed"), "{text}");
}
