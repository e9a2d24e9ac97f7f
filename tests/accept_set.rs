//! qhmp's accept set is QEMU's: lines around the edges of sizes, integers,
//! booleans and option keys are run by qhmp and by native QEMU, and both the
//! text and the resulting state must agree; and no line QEMU refuses changes
//! anything when sent through qhmp.

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use support::product::{agrees, native, product_text, run_line_on};
use support::{Fixture, VERSIONS};

/// State a refused line must leave alone.
fn state(fx: &Fixture) -> Value {
    let names = |path: &str| {
        let mut list: Vec<String> = fx
            .qmp("qom-list", json!({ "path": path }))
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        list.sort();
        list
    };
    json!({
        "migration": fx.qmp("query-migrate-parameters", json!({})),
        "capabilities": fx.qmp("query-migrate-capabilities", json!({})),
        "chardevs": fx.qmp("query-chardev", json!({})),
        "objects": names("/objects"),
        "peripherals": names("/machine/peripheral"),
        "network": native(fx, "info network"),
        "balloon": fx.qmp("query-balloon", json!({})),
        "block": native(fx, "info block"),
    })
}

/// Lines that QEMU refuses, across commands and argument types.
fn refused_lines() -> Vec<String> {
    let mut lines = Vec::new();
    let sizes = [
        "-1",
        "-0",
        "10Q",
        "1.5.5",
        "99999999999999999999",
        "0x",
        "1e3",
        "k",
        "",
    ];
    for param in [
        "max-bandwidth",
        "xbzrle-cache-size",
        "downtime-limit",
        "max-postcopy-bandwidth",
    ] {
        for v in sizes {
            lines.push(format!("migrate_set_parameter {param} {v}"));
        }
    }
    for (param, v) in [
        ("cpu-throttle-initial", "-5"),
        ("cpu-throttle-initial", "300"),
        ("multifd-channels", "256"),
        ("multifd-channels", "-1"),
        ("cpu-throttle-tailslow", "maybe"),
        ("cpu-throttle-tailslow", "2"),
        ("announce-initial", "-1"),
        ("nosuch", "1"),
        ("block-bitmap-mapping", "[]"),
        ("multifd-compression", "nosuch"),
    ] {
        lines.push(format!("migrate_set_parameter {param} {v}"));
    }
    for size in [
        "-1",
        "1Q",
        "x",
        "0",
        "-0x10",
        "1.5.5",
        "99999999999999999999",
    ] {
        lines.push(format!("object_add memory-backend-ram,id=sw1,size={size}"));
    }
    lines.extend(
        [
            "object_add memory-backend-ram,id=sw2,size=1M,share=maybe",
            "object_add memory-backend-ram,id=sw3,size=1M,nosuch=1",
            "object_add memory-backend-ram,id=1bad,size=1M",
            "object_add nosuch-type,id=sw4",
            "netdev_add user,id=sw5,nosuch=1",
            "netdev_add user,id=sw6,ipv4=maybe",
            "netdev_add user,id=sw7,hostfwd=nonsense",
            "netdev_add nosuch,id=sw8",
            "netdev_add user,id=net0",
            "device_add usb-mouse,id=1bad",
            "device_add e1000,id=sw9,bootindex=x",
            "device_add e1000,id=sw10,nosuch=1",
            "device_add virtio-balloon-pci,id=sw11,deflate-on-oom=maybe",
            "device_add nosuch-device,id=sw12",
            "chardev-add null,id=null0",
            "chardev-add nosuch,id=sw13",
            "chardev-add ringbuf,id=sw14,size=-1",
            "balloon -1",
            "balloon 99999999999999999999",
            "block_resize disk0 1.5.5",
            "block_resize disk0 0x",
            "block_set_io_throttle disk0 -1 0 0 0 0 0",
            "block_set_io_throttle disk0 1x 0 0 0 0 0",
            "block_set_io_throttle disk0 99999999999999999999 0 0 0 0 0",
            "migrate_set_capability xbzrle maybe",
            "migrate_set_capability nosuch on",
            "set_link nic0 yes",
            "snapshot_blkdev disk0 /nonexistent/dir/x.qcow2 nosuchfmt",
            "balloon 0x",
            "block_resize disk0 -1",
            "block_resize disk0 10Q",
            "set_link nic0 maybe",
            "watchdog_action nosuch",
            "mouse_button x",
            "qom-set -j /machine/peripheral/nic0 x-pcie-extcap-init {bad",
            "qom-set /machine/peripheral/nic0 x-pcie-extcap-init maybe",
        ]
        .map(str::to_string),
    );
    lines
}

fn sweep(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    let mut failures = Vec::new();
    for line in refused_lines() {
        let before = state(&fx);
        let run = run_line_on(&fx, &line).expect("qhmp runs");
        let after = state(&fx);
        // QEMU's verdict, on the same QEMU afterwards: it refuses the line
        // when it prints something and changes nothing. (Releases differ:
        // QEMU 5.2's HMP reads `1e3` as a size; such lines only compare text.)
        let expected = native(&fx, &line);
        let refused = !expected.is_empty() && state(&fx) == after;
        if refused && before != after {
            failures.push(format!("{line}: state changed ({})", run.status_text()));
            continue;
        }
        let error_text = expected.starts_with("Error: ") || expected.contains("Try \"help");
        if error_text && run.code == Some(0) {
            failures.push(format!("{line}: qhmp exit code 0, QEMU refuses it"));
        }
        if !agrees(&run, &expected) {
            failures.push(format!(
                "{line}\n  QEMU: {expected:?}\n  qhmp: {:?} (stderr {:?})",
                product_text(&run),
                run.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "QEMU {version}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn refused_lines_change_nothing() {
    for version in VERSIONS {
        sweep(version);
    }
}

/// Values around the edges of HMP's integer, size and boolean readers.
fn edge_value() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just("0".to_string()),
        (1u64..300).prop_map(|n| n.to_string()),
        Just("9223372036854775807".to_string()),
        Just("9223372036854775808".to_string()),
        Just("18446744073709551616".to_string()),
        Just("010".to_string()),
        Just("0x1f".to_string()),
        Just("1.5".to_string()),
    ];
    let sign = prop_oneof![Just(""), Just(""), Just("-")];
    let suffix = prop_oneof![
        Just(""),
        Just(""),
        Just("k"),
        Just("K"),
        Just("M"),
        Just("b"),
        Just("Q"),
        Just("E"),
    ];
    let word = prop_oneof![
        Just("on".to_string()),
        Just("off".to_string()),
        Just("yes".to_string()),
        Just("y".to_string()),
        Just("maybe".to_string()),
        Just("true".to_string()),
    ];
    prop_oneof![
        4 => (sign, number, suffix).prop_map(|(s, n, x)| format!("{s}{n}{x}")),
        1 => word,
    ]
}

const PARAMETERS: &[&str] = &[
    "max-bandwidth",
    "downtime-limit",
    "xbzrle-cache-size",
    "cpu-throttle-initial",
    "multifd-channels",
    "announce-initial",
    "max-postcopy-bandwidth",
    "cpu-throttle-tailslow",
    "x-checkpoint-delay",
    "avail-switchover-bandwidth",
    "nosuch",
];

/// One generated line: qhmp's run and QEMU's must print the same and leave
/// the parameter (or the backend's size) with the same value.
fn one_case(
    fx: &Fixture,
    case: usize,
    kind: usize,
    param: &str,
    value: &str,
) -> Result<(), TestCaseError> {
    let failure = |what: String| TestCaseError::fail(format!("QEMU {}: {what}", fx.version));
    match kind {
        0 => {
            let line = format!("migrate_set_parameter {param} {value}");
            let baseline = fx.qmp("query-migrate-parameters", json!({}));
            let ours = run_line_on(fx, &line).map_err(&failure)?;
            let after_ours = fx.qmp("query-migrate-parameters", json!({}));
            if let Some(old) = baseline.get(param) {
                fx.qmp("migrate-set-parameters", json!({ param: old }));
            }
            let theirs = native(fx, &line);
            let after_theirs = fx.qmp("query-migrate-parameters", json!({}));
            if !agrees(&ours, &theirs) || after_ours != after_theirs {
                return Err(failure(format!(
                    "{line}\n  QEMU: {theirs:?} -> {:?}\n  qhmp: {:?} -> {:?}",
                    after_theirs.get(param),
                    product_text(&ours),
                    after_ours.get(param)
                )));
            }
        }
        2 => {
            // A user-mode backend with a boolean, or a key QEMU does not know.
            let key = if param == "nosuch" { "nosuch" } else { "ipv4" };
            let line = |id: &str| format!("netdev_add user,id={id},{key}={value}");
            let (q, h) = (format!("nq{case}"), format!("nh{case}"));
            let ours = run_line_on(fx, &line(&q)).map_err(&failure)?;
            let theirs = native(fx, &line(&h));
            let network = native(fx, "info network");
            let (made_q, made_h) = (network.contains(&q), network.contains(&h));
            for id in [&q, &h] {
                let _ = fx.try_qmp("netdev_del", json!({ "id": id }));
            }
            if product_text(&ours).replace(&q, "ID") != theirs.replace(&h, "ID") || made_q != made_h
            {
                return Err(failure(format!(
                    "{}\n  QEMU: {theirs:?} created {made_h}\n  qhmp: {:?} created {made_q}",
                    line(&q),
                    product_text(&ours)
                )));
            }
        }
        _ => {
            // Sizes of a RAM backend: only small ones, the host must not swap.
            if value.contains(['E', 'Q']) || value.len() > 8 {
                return Ok(());
            }
            let line = |id: &str| format!("object_add memory-backend-ram,id={id},size={value}");
            let (q, h) = (format!("pq{case}"), format!("ph{case}"));
            let ours = run_line_on(fx, &line(&q)).map_err(&failure)?;
            let theirs = native(fx, &line(&h));
            let size = |id: &str| {
                fx.try_qmp(
                    "qom-get",
                    json!({"path": format!("/objects/{id}"), "property": "size"}),
                )
                .ok()
                .and_then(Result::ok)
            };
            let (size_q, size_h) = (size(&q), size(&h));
            for id in [&q, &h] {
                let _ = fx.try_qmp("object-del", json!({ "id": id }));
            }
            if product_text(&ours).replace(&q, "ID") != theirs.replace(&h, "ID") || size_q != size_h
            {
                return Err(failure(format!(
                    "{}\n  QEMU: {theirs:?} size {size_h:?}\n  qhmp: {:?} size {size_q:?}",
                    line(&q),
                    product_text(&ours)
                )));
            }
        }
    }
    Ok(())
}

fn generated_lines_match(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    // Modest: CI runs five QEMU versions on two CPUs.
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let counter = std::cell::Cell::new(0usize);
    // Half the cases set a migration parameter, the rest create backends.
    let strategy = (0usize..6, prop::sample::select(PARAMETERS), edge_value());
    let result = runner.run(&strategy, |(kind, param, value)| {
        counter.set(counter.get() + 1);
        one_case(
            &fx,
            counter.get(),
            kind.saturating_sub(2).min(2),
            param,
            &value,
        )
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn generated_edge_lines_match_qemu() {
    for version in VERSIONS {
        generated_lines_match(version);
    }
}

/// A caller that allows a line's QMP but not QEMU's own HMP (a proxy
/// policy denying `human-monitor-command`): a value only QEMU's HMP can read
/// is refused before anything is sent, never guessed over QMP.
fn no_hmp_no_guess(version: &str) {
    use qhmp::monitor::{Monitor, MonitorError};
    use qhmp::translate::Plan;
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let target = fx.spare_connect_arg().parse().expect("a target");
    let before = fx.qmp("query-migrate-parameters", json!({}));
    runtime.block_on(async {
        let mut monitor = Monitor::connect(&target, Default::default())
            .await
            .expect("connects");
        let no_hmp = |planned: &qhmp::monitor::LinePlan<'_>| match planned.plan {
            Plan::Hmp { .. } => Err("no HMP here".to_string()),
            _ => Ok(()),
        };
        for line in [
            "migrate_set_parameter max-bandwidth -1",
            "migrate_set_parameter max-bandwidth 1.5",
            "object_add memory-backend-ram,id=pol1,size=-1",
        ] {
            let outcome = monitor
                .human_monitor_command_checked(line, None, no_hmp)
                .await;
            assert!(
                matches!(outcome, Err(MonitorError::Refused(_))),
                "QEMU {version}: {line}: {outcome:?}"
            );
        }
        let plain = monitor
            .human_monitor_command_checked("migrate_set_parameter max-bandwidth 3", None, no_hmp)
            .await
            .expect("plain values go over QMP");
        assert_eq!(plain.text, "", "QEMU {version}");
    });
    let after = fx.qmp("query-migrate-parameters", json!({}));
    assert_eq!(after["max-bandwidth"], json!(3 << 20), "QEMU {version}");
    let mut expected = before;
    expected["max-bandwidth"] = json!(3 << 20);
    assert_eq!(after, expected, "QEMU {version}");
    let objects = fx.qmp("qom-list", json!({"path": "/objects"}));
    assert!(!objects.to_string().contains("pol1"), "QEMU {version}");
}

#[test]
fn values_only_hmp_reads_are_refused_when_hmp_is_not_allowed() {
    for version in VERSIONS {
        no_hmp_no_guess(version);
    }
}
