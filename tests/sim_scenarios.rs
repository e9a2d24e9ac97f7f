//! Behaviour over (virtual) time: guest reactions, migration progress,
//! viewers, balloon, hotplug — through QMP, with a manual clock.

mod sim_common;

use qhmp::sim::{Action, MigStatus, RunState, SimOptions, Simulator};
use serde_json::{json, Value};
use sim_common::{event_names, Raw};
use std::time::Duration;
use tokio::io::DuplexStream;

async fn setup() -> (Simulator, Raw<DuplexStream>) {
    let sim = Simulator::with_options(SimOptions::deterministic());
    let mut c = Raw::new(sim.connect());
    c.negotiate().await;
    (sim, c)
}

/// Advance the clock and collect the events it produced.
async fn advance(sim: &Simulator, c: &mut Raw<DuplexStream>, secs: f64) -> Vec<Value> {
    sim.advance(Duration::from_secs_f64(secs));
    let (events, _) = c.call(r#"{"execute":"query-name"}"#).await;
    events
}

fn ret(r: &Value) -> &Value {
    &r["return"]
}

#[tokio::test]
async fn acpi_powerdown_shuts_the_guest_down() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"cont"}"#).await;
    let (ev, _) = c.call(r#"{"execute":"system_powerdown"}"#).await;
    assert_eq!(event_names(&ev), ["POWERDOWN"]);
    let ev = advance(&sim, &mut c, 3.0).await;
    assert_eq!(event_names(&ev), ["SHUTDOWN", "STOP"]);
    assert_eq!(
        ev[0]["data"],
        json!({"guest": true, "reason": "guest-shutdown"})
    );
    assert_eq!(sim.state().machine.run_state, RunState::Shutdown);
    let (_, r) = c.call(r#"{"execute":"cont"}"#).await;
    assert_eq!(
        r["error"]["desc"],
        "Resetting the Virtual Machine is required"
    );
    c.call(r#"{"execute":"system_reset"}"#).await;
    let (ev, _) = c.call(r#"{"execute":"cont"}"#).await;
    assert_eq!(event_names(&ev), ["RESUME"]);
}

#[tokio::test]
async fn powerdown_before_boot_is_ignored_and_ctrl_alt_del_reboots() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"system_powerdown"}"#).await;
    c.call(r#"{"execute":"cont"}"#).await;
    assert!(advance(&sim, &mut c, 5.0).await.is_empty());
    let keys = r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"ctrl"},{"type":"qcode","data":"alt"},{"type":"qcode","data":"delete"}]}}"#;
    c.call(keys).await;
    let ev = advance(&sim, &mut c, 1.0).await;
    assert_eq!(
        ev[0]["data"],
        json!({"guest": true, "reason": "guest-reset"})
    );
    assert_eq!(
        sim.state().input.key_combos,
        vec![vec!["ctrl", "alt", "delete"]]
    );
}

#[tokio::test]
async fn migration_progresses_and_completes() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"events","state":true}]}}"#).await;
    c.call(r#"{"execute":"cont"}"#).await;
    let (ev, r) = c
        .call(r#"{"execute":"migrate","arguments":{"uri":"tcp:10.0.0.2:4444"}}"#)
        .await;
    assert_eq!(r, json!({"return": {}}));
    assert_eq!(ev[0]["data"], json!({"status": "setup"}));
    let ev = advance(&sim, &mut c, 1.0).await;
    assert_eq!(event_names(&ev)[..2], ["MIGRATION_PASS", "MIGRATION"]);
    let (_, r) = c.call(r#"{"execute":"query-migrate"}"#).await;
    let m = ret(&r);
    assert_eq!(m["status"], "active");
    let remaining = m["ram"]["remaining"].as_i64().expect("remaining");
    assert!(remaining > 0 && remaining < m["ram"]["total"].as_i64().unwrap_or(0));
    let (_, r) = c
        .call(r#"{"execute":"migrate","arguments":{"uri":"exec:cat"}}"#)
        .await;
    assert_eq!(
        r["error"]["desc"],
        "There's a migration process in progress"
    );
    let ev = advance(&sim, &mut c, 10.0).await;
    let names = event_names(&ev);
    let stop = names
        .iter()
        .position(|n| n == "STOP")
        .expect("VM stops for switchover");
    assert_eq!(names.last().map(String::as_str), Some("MIGRATION"));
    assert_eq!(
        ev.last().map(|e| e["data"].clone()),
        Some(json!({"status": "completed"}))
    );
    assert!(names[stop + 1..].contains(&"MIGRATION".to_string()));
    let (_, r) = c.call(r#"{"execute":"query-migrate"}"#).await;
    assert_eq!(ret(&r)["status"], "completed");
    assert_eq!(ret(&r)["ram"]["remaining"], 0);
    assert!(ret(&r)["downtime"].as_i64().is_some_and(|d| d <= 300));
    assert_eq!(sim.state().machine.run_state, RunState::Postmigrate);
    let (_, r) = c
        .call(r#"{"execute":"migrate","arguments":{"uri":"exec:cat"}}"#)
        .await;
    assert_eq!(
        r["error"]["desc"],
        "Can't migrate the vm that was paused due to previous migration"
    );
}

#[tokio::test]
async fn slow_migration_does_not_converge_until_bandwidth_rises() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"cont"}"#).await;
    c.call(r#"{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":8000000}}"#)
        .await;
    c.call(r#"{"execute":"migrate","arguments":{"uri":"unix:/run/dest.sock"}}"#)
        .await;
    advance(&sim, &mut c, 120.0).await;
    let (_, r) = c.call(r#"{"execute":"query-migrate"}"#).await;
    assert_eq!(ret(&r)["status"], "active", "dirtying outpaces 8 MB/s");
    assert!(ret(&r)["ram"]["dirty-sync-count"]
        .as_i64()
        .is_some_and(|n| n > 1));
    c.call(r#"{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":1000000000}}"#)
        .await;
    advance(&sim, &mut c, 5.0).await;
    assert_eq!(sim.state().migration.status, MigStatus::Completed);
}

#[tokio::test]
async fn migration_cancel_and_scripted_failure() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"cont"}"#).await;
    c.call(r#"{"execute":"migrate","arguments":{"uri":"exec:cat > /dev/null"}}"#)
        .await;
    advance(&sim, &mut c, 0.5).await;
    c.call(r#"{"execute":"migrate_cancel"}"#).await;
    advance(&sim, &mut c, 0.5).await;
    let (_, r) = c.call(r#"{"execute":"query-migrate"}"#).await;
    assert_eq!(ret(&r), &json!({"status": "cancelled"}));
    assert_eq!(sim.state().machine.run_state, RunState::Running);
    c.call(r#"{"execute":"migrate","arguments":{"uri":"tcp:10.0.0.2:4444"}}"#)
        .await;
    advance(&sim, &mut c, 0.5).await;
    sim.script(Action::MigrationFail(
        "Unable to write to socket: Broken pipe".into(),
    ))
    .expect("in progress");
    let (_, r) = c.call(r#"{"execute":"query-migrate"}"#).await;
    assert_eq!(
        ret(&r),
        &json!({"status": "failed", "error-desc": "Unable to write to socket: Broken pipe"})
    );
    let (_, r) = c
        .call(r#"{"execute":"migrate","arguments":{"uri":"bogus:foo"}}"#)
        .await;
    assert_eq!(r["error"]["desc"], "unknown migration protocol: bogus:foo");
}

#[tokio::test]
async fn unplug_completes_when_the_guest_acknowledges() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"device_del","arguments":{"id":"nic0"}}"#)
        .await;
    let (_, r) = c
        .call(r#"{"execute":"device_del","arguments":{"id":"nic0"}}"#)
        .await;
    assert_eq!(
        r["error"]["desc"],
        "Device nic0 is already in the process of unplug"
    );
    assert!(
        advance(&sim, &mut c, 5.0).await.is_empty(),
        "a guest that is not running cannot ack"
    );
    c.call(r#"{"execute":"cont"}"#).await;
    let ev = advance(&sim, &mut c, 2.0).await;
    let data: Vec<Value> = ev.iter().map(|e| e["data"].clone()).collect();
    assert_eq!(
        data,
        vec![
            json!({"path": "/machine/peripheral/nic0/virtio-backend"}),
            json!({"device": "nic0", "path": "/machine/peripheral/nic0"}),
        ]
    );
    c.call(
        r#"{"execute":"device_add","arguments":{"driver":"e1000","netdev":"net0","id":"nic1"}}"#,
    )
    .await;
    let (_, r) = c.call(r#"{"execute":"query-pci"}"#).await;
    let nic1 = ret(&r)[0]["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["qdev_id"] == "nic1").cloned());
    let nic1 = nic1.expect("nic1 on the bus");
    assert_eq!(nic1["slot"], 4, "first free slot");
    assert!(
        nic1["regions"][0]["address"]
            .as_i64()
            .is_some_and(|a| a > 0),
        "booted guest configures it"
    );
    // Unplugging the disk takes its drive along.
    c.call(r#"{"execute":"device_del","arguments":{"id":"virtio-disk0"}}"#)
        .await;
    advance(&sim, &mut c, 2.0).await;
    assert!(sim.state().block.drive("drive0").is_none());
}

#[tokio::test]
async fn locked_tray_opens_when_the_guest_agrees() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"cont"}"#).await;
    sim.script(Action::GuestLockTray {
        device: "ide1-cd0".into(),
        locked: true,
    })
    .expect("cdrom");
    let (ev, r) = c
        .call(r#"{"execute":"eject","arguments":{"device":"ide1-cd0"}}"#)
        .await;
    assert!(ev.is_empty());
    assert_eq!(r["error"]["desc"],
        "Device 'ide1-cd0' is locked and force was not specified, wait for tray to open and try again");
    let ev = advance(&sim, &mut c, 1.0).await;
    assert_eq!(
        ev[0]["data"],
        json!({"device": "ide1-cd0", "tray-open": true, "id": "/machine/unattached/device[5]"})
    );
    let d = sim.state().block.drive("ide1-cd0").cloned().expect("cdrom");
    assert!(d.tray_open && !d.locked && d.medium.is_some());
    // Now the medium can be swapped: tray already open, so only a close.
    let change = r#"{"execute":"blockdev-change-medium","arguments":{"device":"ide1-cd0","filename":"/var/lib/qhmp/iso/virtio-win-0.1.262.iso"}}"#;
    let (ev, r) = c.call(change).await;
    assert_eq!(r, json!({"return": {}}));
    assert_eq!(
        ev.iter()
            .map(|e| e["data"]["tray-open"].clone())
            .collect::<Vec<_>>(),
        vec![json!(false)]
    );
    let (ev, _) = c
        .call(r#"{"execute":"eject","arguments":{"device":"ide1-cd0","force":true}}"#)
        .await;
    assert_eq!(ev.len(), 1);
    let (_, r) = c
        .call(
            change
                .replace("virtio-win-0.1.262.iso", "nope.iso")
                .as_str(),
        )
        .await;
    assert_eq!(
        r["error"]["desc"],
        "Could not open '/var/lib/qhmp/iso/nope.iso': No such file or directory"
    );
}

#[tokio::test]
async fn balloon_moves_while_the_guest_runs() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"balloon","arguments":{"value":536870912}}"#)
        .await;
    assert!(
        advance(&sim, &mut c, 3.0).await.is_empty(),
        "no driver before boot"
    );
    c.call(r#"{"execute":"cont"}"#).await;
    let ev = advance(&sim, &mut c, 10.0).await;
    assert!(ev.len() >= 2, "progress reported: {ev:?}");
    assert!(ev.iter().all(|e| e["event"] == "BALLOON_CHANGE"));
    assert_eq!(
        ev.last().map(|e| e["data"].clone()),
        Some(json!({"actual": 536870912}))
    );
    let (_, r) = c.call(r#"{"execute":"query-balloon"}"#).await;
    assert_eq!(r, json!({"return": {"actual": 536870912}}));
    let (_, r) = c
        .call(r#"{"execute":"human-monitor-command","arguments":{"command-line":"info balloon"}}"#)
        .await;
    assert_eq!(ret(&r), "balloon: actual=512\r\n");
}

#[tokio::test]
async fn viewers_connect_and_leave_with_qemu_event_sequences() {
    let (sim, mut c) = setup().await;
    sim.script(Action::VncConnect {
        host: "10.10.0.7".into(),
        port: 51234,
    })
    .expect("vnc");
    sim.script(Action::SpiceConnect {
        host: "10.10.0.8".into(),
        port: 40000,
    })
    .expect("spice");
    let ev = advance(&sim, &mut c, 0.1).await;
    let names = event_names(&ev);
    assert_eq!(names[..2], ["VNC_CONNECTED", "VNC_INITIALIZED"]);
    assert_eq!(
        names[2..]
            .iter()
            .filter(|n| *n == "SPICE_INITIALIZED")
            .count(),
        4
    );
    assert_eq!(
        ev[1]["data"]["client"],
        json!({"host": "10.10.0.7", "service": "51234", "family": "ipv4", "websocket": false})
    );
    let (_, r) = c.call(r#"{"execute":"query-vnc"}"#).await;
    assert_eq!(ret(&r)["clients"][0]["service"], "51234");
    let (_, r) = c.call(r#"{"execute":"query-spice"}"#).await;
    assert_eq!(ret(&r)["channels"].as_array().map(Vec::len), Some(4));
    // With the password expired, a new viewer is turned away.
    c.call(r#"{"execute":"expire_password","arguments":{"protocol":"vnc","time":"now"}}"#)
        .await;
    sim.script(Action::VncConnect {
        host: "10.10.0.9".into(),
        port: 50000,
    })
    .expect("vnc");
    let ev = advance(&sim, &mut c, 0.1).await;
    assert_eq!(event_names(&ev), ["VNC_CONNECTED", "VNC_DISCONNECTED"]);
    let (ev, _) = c.call(r#"{"execute":"set_password","arguments":{"protocol":"spice","password":"n3w","connected":"disconnect"}}"#).await;
    assert_eq!(event_names(&ev), ["SPICE_DISCONNECTED"; 4]);
    sim.schedule(Duration::from_secs(2), Action::VncDisconnect { port: None });
    let ev = advance(&sim, &mut c, 3.0).await;
    assert_eq!(event_names(&ev), ["VNC_DISCONNECTED"]);
    assert!(sim.state().display.vnc_clients.is_empty());
}

#[tokio::test]
async fn ambient_viewers_come_and_go_by_themselves() {
    let sim = Simulator::with_options(SimOptions {
        manual_clock: true,
        ambient_clients: true,
        ..SimOptions::default()
    });
    let mut c = Raw::new(sim.connect());
    c.negotiate().await;
    let ev = advance(&sim, &mut c, 600.0).await;
    let names = event_names(&ev);
    let connects = names.iter().filter(|n| n.ends_with("_CONNECTED")).count();
    let leaves = names
        .iter()
        .filter(|n| n.ends_with("_DISCONNECTED"))
        .count();
    assert!(connects >= 3, "{names:?}");
    assert!(leaves >= connects - 1, "{names:?}");
}

#[tokio::test]
async fn blockstats_grow_only_while_running() {
    let (sim, mut c) = setup().await;
    let rd = |r: &Value| r["return"][0]["stats"]["rd_bytes"].as_i64().unwrap_or(-1);
    c.call(r#"{"execute":"cont"}"#).await;
    advance(&sim, &mut c, 2.0).await;
    let (_, a) = c.call(r#"{"execute":"query-blockstats"}"#).await;
    assert!(rd(&a) > 0);
    c.call(r#"{"execute":"stop"}"#).await;
    advance(&sim, &mut c, 2.0).await;
    let (_, b) = c.call(r#"{"execute":"query-blockstats"}"#).await;
    assert_eq!(rd(&a), rd(&b));
    let idle = |r: &Value| {
        r["return"][0]["stats"]["idle_time_ns"]
            .as_i64()
            .unwrap_or(0)
    };
    assert!(idle(&b) > idle(&a) + 1_900_000_000);
}

#[tokio::test]
async fn console_ring_and_screendump() {
    let (sim, mut c) = setup().await;
    c.call(r#"{"execute":"cont"}"#).await;
    advance(&sim, &mut c, 6.0).await;
    let (_, r) = c
        .call(r#"{"execute":"ringbuf-read","arguments":{"device":"serial0","size":65536}}"#)
        .await;
    assert!(
        ret(&r)
            .as_str()
            .is_some_and(|s| s.ends_with("sim-vm login: ")),
        "{r}"
    );
    let (_, r) = c
        .call(r#"{"execute":"ringbuf-read","arguments":{"device":"serial0","size":10}}"#)
        .await;
    assert_eq!(ret(&r), "");
    let dir = tempfile::tempdir().expect("tempdir");
    for (fmt, magic) in [
        ("ppm", &b"P6\n720 400\n255\n"[..]),
        ("png", &b"\x89PNG\r\n\x1a\n"[..]),
    ] {
        let file = dir.path().join(format!("shot.{fmt}"));
        let req = json!({"execute": "screendump", "arguments": {"filename": file, "format": fmt}});
        let (_, r) = c.call(&req.to_string()).await;
        assert_eq!(r, json!({"return": {}}));
        let bytes = std::fs::read(&file).expect("written");
        assert!(bytes.starts_with(magic), "{fmt}");
    }
    let (_, r) = c
        .call(r#"{"execute":"screendump","arguments":{"filename":"/nonexistent/dir/x.ppm"}}"#)
        .await;
    assert_eq!(
        r["error"]["desc"],
        "failed to open file '/nonexistent/dir/x.ppm': No such file or directory"
    );
}

#[tokio::test]
async fn hmp_lines_are_translated_and_guest_only_lines_say_so() {
    let (_sim, mut c) = setup().await;
    let hmp = |line: &str| {
        json!({"execute": "human-monitor-command", "arguments": {"command-line": line}}).to_string()
    };
    let (_, r) = c.call(&hmp("info status")).await;
    assert_eq!(ret(&r), "VM status: paused (prelaunch)\r\n");
    let (ev, r) = c.call(&hmp("cont")).await;
    assert_eq!(
        (event_names(&ev), ret(&r).clone()),
        (vec!["RESUME".to_string()], json!(""))
    );
    let (_, r) = c.call(&hmp("info status")).await;
    assert_eq!(ret(&r), "VM status: running\r\n");
    let (_, r) = c.call(&hmp("info version")).await;
    assert_eq!(ret(&r), "10.0.2 (qhmp simulated)\r\n");
    let (_, r) = c.call(&hmp("info mtree")).await;
    let mtree = ret(&r).as_str().unwrap_or_default();
    assert!(
        mtree.starts_with("Error: 'info mtree' is not provided by the qhmp simulator"),
        "{mtree}"
    );
    let (_, r) = c.call(&hmp("info block ide1-cd0")).await;
    assert!(
        ret(&r).as_str().is_some_and(|t| t.contains("(#block")),
        "{r}"
    );
    let (_, r) = c.call(&hmp("nosuch arg")).await;
    assert_eq!(ret(&r), "unknown command: 'nosuch'\r\n");
}

#[tokio::test]
async fn qom_tree_resolves_paths_like_qemu() {
    let (_sim, mut c) = setup().await;
    let (_, r) = c.call(r#"{"execute":"qom-get","arguments":{"path":"/machine/peripheral/nic0","property":"mac"}}"#).await;
    assert_eq!(ret(&r), "52:54:00:12:34:56");
    let (_, r) = c
        .call(r#"{"execute":"qom-get","arguments":{"path":"nic0","property":"netdev"}}"#)
        .await;
    assert_eq!(ret(&r), "net0");
    let (_, r) = c
        .call(r#"{"execute":"qom-list","arguments":{"path":"/machine/"}}"#)
        .await;
    assert!(ret(&r)
        .as_array()
        .is_some_and(|l| l.contains(&json!({"name": "peripheral", "type": "child<container>"}))));
    let (_, r) = c
        .call(r#"{"execute":"qom-list","arguments":{"path":"virtio-backend"}}"#)
        .await;
    assert_eq!(r["error"]["desc"], "Path 'virtio-backend' is ambiguous");
    let (_, r) = c
        .call(r#"{"execute":"qom-get","arguments":{"path":"/machine","property":"nosuch"}}"#)
        .await;
    assert_eq!(
        r["error"]["desc"],
        "Property 'pc-i440fx-10.0-machine.nosuch' not found"
    );
    let (_, r) = c
        .call(r#"{"execute":"qom-list","arguments":{"path":"/nosuch"}}"#)
        .await;
    assert_eq!(
        r["error"],
        json!({"class": "DeviceNotFound", "desc": "Device '/nosuch' not found"})
    );
}
