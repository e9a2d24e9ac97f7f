//! Error fidelity: the same failing requests go to a live QEMU 10.0 set up
//! like the simulated VM and to the simulator; class and text must agree
//! (and the few successes in between must succeed in both).

mod sim_common;

use qhmp::sim::{Action, HostImage, SimOptions, Simulator};
use serde_json::{json, Value};
use sim_common::qemu::RealQemu;

/// Requests that fail the same way in both (none changes any state).
fn cases() -> Vec<(&'static str, Value)> {
    let thr = |extra: Value| {
        let mut a = json!({"device": "drive0", "bps": 0, "bps_rd": 0, "bps_wr": 0,
                           "iops": 0, "iops_rd": 0, "iops_wr": 0});
        if let (Some(a), Some(e)) = (a.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        a
    };
    vec![
        ("query-status", json!({"x": 1})),
        ("nosuch-command", json!({})),
        ("eject", json!({})),
        ("eject", json!({"device": "nosuch"})),
        ("eject", json!({"device": "drive0"})),
        ("eject", json!({"id": "virtio-disk0"})),
        ("eject", json!({"id": "nosuch"})),
        ("eject", json!({"device": 1})),
        ("eject", json!({"device": "ide1-cd0", "force": "yes"})),
        ("eject", json!({"device": "ide1-cd0", "id": "x"})),
        ("blockdev-open-tray", json!({"device": "drive0"})),
        ("blockdev-close-tray", json!({"device": "drive0"})),
        (
            "blockdev-change-medium",
            json!({"device": "ide1-cd0", "filename": "/nonexistent/x.iso"}),
        ),
        (
            "blockdev-change-medium",
            json!({"device": "nosuch", "filename": "/x.iso"}),
        ),
        (
            "blockdev-change-medium",
            json!({"id": "ide1-cd0", "filename": "/x.iso"}),
        ),
        ("blockdev-change-medium", json!({"device": "ide1-cd0"})),
        ("block_resize", json!({"size": 1024})),
        ("block_resize", json!({"device": "nosuch", "size": 512})),
        ("block_resize", json!({"device": "drive0", "size": -512})),
        ("block_resize", json!({"device": "drive0", "size": "big"})),
        ("block_set_io_throttle", thr(json!({"bps": -1}))),
        (
            "block_set_io_throttle",
            thr(json!({"bps": 100, "bps_rd": 100})),
        ),
        ("block_set_io_throttle", thr(json!({"bps_max": 100}))),
        (
            "block_set_io_throttle",
            thr(json!({"bps": 200, "bps_max": 100})),
        ),
        (
            "block_set_io_throttle",
            thr(json!({"bps": 200, "iops_size": 4096})),
        ),
        (
            "block_set_io_throttle",
            json!({"device": "drive0", "bps": 1}),
        ),
        (
            "set_password",
            json!({"protocol": "vnc", "password": "x", "connected": "disconnect"}),
        ),
        (
            "set_password",
            json!({"protocol": "spice", "password": "x", "display": "default"}),
        ),
        ("set_password", json!({"protocol": "rdp", "password": "x"})),
        (
            "set_password",
            json!({"protocol": "vnc", "password": "x", "display": "nosuch"}),
        ),
        (
            "expire_password",
            json!({"protocol": "spice", "time": "bogus"}),
        ),
        (
            "expire_password",
            json!({"protocol": "vnc", "time": "+60", "display": "nosuch"}),
        ),
        ("balloon", json!({"value": 0})),
        ("balloon", json!({"value": -1})),
        ("balloon", json!({"value": 1.0})),
        ("ringbuf-write", json!({"device": "null0", "data": "x"})),
        ("ringbuf-write", json!({"device": "nosuch", "data": "x"})),
        (
            "ringbuf-write",
            json!({"device": "serial0", "data": "!!!", "format": "base64"}),
        ),
        ("ringbuf-read", json!({"device": "serial0", "size": -1})),
        (
            "ringbuf-read",
            json!({"device": "serial0", "size": 1, "format": "hex"}),
        ),
        ("set_link", json!({"name": "nosuch", "up": true})),
        ("set_link", json!({"name": "nic0"})),
        ("netdev_add", json!({"type": "user", "id": "net0"})),
        ("netdev_add", json!({"type": "user", "id": "bad id"})),
        ("netdev_add", json!({"type": "nic", "id": "n1"})),
        ("netdev_add", json!({"type": "none", "id": "n2"})),
        ("netdev_add", json!({"type": "bogus", "id": "n3"})),
        ("netdev_add", json!({"type": "user"})),
        (
            "netdev_add",
            json!({"type": "user", "id": "n4", "nosuch": 1}),
        ),
        ("netdev_del", json!({"id": "nosuch"})),
        ("netdev_del", json!({"id": "nic0"})),
        ("device_add", json!({"driver": "nosuchdrv", "id": "x"})),
        ("device_add", json!({"id": "x"})),
        ("device_add", json!({"driver": "e1000", "id": "nic0"})),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x1", "mac": "zz"}),
        ),
        (
            "device_add",
            json!({"driver": "virtio-net-pci", "id": "x2", "mac": "zz"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x3", "foo": "bar"}),
        ),
        (
            "device_add",
            json!({"driver": "virtio-net-pci", "id": "x4", "foo": "x"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x5", "bus": "nosuch"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x6", "addr": "0x2"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x7", "addr": "0"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x8", "addr": "zz"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x9", "addr": "0x40"}),
        ),
        (
            "device_add",
            json!({"driver": "virtio-balloon-pci", "id": "b2"}),
        ),
        ("device_add", json!({"driver": "VGA", "id": "vga2"})),
        (
            "device_add",
            json!({"driver": "virtio-net-pci", "id": "x10", "netdev": "nosuchnet"}),
        ),
        (
            "device_add",
            json!({"driver": "e1000", "id": "x11", "netdev": "nosuchnet"}),
        ),
        (
            "device_add",
            json!({"driver": "virtio-net-pci", "id": "x12", "netdev": "net0"}),
        ),
        ("device_del", json!({"id": "nosuch"})),
        ("device_del", json!({"id": "video0"})),
        ("device_del", json!({"id": "/machine/peripheral/video0"})),
        ("migrate", json!({})),
        ("migrate", json!({"uri": "bogus:foo"})),
        ("migrate", json!({"uri": "tcp:127.0.0.1"})),
        ("migrate", json!({"uri": "fd:nosuch"})),
        ("migrate", json!({"uri": "exec:true", "resume": true})),
        (
            "migrate-set-parameters",
            json!({"downtime-limit": 999_999_999}),
        ),
        ("migrate-set-parameters", json!({"cpu-throttle-initial": 0})),
        (
            "migrate-set-parameters",
            json!({"cpu-throttle-increment": 100}),
        ),
        ("migrate-set-parameters", json!({"max-cpu-throttle": 100})),
        ("migrate-set-parameters", json!({"multifd-channels": 0})),
        ("migrate-set-parameters", json!({"xbzrle-cache-size": 1000})),
        (
            "migrate-set-parameters",
            json!({"announce-initial": 999_999}),
        ),
        (
            "migrate-set-parameters",
            json!({"throttle-trigger-threshold": 0}),
        ),
        ("migrate-set-parameters", json!({"multifd-zlib-level": 10})),
        ("migrate-set-parameters", json!({"nosuch": 1})),
        ("migrate-set-parameters", json!({"tls-creds": 5})),
        (
            "migrate-set-capabilities",
            json!({"capabilities": [{"capability": "postcopy-ram", "state": true},
                                                            {"capability": "multifd", "state": true}]}),
        ),
        (
            "migrate-set-capabilities",
            json!({"capabilities": [{"capability": "xbzrle", "state": true},
                                                            {"capability": "multifd", "state": true}]}),
        ),
        (
            "migrate-set-capabilities",
            json!({"capabilities": [{"capability": "nosuch", "state": true}]}),
        ),
        (
            "migrate-set-capabilities",
            json!({"capabilities": [{"capability": "events"}]}),
        ),
        ("system_wakeup", json!({})),
        ("migrate-pause", json!({})),
        ("migrate-recover", json!({"uri": "tcp:127.0.0.1:1"})),
        ("yank", json!({"instances": [{"type": "migration"}]})),
        (
            "yank",
            json!({"instances": [{"type": "chardev", "id": "serial0"}]}),
        ),
        ("qom-list", json!({"path": "/nosuch"})),
        ("qom-get", json!({"path": "/machine", "property": "nosuch"})),
        (
            "qom-get",
            json!({"path": "/machine/peripheral/nic0", "property": "nosuch"}),
        ),
        ("qom-get", json!({"path": "/nosuch", "property": "type"})),
        (
            "human-monitor-command",
            json!({"command-line": "info status", "cpu-index": 5}),
        ),
        ("human-monitor-command", json!({})),
        (
            "send-key",
            json!({"keys": [{"type": "qcode", "data": "nosuchkey"}]}),
        ),
        ("send-key", json!({"keys": [{"type": "qcode"}]})),
        ("send-key", json!({"keys": [{"data": "a"}]})),
        ("send-key", json!({"keys": "a"})),
        (
            "send-key",
            json!({"keys": [{"type": "qcode", "data": "a", "x": 1}]}),
        ),
        (
            "input-send-event",
            json!({"events": [{"type": "abs", "data": {"axis": "x", "value": 10}}]}),
        ),
        (
            "input-send-event",
            json!({"events": [{"type": "rel", "data": {"axis": "z", "value": 1}}]}),
        ),
        (
            "screendump",
            json!({"filename": "/nonexistent/dir/shot.ppm"}),
        ),
        (
            "screendump",
            json!({"filename": "/nonexistent/dir/shot.ppm", "device": "nosuch"}),
        ),
        (
            "screendump",
            json!({"filename": "/tmp/x.ppm", "format": "jpeg"}),
        ),
    ]
}

/// Requests compared once both VMs run.
fn running_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("cont", json!({})),
        (
            "input-send-event",
            json!({"events": [{"type": "abs", "data": {"axis": "x", "value": 10}}]}),
        ),
        (
            "input-send-event",
            json!({"events": [{"type": "mtt", "data": {"type": "begin", "slot": 0,
            "tracking-id": 1, "axis": "x", "value": 1}}]}),
        ),
        (
            "input-send-event",
            json!({"device": "nosuch", "events": []}),
        ),
        (
            "input-send-event",
            json!({"events": [{"type": "rel", "data": {"axis": "x", "value": 1}}]}),
        ),
        ("query-status", json!({})),
        ("stop", json!({})),
        ("query-status", json!({})),
    ]
}

#[test]
fn failing_requests_fail_like_qemu() {
    let Some(mut q) = RealQemu::start() else {
        return;
    };
    let sim = Simulator::with_options(SimOptions::deterministic());
    let mut diffs = Vec::new();
    let all: Vec<_> = cases().into_iter().chain(running_cases()).collect();
    for (cmd, args) in &all {
        let real = q.execute(cmd, args);
        let mine = match sim.execute(cmd, args.clone()) {
            Ok(v) => json!({"return": v}),
            Err(e) => json!({"error": e.to_json()}),
        };
        if real != mine {
            diffs.push(format!("{cmd} {args}\n   qemu: {real}\n   sim:  {mine}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} differ:\n{}",
        diffs.len(),
        all.len(),
        diffs.join("\n")
    );
}

/// Event sequences (names and data) of state changes match QEMU's.
#[test]
fn event_sequences_match_qemu() {
    let Some(mut q) = RealQemu::start() else {
        return;
    };
    let sim = Simulator::with_options(SimOptions::deterministic());
    let iso = q.temp_path("cd.iso").display().to_string();
    sim.script(Action::AddImage(HostImage::new(
        &iso,
        "raw",
        2 << 20,
        2 << 20,
    )))
    .expect("image");
    let change = json!({"device": "ide1-cd0", "filename": iso, "format": "raw"});
    let steps: Vec<(&str, Value)> = vec![
        ("cont", json!({})),
        ("stop", json!({})),
        ("stop", json!({})),
        ("system_reset", json!({})),
        ("system_powerdown", json!({})),
        ("eject", json!({"device": "ide1-cd0"})),
        ("eject", json!({"device": "ide1-cd0"})),
        ("blockdev-close-tray", json!({"device": "ide1-cd0"})),
        (
            "blockdev-open-tray",
            json!({"id": "/machine/unattached/device[5]"}),
        ),
        ("blockdev-change-medium", change.clone()),
        ("blockdev-change-medium", change),
        ("eject", json!({"device": "ide1-cd0", "force": true})),
        ("netdev_add", json!({"type": "user", "id": "net2"})),
        (
            "device_add",
            json!({"driver": "virtio-net-pci", "netdev": "net2", "id": "nic2"}),
        ),
        ("device_add", json!({"driver": "e1000", "id": "nic3"})),
        ("device_del", json!({"id": "nic2"})),
        ("device_del", json!({"id": "nic3"})),
        ("system_reset", json!({})),
        ("query-pci", json!({})),
    ];
    let mut diffs = Vec::new();
    for (cmd, args) in &steps {
        let real = q.execute(cmd, args);
        let mine = sim.execute(cmd, args.clone()).map(|v| json!({"return": v}));
        match (&real.get("return"), mine) {
            (Some(_), Ok(_)) => {}
            (r, m) => diffs.push(format!("{cmd} {args}: qemu {r:?} sim {m:?}")),
        }
    }
    q.drain_events(std::time::Duration::from_millis(300));
    let strip = |evs: &[Value]| -> Vec<Value> {
        evs.iter()
            .map(|e| json!({"event": e["event"], "data": e.get("data")}))
            .collect()
    };
    let real = strip(&q.events);
    assert!(real.len() >= 12, "the sequence produces events: {real:?}");
    let mine = strip(&sim.state().event_log);
    if real != mine {
        diffs.push(format!(
            "events differ\n   qemu: {}\n   sim:  {}",
            serde_json::to_string(&real).unwrap_or_default(),
            serde_json::to_string(&mine).unwrap_or_default()
        ));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
