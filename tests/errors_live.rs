//! Lines from issue 10, each run by native QEMU (`human-monitor-command`) and
//! by `qhmp --format classic` on the same fixture: messages, side lines and
//! help listings must be QEMU's, byte for byte.
//!
//! Lines QEMU refuses change nothing, so both sides run them on one QEMU,
//! native first. Lines QEMU carries out run with a different id per side
//! (qhmp first), and their texts are compared with the ids and pty numbers
//! masked.

mod support;

use support::product::{agrees, native, product_text, run_line_on};
use support::{Fixture, VERSIONS};

/// A QEMU module loader notice printed once per process by whichever side
/// lists devices first: not part of either command's answer.
fn without_module_notes(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("failed to open module"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn mask_pty(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/dev/pts/") {
        out.push_str(&rest[..i + 9]);
        rest = rest[i + 9..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

/// Lines QEMU refuses (on 7.2 and 10.0; on other versions the comparison
/// holds whatever QEMU answers).
const REFUSED: &[&str] = &[
    "migrate_set_parameter max-bandwidth -1",
    "migrate_set_parameter max-bandwidth 10Q",
    "migrate_set_parameter nosuch 1",
    "migrate_set_parameter compress-level 10",
    "migrate_set_parameter block-bitmap-mapping x",
    "migrate_set_parameter downtime-limit -1",
    "migrate_set_parameter cpu-throttle-tailslow maybe",
    "netdev_add user,id=x,nosuch=1",
    "netdev_add user,id=net0",
    "netdev_add user,id=n4,ipv4=maybe",
    "chardev-add null,id=null0",
    "object_add memory-backend-ram,id=m,size=1Q",
    "object_add memory-backend-ram,id=m2,size=-1",
    "object_add memory-backend-ram,id=m3,size=1M,share=maybe",
    "qom-set -j /machine/peripheral/nic0 x-pcie-extcap-init {bad",
    "watchdog_action nosuch",
    "set_password vnc secret",
    "set_password vnc secret -d nosuch",
    "change vnc password",
    "change vnc password secret",
    "device_add usb-mouse,id=1bad",
    "device_add usb-mouse,nosuch=1",
    "device_add e1000,id=e2,bootindex=x",
];

fn refused_lines_match(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    let shot = fx.dir().join("shot.bmp");
    let screendump = format!("screendump {} -f bmp", shot.display());
    let mut failures = Vec::new();
    for line in REFUSED.iter().copied().chain([screendump.as_str()]) {
        let expected = native(&fx, line);
        let run = run_line_on(&fx, line).expect("qhmp runs");
        let actual = product_text(&run);
        if !agrees(&run, &expected) {
            failures.push(format!(
                "{line}\n  QEMU: {expected:?}\n  qhmp: {actual:?} (stderr {:?})",
                run.stderr
            ));
        }
        // QEMU 5.2 words some refusals without "Error: " (`Unknown watchdog
        // action`); those only compare text.
        let error_text = expected.starts_with("Error: ") || expected.contains("Try \"help");
        if expected.is_empty() || (error_text && run.code == Some(0)) {
            failures.push(format!("{line}: expected a refusal from both sides"));
        }
    }
    assert!(
        failures.is_empty(),
        "QEMU {version}:\n{}",
        failures.join("\n")
    );
}

/// A bad option string: QEMU's monitor shows only the `Try` line; qhmp's
/// first line says why (QEMU writes that to its stderr).
fn bad_id_names_its_cause(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    let run = run_line_on(&fx, "device_add usb-mouse,id=1bad").expect("qhmp runs");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first, "qhmp: Parameter 'id' expects an identifier",
        "{version}"
    );
}

/// Lines QEMU carries out: (qhmp's line, QEMU's line); ids differ per side.
const ACCEPTED: &[(&str, &str)] = &[
    (
        "netdev_add user,id=qfwd1,hostfwd=tcp:127.0.0.1:0-:22",
        "netdev_add user,id=hfwd1,hostfwd=tcp:127.0.0.1:0-:22",
    ),
    (
        "netdev_add user,id=qfwd2,hostfwd=tcp:127.0.0.1:0-:22,hostfwd=tcp:127.0.0.1:0-:23",
        "netdev_add user,id=hfwd2,hostfwd=tcp:127.0.0.1:0-:22,hostfwd=tcp:127.0.0.1:0-:23",
    ),
    (
        "netdev_add user,id=qv4,ipv4=on",
        "netdev_add user,id=hv4,ipv4=on",
    ),
    ("mouse_move 10 20", "mouse_move 10 20"),
    ("mouse_move 10 20 1", "mouse_move 10 20 1"),
    ("mouse_button 1", "mouse_button 1"),
    ("mouse_button 0", "mouse_button 0"),
    ("chardev-add pty,id=qpty", "chardev-add pty,id=hpty"),
    (
        "object_add memory-backend-ram,id=qm,size=1M",
        "object_add memory-backend-ram,id=hm,size=1M",
    ),
];

/// Help listings: QEMU's own text.
const HELP: &[&str] = &[
    "device_add help",
    "device_add usb-mouse,help",
    "device_add e1000,help",
    "object_add help",
    "object_add memory-backend-ram,help",
    "netdev_add help",
    "chardev-add help",
];

fn accepted_lines_match(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    let mut failures = Vec::new();
    for (ours, theirs) in ACCEPTED {
        let run = run_line_on(&fx, ours).expect("qhmp runs");
        let expected = native(&fx, theirs);
        let actual = product_text(&run);
        let unify = |t: &str| mask_pty(&t.replace("qpty", "ID").replace("hpty", "ID"));
        if unify(&actual) != unify(&expected) || run.code != Some(0) {
            failures.push(format!(
                "{ours}\n  QEMU: {expected:?}\n  qhmp: {actual:?} ({})",
                run.status_text()
            ));
        }
    }
    // Both backends exist, with QEMU's types and both forwarding rules.
    let netdevs = native(&fx, "info network");
    for id in ["qfwd1", "qfwd2", "qv4"] {
        assert!(
            netdevs.contains(id),
            "QEMU {version}: {id} missing:\n{netdevs}"
        );
    }
    let usernet = native(&fx, "info usernet");
    let rules = |hub: &str| {
        usernet
            .split("Hub ")
            .filter(|b| b.contains(hub))
            .map(|b| b.matches("HOST_FORWARD").count())
            .sum::<usize>()
    };
    assert_eq!(rules("qfwd2"), rules("hfwd2"), "QEMU {version}:\n{usernet}");
    for line in HELP {
        let run = run_line_on(&fx, line).expect("qhmp runs");
        let expected = without_module_notes(&native(&fx, line));
        let actual = without_module_notes(&product_text(&run));
        if actual != expected || expected.is_empty() {
            failures.push(format!(
                "{line}\n  QEMU: {} lines\n  qhmp: {} lines: {:?}",
                expected.lines().count(),
                actual.lines().count(),
                actual.chars().take(200).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "QEMU {version}:\n{}",
        failures.join("\n")
    );
}

/// `migrate` without `-d`: QEMU's HMP continues detached and says so (up
/// to 10.0; 11.1 says nothing). qhmp on one fixture, QEMU on another.
fn synchronous_migrate_note(version: &str) {
    let Some(ours) = Fixture::start(version) else {
        return;
    };
    let theirs = Fixture::launch(version);
    let line = "migrate \"exec:cat > /dev/null\"";
    let run = run_line_on(&ours, line).expect("qhmp runs");
    let expected = native(&theirs, line);
    assert_eq!(run.stdout, expected, "QEMU {version}: {}", run.stderr);
    assert_eq!(run.code, Some(0), "QEMU {version}: {}", run.stderr);
    let status = ours.qmp("query-migrate", serde_json::json!({}));
    assert!(status.get("status").is_some(), "QEMU {version}: {status}");
}

#[test]
fn refused_lines_print_qemus_messages() {
    for version in VERSIONS {
        refused_lines_match(version);
        bad_id_names_its_cause(version);
    }
}

#[test]
fn accepted_lines_and_help_forms_match_qemu() {
    for version in VERSIONS {
        accepted_lines_match(version);
    }
}

#[test]
fn migrate_without_detach_prints_qemus_note() {
    for version in VERSIONS {
        synchronous_migrate_note(version);
    }
}
