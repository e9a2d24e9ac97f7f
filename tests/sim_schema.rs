//! Faithful shapes: every command the simulator serves, and every event it
//! emits in a scripted scenario, is checked against the `query-qmp-schema`
//! of a live QEMU 10.0; the simulator's argument specs must match the
//! schema's argument types; the checker itself is validated on real
//! QEMU's replies; and error classes and texts are compared with real
//! QEMU request by request (`sim_errors` below).

mod sim_common;

use qhmp::sim::schema_check::Schema;
use qhmp::sim::{commands, Action, SimOptions, Simulator};
use serde_json::{json, Value};
use sim_common::qemu::RealQemu;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn schema_of(q: &mut RealQemu) -> Schema {
    let r = q.raw(r#"{"execute":"query-qmp-schema"}"#);
    Schema::from_json(&r["return"]).expect("schema parses")
}

/// Commands that always fail in this VM, so their return cannot be seen.
const ERROR_ONLY: &[&str] = &[
    "system_wakeup",
    "migrate-pause",
    "migrate-recover",
    // Features the simulated machine (like the real one here) lacks.
    "query-sgx",
    "query-vm-generation-id",
    "x-query-usb",
    "x-query-jit",
    "x-query-opcount",
];

/// Run a scenario touching every command; returns (command, args, reply).
fn scenario(sim: &Simulator, dir: &std::path::Path) -> Vec<(String, Value, Result<Value, String>)> {
    let mut log = Vec::new();
    let mut run = |cmd: &str, args: Value| {
        let r = sim.execute(cmd, args.clone()).map_err(|e| e.to_string());
        log.push((cmd.to_string(), args, r));
    };
    let none = || json!({});
    for q in [
        "query-cryptodev",
        "query-dirty-rate",
        "query-replay",
        "query-sev",
        "query-vcpu-dirty-limit",
        "x-query-interrupt-controllers",
        "x-query-irq",
        "x-query-numa",
        "x-query-ramblock",
        "x-query-roms",
        "x-query-virtio",
    ] {
        run(q, none());
    }
    run("trace-event-get-state", json!({"name": "qmp_*"}));
    for q in [
        "query-commands",
        "query-status",
        "query-name",
        "query-uuid",
        "query-version",
        "query-kvm",
        "query-cpus-fast",
        "query-hotpluggable-cpus",
        "query-iothreads",
        "query-memdev",
        "query-memory-size-summary",
        "query-current-machine",
        "query-target",
        "query-display-options",
        "query-dump",
        "query-tpm",
        "query-memory-devices",
        "query-block",
        "query-named-block-nodes",
        "query-blockstats",
        "query-block-jobs",
        "query-vnc",
        "query-vnc-servers",
        "query-spice",
        "query-balloon",
        "query-chardev",
        "query-chardev-backends",
        "query-pci",
        "query-migrate",
        "query-migrate-capabilities",
        "query-migrate-parameters",
        "query-yank",
        "query-mice",
    ] {
        run(q, none());
    }
    run("qmp_capabilities", none()); // outside a session: the "already done" error
    run("stop", none());
    run("cont", none());
    sim.advance(Duration::from_secs(6));
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
    for q in [
        "query-pci",
        "query-blockstats",
        "query-vnc",
        "query-vnc-servers",
        "query-spice",
    ] {
        run(q, none());
    }
    run("query-named-block-nodes", json!({"flat": true}));
    run("query-blockstats", json!({"query-nodes": true}));
    run("inject-nmi", none());
    run("system_reset", none());
    run(
        "send-key",
        json!({"keys": [{"type": "qcode", "data": "ctrl"}, {"type": "qcode", "data": "alt"},
                                    {"type": "qcode", "data": "delete"}], "hold-time": 50}),
    );
    run(
        "input-send-event",
        json!({"events": [{"type": "rel", "data": {"axis": "x", "value": 5}},
        {"type": "btn", "data": {"button": "left", "down": true}},
        {"type": "key", "data": {"key": {"type": "number", "data": 30}, "down": false}}]}),
    );
    run(
        "screendump",
        json!({"filename": dir.join("s.png"), "format": "png"}),
    );
    run(
        "human-monitor-command",
        json!({"command-line": "info status", "cpu-index": 1}),
    );
    run("eject", json!({"device": "ide1-cd0"}));
    run(
        "blockdev-close-tray",
        json!({"id": "/machine/unattached/device[5]"}),
    );
    run("blockdev-open-tray", json!({"device": "ide1-cd0"}));
    run(
        "blockdev-change-medium",
        json!({"device": "ide1-cd0",
        "filename": "/var/lib/qhmp/iso/virtio-win-0.1.262.iso", "format": "raw", "read-only-mode": "retain"}),
    );
    run(
        "block_resize",
        json!({"device": "drive0", "size": 12_884_901_888_i64}),
    );
    run(
        "block_set_io_throttle",
        json!({"device": "drive0", "bps": 10_485_760, "bps_rd": 0, "bps_wr": 0,
        "iops": 0, "iops_rd": 0, "iops_wr": 0, "bps_max": 20_971_520, "group": "slow"}),
    );
    run("query-block", none());
    run(
        "set_password",
        json!({"protocol": "vnc", "password": "s3cret", "display": "default"}),
    );
    run(
        "set_password",
        json!({"protocol": "spice", "password": "s3cret", "connected": "disconnect"}),
    );
    run("expire_password", json!({"protocol": "vnc", "time": "+60"}));
    run("change-vnc-password", json!({"password": "other"}));
    run("balloon", json!({"value": 805_306_368}));
    run(
        "ringbuf-write",
        json!({"device": "serial0", "data": "aGk=", "format": "base64"}),
    );
    run(
        "ringbuf-read",
        json!({"device": "serial0", "size": 4096, "format": "utf8"}),
    );
    run("set_link", json!({"name": "net0", "up": false}));
    run(
        "netdev_add",
        json!({"type": "user", "id": "net1", "hostfwd": [{"str": "tcp::2222-:22"}]}),
    );
    run(
        "device_add",
        json!({"driver": "virtio-net-pci", "id": "nic1", "netdev": "net1", "mac": "52:54:00:aa:bb:cc"}),
    );
    run(
        "device_add",
        json!({"driver": "virtio-rng-pci", "id": "rng0", "bus": "pci.0", "addr": "0x9"}),
    );
    run("query-pci", none());
    run("qom-list", json!({"path": "/machine/peripheral/nic1"}));
    run("qom-list", json!({"path": "/"}));
    run("qom-get", json!({"path": "/machine", "property": "smp"}));
    run("device_del", json!({"id": "nic1"}));
    run("device_del", json!({"id": "rng0"}));
    run("netdev_del", json!({"id": "net1"}));
    sim.advance(Duration::from_secs(3));
    run(
        "migrate-set-capabilities",
        json!({"capabilities": [{"capability": "events", "state": true},
        {"capability": "xbzrle", "state": true}, {"capability": "auto-converge", "state": true}]}),
    );
    run(
        "migrate-set-parameters",
        json!({"max-bandwidth": 4_000_000, "downtime-limit": 200, "tls-creds": null}),
    );
    run(
        "migrate",
        json!({"channels": [{"channel-type": "main",
        "addr": {"transport": "socket", "type": "inet", "host": "10.0.0.2", "port": "4444"}}]}),
    );
    run("query-migrate", none());
    run("query-yank", none());
    sim.advance(Duration::from_secs(30));
    run("query-migrate", none());
    run("yank", json!({"instances": [{"type": "migration"}]}));
    run("query-migrate", none());
    run(
        "migrate",
        json!({"uri": "exec:cat > /dev/null", "detach": true}),
    );
    sim.advance(Duration::from_secs(1));
    run("migrate_cancel", none());
    sim.advance(Duration::from_secs(1));
    run("query-migrate", none());
    run(
        "migrate-set-parameters",
        json!({"max-bandwidth": 1_000_000_000}),
    );
    run("migrate", json!({"uri": "file:/var/tmp/vm.state"}));
    sim.advance(Duration::from_secs(10));
    run("query-migrate", none());
    run("system_powerdown", none());
    for cmd in ERROR_ONLY {
        run(
            cmd,
            if *cmd == "migrate-recover" {
                json!({"uri": "tcp:0:4444"})
            } else {
                none()
            },
        );
    }
    run("quit", none());
    log
}

#[test]
fn simulator_matches_the_live_schema() {
    let Some(mut q) = RealQemu::start() else {
        return;
    };
    let schema = schema_of(&mut q);
    let mut problems: Vec<String> = Vec::new();

    // Every command exists in QEMU 10.0 with the same arguments and OOB flag.
    for cmd in commands::all() {
        if !schema.has_command(cmd.name) {
            problems.push(format!("{}: not a QEMU 10.0 command", cmd.name));
            continue;
        }
        if schema.allows_oob(cmd.name) != cmd.allow_oob {
            problems.push(format!("{}: allow-oob differs", cmd.name));
        }
        problems.extend(schema.check_arg_spec(cmd.name, cmd.args, cmd.open_args));
    }

    // Every successful reply of the scenario has the schema's shape.
    let sim = Simulator::with_options(SimOptions::deterministic());
    let dir = tempfile::tempdir().expect("tempdir");
    let log = scenario(&sim, dir.path());
    let mut succeeded = BTreeSet::new();
    for (cmd, args, reply) in &log {
        match reply {
            Ok(v) => {
                succeeded.insert(cmd.as_str());
                for p in schema.check_return(cmd, v) {
                    problems.push(format!("{p} (args {args})"));
                }
            }
            Err(e) if ERROR_ONLY.contains(&cmd.as_str()) || cmd == "qmp_capabilities" => {
                let _ = e;
            }
            Err(e) => problems.push(format!("{cmd} {args} failed: {e}")),
        }
    }
    for cmd in commands::all() {
        let exempt = ERROR_ONLY.contains(&cmd.name) || cmd.name == "qmp_capabilities";
        if !exempt && !succeeded.contains(cmd.name) {
            problems.push(format!("{}: not exercised by the scenario", cmd.name));
        }
    }

    // Every event emitted has the schema's shape, and the scenario covers them all.
    let events = sim.state().event_log;
    let mut seen = BTreeSet::new();
    for e in &events {
        let name = e["event"].as_str().unwrap_or("?");
        seen.insert(name.to_string());
        problems.extend(schema.check_event(name, e.get("data")));
        if e["timestamp"]["seconds"].as_u64().is_none()
            || e["timestamp"]["microseconds"].as_u64().is_none()
        {
            problems.push(format!("{name}: bad timestamp {}", e["timestamp"]));
        }
    }
    for want in [
        "STOP",
        "RESUME",
        "RESET",
        "POWERDOWN",
        "SHUTDOWN",
        "DEVICE_TRAY_MOVED",
        "DEVICE_DELETED",
        "BALLOON_CHANGE",
        "MIGRATION",
        "MIGRATION_PASS",
        "VNC_CONNECTED",
        "VNC_INITIALIZED",
        "SPICE_CONNECTED",
        "SPICE_INITIALIZED",
        "SPICE_DISCONNECTED",
    ] {
        if !seen.contains(want) {
            problems.push(format!("scenario emitted no {want}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The checker must accept real QEMU's replies and reject broken ones.
#[test]
fn checker_accepts_real_replies_and_rejects_broken_ones() {
    let Some(mut q) = RealQemu::start() else {
        return;
    };
    let schema = schema_of(&mut q);
    let mut problems = Vec::new();
    let mut replies = BTreeMap::new();
    for cmd in commands::all() {
        let no_args = cmd.args.members.iter().all(|m| m.optional)
            && cmd.name.starts_with("query-")
            && !ERROR_ONLY.contains(&cmd.name);
        if no_args {
            let r = q.execute(cmd.name, &json!({}));
            match r.get("return") {
                Some(v) => {
                    problems.extend(schema.check_return(cmd.name, v));
                    replies.insert(cmd.name, v.clone());
                }
                None => problems.push(format!("real {} failed: {r}", cmd.name)),
            }
        }
    }
    let r = q.execute("qom-list", &json!({"path": "/machine/peripheral/nic0"}));
    problems.extend(schema.check_return("qom-list", &r["return"]));
    assert!(
        problems.is_empty(),
        "checker rejects real QEMU:\n{}",
        problems.join("\n")
    );
    assert!(
        replies.len() > 25,
        "enough real replies checked: {}",
        replies.len()
    );

    let block = replies.get("query-block").cloned().expect("query-block");
    let mut broken = block.clone();
    if let Some(o) = broken[0].as_object_mut() {
        o.remove("device");
        o.insert("bogus".into(), json!(1));
    }
    broken[1]["removable"] = json!("yes");
    let found = schema.check_return("query-block", &broken).join("\n");
    for needle in [
        "required member 'device' missing",
        "unknown member 'bogus'",
        "removable: expected",
    ] {
        assert!(
            found.contains(needle),
            "checker missed {needle:?} in:\n{found}"
        );
    }
    let bad_enum = json!({"status": "sleeping", "running": false});
    assert!(!schema.check_return("query-status", &bad_enum).is_empty());
    assert!(!schema
        .check_event("SHUTDOWN", Some(&json!({"guest": true})))
        .is_empty());
    assert!(schema.check_event("STOP", None).is_empty());
}

/// The set of member paths of a value (`[]` for array elements).
fn shape(v: &Value, path: &str, out: &mut BTreeSet<String>, skip: &[&str]) {
    if skip.iter().any(|s| path.ends_with(s)) {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                shape(x, &format!("{path}.{k}"), out, skip);
            }
        }
        Value::Array(items) => {
            for x in items {
                shape(x, &format!("{path}[]"), out, skip);
            }
        }
        Value::Number(n) if n.is_f64() => {
            out.insert(format!("{path}:number"));
        }
        Value::Number(_) => {
            out.insert(format!("{path}:int"));
        }
        Value::String(_) => {
            out.insert(format!("{path}:string"));
        }
        Value::Bool(_) => {
            out.insert(format!("{path}:bool"));
        }
        Value::Null => {
            out.insert(format!("{path}:null"));
        }
    }
}

/// Same members as real QEMU (not just schema-valid) where the setups match.
#[test]
fn replies_have_the_same_members_as_real_qemu() {
    let Some(mut q) = RealQemu::start() else {
        return;
    };
    let sim = Simulator::with_options(SimOptions::deterministic());
    // The real disk is raw, the simulated one qcow2: skip image details.
    let skip = [".image", ".cluster-size"];
    let mut diffs = Vec::new();
    for cmd in [
        "query-status",
        "query-name",
        "query-version",
        "query-kvm",
        "query-cpus-fast",
        "query-hotpluggable-cpus",
        "query-iothreads",
        "query-memdev",
        "query-memory-size-summary",
        "query-current-machine",
        "query-target",
        "query-display-options",
        "query-dump",
        "query-balloon",
        "query-chardev",
        "query-mice",
        "query-block",
        "query-blockstats",
        "query-named-block-nodes",
        "query-pci",
        "query-migrate-capabilities",
        "query-migrate-parameters",
        "query-yank",
        "query-vnc-servers",
        "query-chardev-backends",
    ] {
        let real = q.execute(cmd, &json!({}));
        let mine = sim.execute(cmd, json!({})).expect("sim query");
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        shape(&real["return"], cmd, &mut a, &skip);
        shape(&mine, cmd, &mut b, &skip);
        for only in a.difference(&b) {
            diffs.push(format!("only real QEMU: {only}"));
        }
        for only in b.difference(&a) {
            diffs.push(format!("only simulator: {only}"));
        }
    }
    let real_cmds = q.execute("query-commands", &json!({}));
    let real_cmds: BTreeSet<&str> = real_cmds["return"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    for cmd in commands::all() {
        if !real_cmds.contains(cmd.name) {
            diffs.push(format!("{} is not in real query-commands", cmd.name));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The simulator playing each other release (`qhmp sim --qemu-version V`):
/// it offers only commands that release has, says it is that release, and
/// every reply and event of the scenario has that release's schema shape.
fn plays_release(version: &str) {
    use qhmp::grammar::Profile;
    let Some(mut q) = RealQemu::start_bare(version) else {
        return;
    };
    let schema = schema_of(&mut q);
    let real = q.raw(r#"{"execute":"query-version"}"#);
    let profile: Profile = version.parse().expect("a known version");
    let sim = Simulator::with_options(SimOptions {
        qemu_version: profile,
        ..SimOptions::deterministic()
    });
    let mut problems: Vec<String> = Vec::new();
    // An argument newer than the release (screendump's `format` is 7.1+) is
    // refused by both in QEMU's words.
    let probe = json!({"filename": q.temp_path("probe.ppm"), "format": "ppm"});
    let request = json!({"execute": "screendump", "arguments": probe});
    let native = q.raw(&request.to_string())["error"]["desc"].clone();
    let simulated = sim.execute("screendump", probe).err().map(|e| e.desc);
    let unexpected = |d: Option<&str>| d.is_some_and(|d| d.ends_with("is unexpected"));
    let either = unexpected(native.as_str()) || unexpected(simulated.as_deref());
    if either && native.as_str() != simulated.as_deref() {
        problems.push(format!(
            "screendump format: real {native}, simulated {simulated:?}"
        ));
    }
    drop(q);
    let claimed = sim
        .execute("query-version", json!({}))
        .expect("query-version");
    if claimed["qemu"] != real["return"]["qemu"] {
        problems.push(format!(
            "claims {}, real {}",
            claimed["qemu"], real["return"]["qemu"]
        ));
    }
    let offered = sim
        .execute("query-commands", json!({}))
        .expect("query-commands");
    for name in offered.as_array().into_iter().flatten() {
        let name = name["name"].as_str().unwrap_or_default();
        if !schema.has_command(name) {
            problems.push(format!("offers {name}, not a QEMU {version} command"));
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for (cmd, args, reply) in scenario(&sim, dir.path()) {
        let Ok(v) = reply else { continue };
        checked += 1;
        for p in schema.check_return(&cmd, &v) {
            problems.push(format!("{p} (args {args})"));
        }
    }
    for e in sim.state().event_log {
        let name = e["event"].as_str().unwrap_or("?");
        problems.extend(schema.check_event(name, e.get("data")));
    }
    assert!(checked >= 40, "only {checked} replies checked on {version}");
    assert!(
        problems.is_empty(),
        "simulated QEMU {version}: {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn simulator_plays_qemu_5_2() {
    plays_release("5.2");
}

#[test]
fn simulator_plays_qemu_7_2() {
    plays_release("7.2");
}

#[test]
fn simulator_plays_qemu_8_2() {
    plays_release("8.2");
}

#[test]
fn simulator_plays_qemu_11_1() {
    plays_release("11.1");
}
