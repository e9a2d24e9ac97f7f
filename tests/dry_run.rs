//! `qhmp --dry-run`: the exact QMP request(s) each line becomes, per command
//! family, with no VM. Expected requests follow what QEMU's own HMP handlers
//! send (argument names checked against QEMU 10.0's query-qmp-schema).

use serde_json::{json, Value};
use std::process::{Command, Output};

fn qhmp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("qhmp runs")
}

/// The requests one line becomes.
fn dry(line: &str) -> Vec<Value> {
    let out = qhmp(&["--dry-run", "-c", line]);
    assert!(
        out.status.success(),
        "`{line}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("`{line}` printed non-JSON {l:?}: {e}"))
        })
        .collect()
}

fn one(line: &str) -> Value {
    let mut reqs = dry(line);
    assert_eq!(reqs.len(), 1, "`{line}` became {reqs:?}");
    reqs.remove(0)
}

fn hmp(line: &str) -> Value {
    json!({"execute": "human-monitor-command", "arguments": {"command-line": line}})
}

#[test]
fn block_family() {
    assert_eq!(
        one("block_resize disk0 10G"),
        json!({"execute": "block_resize", "arguments": {"device": "disk0", "size": 10737418240u64}})
    );
    assert_eq!(
        one("block_resize disk0 10"),
        json!({"execute": "block_resize", "arguments": {"device": "disk0", "size": 10485760}})
    );
    assert_eq!(
        one("eject -f ide1-cd0"),
        json!({"execute": "eject", "arguments": {"device": "ide1-cd0", "force": true}})
    );
    assert_eq!(
        one("change ide1-cd0 /srv/f.iso"),
        json!({"execute": "blockdev-change-medium", "arguments": {"device": "ide1-cd0", "filename": "/srv/f.iso", "force": false}})
    );
    assert_eq!(
        one("change ide1-cd0 /srv/f.iso raw read-only"),
        json!({"execute": "blockdev-change-medium",
               "arguments": {"device": "ide1-cd0", "filename": "/srv/f.iso", "format": "raw", "force": false, "read-only-mode": "read-only"}})
    );
    let throttle = one("block_set_io_throttle disk0 1000 0 0 10 0 0");
    assert_eq!(throttle["execute"], "block_set_io_throttle");
    assert_eq!(throttle["arguments"]["bps"], 1000);
    assert_eq!(throttle["arguments"]["iops"], 10);
}

#[test]
fn display_family() {
    assert_eq!(
        one("change vnc password s3cret"),
        json!({"execute": "change-vnc-password", "arguments": {"password": "********"}})
    );
    assert_eq!(
        one("set_password vnc s3cret"),
        json!({"execute": "set_password", "arguments": {"protocol": "vnc", "password": "********"}})
    );
    assert_eq!(
        one("expire_password spice +60"),
        json!({"execute": "expire_password", "arguments": {"protocol": "spice", "time": "+60"}})
    );
    assert_eq!(
        one("screendump /tmp/s.ppm"),
        json!({"execute": "screendump", "arguments": {"filename": "/tmp/s.ppm"}})
    );
}

#[test]
fn devices_family() {
    assert_eq!(
        one("device_add e1000,id=n1,netdev=u1"),
        json!({"execute": "device_add", "arguments": {"driver": "e1000", "id": "n1", "netdev": "u1"}})
    );
    assert_eq!(
        one("device_del n1"),
        json!({"execute": "device_del", "arguments": {"id": "n1"}})
    );
    assert_eq!(one("device_add help"), hmp("device_add help"));
}

#[test]
fn net_family() {
    assert_eq!(
        one("set_link n1 off"),
        json!({"execute": "set_link", "arguments": {"name": "n1", "up": false}})
    );
    assert_eq!(
        one("netdev_add user,id=u2"),
        json!({"execute": "netdev_add", "arguments": {"type": "user", "id": "u2"}})
    );
    assert_eq!(
        one("netdev_del u2"),
        json!({"execute": "netdev_del", "arguments": {"id": "u2"}})
    );
}

#[test]
fn chardev_family() {
    assert_eq!(
        one("chardev-add ringbuf,id=r2,size=1024"),
        json!({"execute": "chardev-add", "arguments": {"id": "r2", "backend": {"type": "ringbuf", "data": {"size": 1024}}}})
    );
    assert_eq!(
        one("chardev-remove r2"),
        json!({"execute": "chardev-remove", "arguments": {"id": "r2"}})
    );
    assert_eq!(
        one("ringbuf_write r1 hello"),
        json!({"execute": "ringbuf-write", "arguments": {"device": "r1", "data": "hello"}})
    );
}

#[test]
fn migration_family() {
    assert_eq!(
        one("migrate_set_capability xbzrle on"),
        json!({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "xbzrle", "state": true}]}})
    );
    assert_eq!(
        one("migrate_set_parameter downtime-limit 500"),
        json!({"execute": "migrate-set-parameters", "arguments": {"downtime-limit": 500}})
    );
    assert_eq!(
        one("migrate_set_parameter max-bandwidth 100"),
        json!({"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 104857600}})
    );
    assert_eq!(one("migrate_cancel"), json!({"execute": "migrate_cancel"}));
    assert_eq!(
        one("migrate -d unix:/tmp/m.sock")["arguments"]["uri"],
        "unix:/tmp/m.sock"
    );
}

#[test]
fn machine_family() {
    assert_eq!(one("stop"), json!({"execute": "stop"}));
    assert_eq!(one("c"), json!({"execute": "cont"}));
    assert_eq!(one("system_reset"), json!({"execute": "system_reset"}));
    assert_eq!(
        one("balloon 512"),
        json!({"execute": "balloon", "arguments": {"value": 536870912}})
    );
    assert_eq!(one("info status"), json!({"execute": "query-status"}));
    assert_eq!(one("info registers"), hmp("info registers"));
    assert_eq!(one("x/10i $pc"), hmp("x/10i $pc"));
}

#[test]
fn input_family() {
    assert_eq!(
        one("sendkey ctrl-alt-delete"),
        json!({"execute": "send-key", "arguments": {"keys": [
            {"type": "qcode", "data": "ctrl"}, {"type": "qcode", "data": "alt"}, {"type": "qcode", "data": "delete"}]}})
    );
    assert_eq!(
        one("sendkey 0x1d 200")["arguments"],
        json!({"keys": [{"type": "number", "data": 29}], "hold-time": 200})
    );
    assert_eq!(
        one("mouse_move 10 -5"),
        json!({"execute": "input-send-event", "arguments": {"events": [
            {"type": "rel", "data": {"axis": "x", "value": 10}}, {"type": "rel", "data": {"axis": "y", "value": -5}}]}})
    );
    assert_eq!(dry("mouse_move 1 1 1").len(), 2);
    assert_eq!(one("mouse_button 1")["execute"], "input-send-event");
}

#[test]
fn several_lines_and_stdin() {
    let out = qhmp(&["--dry-run", "-c", "stop", "-c", "cont"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"execute\":\"stop\"}\n{\"execute\":\"cont\"}\n"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .arg("--dry-run")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("qhmp runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"stop\n\ninfo version\n")
        .expect("write");
    let out = child.wait_with_output().expect("qhmp exits");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"execute\":\"stop\"}\n{\"execute\":\"query-version\"}\n"
    );
}

#[test]
fn a_line_that_does_not_parse_fails_with_the_spot() {
    let out = qhmp(&["--dry-run", "-c", "block_resize disk0 abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid size"), "{err}");
    assert!(err.contains('^'), "{err}");

    let out = qhmp(&["--dry-run", "-c", "info foo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command: 'info foo'"));

    let out = qhmp(&["--dry-run", "-c", "sendkey ctrl-foo"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid parameter: foo"));
}

#[test]
fn handler_checks_and_defaults_follow_qemu() {
    // HMP passes -d DISPLAY to QMP for VNC only.
    assert_eq!(
        one("set_password spice pw -d vnc0"),
        json!({"execute": "set_password", "arguments": {"protocol": "spice", "password": "********"}})
    );
    assert_eq!(
        one("set_password vnc pw -d vnc0")["arguments"]["display"],
        "vnc0"
    );
    assert_eq!(
        one("dump-guest-memory -z -R /tmp/d 0 4096")["arguments"],
        json!({"paging": false, "protocol": "file:/tmp/d", "detach": false, "format": "kdump-raw-zlib", "begin": 0, "length": 4096})
    );
    assert_eq!(
        one("calc_dirty_rate -r 2")["arguments"],
        json!({"calc-time": 2, "mode": "dirty-ring"})
    );
    assert_eq!(
        one("nbd_server_start 127.0.0.1:10809")["arguments"],
        json!({"addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": "10809"}}})
    );
    // Without a live QEMU the announce timing is QEMU's default.
    assert_eq!(
        one("announce_self net0,net1")["arguments"],
        json!({"initial": 50, "max": 550, "rounds": 5, "step": 100, "interfaces": ["net0", "net1"]})
    );
    // Refusals QEMU's handler makes before any QMP call send nothing.
    for (line, text) in [
        ("calc_dirty_rate 0", "Incorrect period length specified!"),
        (
            "dump-guest-memory -z -l /tmp/d",
            "only one of '-z|-l|-s|-w' can be set",
        ),
        ("set_password foo pw", "invalid parameter value: foo"),
        (
            "nbd_server_start -w 127.0.0.1:1",
            "-w only valid together with -a",
        ),
    ] {
        let out = qhmp(&["--dry-run", "-c", line]);
        assert_eq!(out.status.code(), Some(1), "{line}");
        assert!(
            out.stdout.is_empty(),
            "{line} sent {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(text),
            "{line}"
        );
    }
}

/// Runs qhmp with `stdin` as standard input.
fn qhmp_with_input(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("qhmp runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write");
    drop(input);
    child.wait_with_output().expect("qhmp exits")
}

#[test]
fn cpu_selection_reaches_every_line_qemu_runs() {
    let out = qhmp(&[
        "--dry-run",
        "-c",
        "info registers",
        "-c",
        "cpu 1",
        "-c",
        "info registers",
        "-c",
        "x/2i $pc",
        "-c",
        "info status",
        "-c",
        "memsave 0 4096 \"/tmp/m\"",
    ]);
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(
        lines,
        [
            hmp("info registers"),
            json!({"execute": "human-monitor-command", "arguments": {"command-line": "info registers", "cpu-index": 1}}),
            json!({"execute": "human-monitor-command", "arguments": {"command-line": "x/2i $pc", "cpu-index": 1}}),
            json!({"execute": "query-status"}),
            json!({"execute": "memsave", "arguments": {"val": 0, "size": 4096, "filename": "/tmp/m", "cpu-index": 1}}),
        ]
    );
}

#[test]
fn prompted_password_comes_from_stdin_and_is_masked() {
    let out = qhmp_with_input(
        &["--dry-run", "--password-stdin", "-c", "change vnc password"],
        "Zebra-42\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        r#"{"execute":"change-vnc-password","arguments":{"password":"********"}}"#
    );
    assert!(!text.contains("Zebra"));
    // Without a password QEMU's prompt cannot be answered: its own words.
    let out = qhmp(&["--dry-run", "-c", "change vnc password"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("password prompting"), "{err}");
    assert!(err.contains("with --password-stdin"), "{err}");
    // The lines must come from -c then.
    let out = qhmp_with_input(&["--password-stdin"], "pw\ninfo status\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin needs"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompted_password_is_set_exactly() {
    use qhmp::sim::{SimOptions, Simulator};
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("sim.sock");
    let sim = Simulator::with_options(SimOptions::deterministic());
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    let serving = sim.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let target = format!("unix:{}", socket.display());
    let out = tokio::task::spawn_blocking(move || {
        qhmp_with_input(
            &[
                "--connect",
                &target,
                "--password-stdin",
                "-c",
                "change vnc password",
            ],
            "a \"quoted\" \\secret\n",
        )
    })
    .await
    .expect("qhmp");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set = sim.with_state(|st| st.display.vnc_password.value.clone());
    assert_eq!(set.as_deref(), Some("a \"quoted\" \\secret"));
}

#[test]
fn options_a_subcommand_does_not_use_are_refused() {
    for (args, word) in [
        (
            &[
                "train",
                "--check",
                "--connect",
                "unix:/nonexistent",
                "pause",
            ][..],
            "--connect",
        ),
        (
            &["--connect", "unix:/nonexistent", "train", "pause"][..],
            "--connect",
        ),
        (&["train", "--format", "json"][..], "--format"),
        (
            &[
                "sim",
                "--listen",
                "unix:/nonexistent/s",
                "--connect",
                "unix:/x",
            ][..],
            "--connect",
        ),
        (
            &[
                "proxy",
                "--upstream",
                "unix:/a",
                "--listen",
                "unix:/b",
                "--connect",
                "unix:/c",
            ][..],
            "--connect",
        ),
        (&["-c", "info status", "train", "pause"][..], "-c/--command"),
        (&["--dry-run", "events"][..], "--dry-run"),
    ] {
        let out = qhmp(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{word} does not apply to 'qhmp ")),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
