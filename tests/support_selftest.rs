//! Proves the live-QEMU harness itself: the fixture starts on both QEMU lines,
//! native HMP shows every configured part, and the VNC/SPICE clients really
//! connect (QEMU lists them) and really leave when dropped.

mod support;

use std::time::{Duration, Instant};
use support::spice::{SpiceSession, CHANNEL_INPUTS};
use support::text::{crlf_to_lf, line_diff, mask_number_after};
use support::{ids, Fixture};

/// Native `info` text with LF line ends.
fn info(fx: &Fixture, what: &str) -> String {
    crlf_to_lf(&fx.hmp(&format!("info {what}")))
}

fn assert_contains(text: &str, needle: &str, what: &str) {
    assert!(
        text.contains(needle),
        "{what}: expected {needle:?} in:\n{text}"
    );
}

/// Polls native `info what` until `done` holds (QEMU notices disconnects
/// asynchronously); bounded.
fn wait_for_info(fx: &Fixture, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = info(fx, what);
        if done(&text) || Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_static_parts(fx: &Fixture) {
    assert_eq!(info(fx, "name"), format!("{}\n", ids::VM_NAME));
    assert_eq!(info(fx, "uuid"), format!("{}\n", ids::VM_UUID));
    assert_eq!(info(fx, "status"), "VM status: paused (prelaunch)\n");

    let block = info(fx, "block");
    let disk = fx.disk_image.display();
    assert_contains(&block, &format!("{} (#block", ids::DRIVE), "info block");
    assert_contains(&block, &format!("): {disk} (qcow2)\n"), "info block");
    let backing = format!(
        "    Backing file:     {} (chain depth: 1)\n",
        fx.backing_image.display()
    );
    assert_contains(&block, &backing, "info block");
    assert_contains(&block, &format!("{} (#block", ids::CDROM), "info block");
    assert_contains(
        &block,
        &format!("): {} (raw, read-only)\n", fx.cdrom_image.display()),
        "info block",
    );
    assert_contains(
        &block,
        "    Removable device: not locked, tray closed\n",
        "info block",
    );

    let chardev = info(fx, "chardev");
    for line in [
        format!("{}: filename=ringbuf\n", ids::RINGBUF),
        format!("{}: filename=null\n", ids::NULL_CHARDEV),
        format!(
            "{}: filename=disconnected:unix:{},server=on\n",
            ids::SOCKET_CHARDEV,
            fx.chardev_socket.display()
        ),
        format!(
            "compat_monitor0: filename=unix:{},server=on\n",
            fx.qmp_socket.display()
        ),
        format!(
            "compat_monitor1: filename=disconnected:unix:{},server=on\n",
            fx.spare_qmp_socket.display()
        ),
    ] {
        assert_contains(&chardev, &line, "info chardev");
    }

    let network = info(fx, "network");
    let nic = format!(
        "{}: index=0,type=nic,model=e1000,macaddr={}\n",
        ids::NIC,
        ids::NIC_MAC
    );
    assert_contains(&network, &nic, "info network");
    assert_contains(
        &network,
        &format!(" \\ {}: index=0,type=user,", ids::NETDEV),
        "info network",
    );

    // 128 MiB of RAM plus the 64 MiB DIMM.
    assert_eq!(info(fx, "balloon"), "balloon: actual=192\n");
    assert_contains(
        &info(fx, "mice"),
        "QEMU HID Tablet (absolute)\n",
        "info mice",
    );
    assert_contains(
        &info(fx, "usb"),
        &format!("Product QEMU USB Tablet, ID: {}\n", ids::TABLET),
        "info usb",
    );
    assert_contains(
        &info(fx, "iothreads"),
        &format!("{}:\n  thread_id=", ids::IOTHREAD),
        "info iothreads",
    );
    assert_contains(
        &info(fx, "memdev"),
        &format!("memory backend: {}\n  size:  67108864\n", ids::MEMDEV),
        "info memdev",
    );
    assert_contains(
        &info(fx, "memory-devices"),
        &format!("\"{}\"\n", ids::DIMM),
        "info memory-devices",
    );
    assert_contains(
        &info(fx, "virtio"),
        &format!("{} [virtio-balloon]\n", ids::BALLOON_VIRTIO_PATH),
        "info virtio",
    );

    // The spare socket is a second, independent monitor.
    assert_eq!(fx.hmp_on_spare("info version"), fx.hmp("info version"));
}

fn check_vnc_client(fx: &Fixture) {
    let before = info(fx, "vnc");
    assert_contains(
        &before,
        &format!("  Server: 127.0.0.1:{} (ipv4)\n", fx.vnc_port),
        "info vnc",
    );
    assert!(
        !before.contains("Client:"),
        "no VNC client yet, but:\n{before}"
    );

    let client = fx.vnc_client();
    let port = client.local_addr.port();
    let expected = format!("  Client: 127.0.0.1:{port} (ipv4)\n");
    let with_client = wait_for_info(fx, "vnc", |t| t.contains(&expected));
    assert_contains(&with_client, &expected, "info vnc with a client");

    drop(client);
    let after = wait_for_info(fx, "vnc", |t| !t.contains("Client:"));
    assert!(
        !after.contains("Client:"),
        "VNC client still listed after drop:\n{after}"
    );
}

fn check_spice_sessions(fx: &Fixture) {
    assert_contains(&info(fx, "spice"), "Channels: none\n", "info spice");

    let mut first = fx.spice_session();
    first
        .open_channel(CHANNEL_INPUTS, 0)
        .expect("inputs channel");
    let second = SpiceSession::connect(fx.spice_port).expect("second SPICE session");
    assert_ne!(first.session_id, second.session_id, "two sessions, two ids");

    let channel = |port: u16, session: i32, kind: &str| {
        format!("     address: 127.0.0.1:{port}\n     session: {session}\n     channel: {kind}\n")
    };
    let expected = [
        channel(
            first.main.local_addr.port(),
            first.session_id_as_printed(),
            "1:0",
        ) + "     channel name: main\n",
        channel(
            first.channels[0].local_addr.port(),
            first.session_id_as_printed(),
            "3:0",
        ) + "     channel name: inputs\n",
        channel(
            second.main.local_addr.port(),
            second.session_id_as_printed(),
            "1:0",
        ),
    ];
    let listed = wait_for_info(fx, "spice", |t| expected.iter().all(|e| t.contains(e)));
    for entry in &expected {
        assert_contains(&listed, entry, "info spice with two sessions");
    }

    drop(first);
    drop(second);
    let after = wait_for_info(fx, "spice", |t| t.contains("Channels: none"));
    assert_contains(
        &after,
        "Channels: none\n",
        "info spice after the clients left",
    );
}

fn check_teardown(fx: Fixture) {
    let (pid, dir) = (fx.pid(), fx.dir().to_path_buf());
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(fx);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "QEMU {pid} survived drop"
    );
    assert!(!dir.exists(), "temp dir {} survived drop", dir.display());
}

fn selftest(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    check_static_parts(&fx);
    check_vnc_client(&fx);
    check_spice_sessions(&fx);
    check_teardown(fx);
}

#[test]
fn fixture_on_qemu_7_2() {
    selftest("7.2");
}

#[test]
fn fixture_on_qemu_10_0() {
    selftest("10.0");
}

#[test]
fn ringbuf_bytes_reach_qemu_unchanged() {
    let Some(fx) = Fixture::start("10.0") else {
        return;
    };
    fx.ringbuf_write_bytes(ids::RINGBUF, b"a\x01b\\c");
    let read = fx.qmp(
        "ringbuf-read",
        serde_json::json!({"device": ids::RINGBUF, "size": 100, "format": "base64"}),
    );
    assert_eq!(read, "YQFiXGM=");
}

#[test]
fn sha1_and_modpow_match_known_values() {
    use support::spice_ticket::{mod_pow_for_test, sha1};
    let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        hex(sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    let long = vec![b'a'; 1_000];
    assert_eq!(hex(sha1(&long)), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    assert_eq!(mod_pow_for_test(4, 13, 497), 445);
    for (base, modulus) in [(7, 1_000_000_007), (123_456_789, 0xffff_ffff_ffff_ffc5)] {
        assert_eq!(
            mod_pow_for_test(base, 65537, modulus),
            expected_pow(base, 65537, modulus)
        );
    }
}

/// Plain u128 square-and-multiply, to cross-check the limb arithmetic.
fn expected_pow(base: u64, mut exponent: u64, modulus: u64) -> u64 {
    let (mut result, mut b, m) = (
        1u128,
        u128::from(base) % u128::from(modulus),
        u128::from(modulus),
    );
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = result * b % m;
        }
        b = b * b % m;
        exponent >>= 1;
    }
    result as u64
}

#[test]
fn text_helpers_mask_and_diff() {
    assert_eq!(
        mask_number_after("a thread_id=123\nb thread_id=9\n", "thread_id="),
        "a thread_id=*\nb thread_id=*\n"
    );
    assert_eq!(
        mask_number_after("x (#block123): y", "#block"),
        "x (#block*): y"
    );
    assert_eq!(line_diff("a\nb\n", "a\nb\n"), "");
    let diff = line_diff("a\nb\nc\n", "a\nB\nc\n");
    assert!(diff.contains("- b\n") && diff.contains("+ B\n"), "{diff}");
    let diff = line_diff("x \n", "x\n");
    assert!(diff.contains("[trailing blank]"), "{diff}");
}
