//! `--transient` and `pve:VMID`: qhmp holds a QEMU's only QMP socket just
//! while a line runs, so another client can use it between lines; a busy
//! socket is explained (who holds it, how to share it).
//!
//! `pve:VMID` reads `$QHMP_PVE_RUN_DIR/VMID.qmp` here (the override of
//! Proxmox's /var/run/qemu-server for tests). Needs QHMP_QEMU_7 (fails
//! without it under CI=true) and tmux for the prompt.

mod fleet_support;
mod support;

use fleet_support::{qhmp, require_tmux, start_qemu, Holder, Process, Tmux};
use std::path::PathBuf;
use std::time::Duration;

struct Rig {
    dir: tempfile::TempDir,
    _vm: Process,
}

impl Rig {
    fn new() -> Option<Rig> {
        let qemu = support::require_qemu("7.2")?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("pve")).expect("mkdir");
        let vm = start_qemu(&qemu, &dir.path().join("pve/100.qmp"));
        Some(Rig { dir, _vm: vm })
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("pve/100.qmp")
    }

    fn pve_dir(&self) -> String {
        self.dir.path().join("pve").display().to_string()
    }
}

#[test]
fn other_clients_use_the_socket_between_lines() {
    let Some(rig) = Rig::new() else { return };
    let socket = rig.socket();
    // Another client keeps coming back for the socket while qhmp runs.
    let other = std::thread::spawn(move || {
        let mut answered = 0;
        for _ in 0..15 {
            if let Some(mut c) = Holder::connect(&socket, Duration::from_secs(20)) {
                answered += c.execute("query-status").is_some() as u32;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        answered
    });
    let connect = format!("unix:{}", rig.socket().display());
    let mut args = vec!["--transient", "--connect", connect.as_str(), "-c", "stop"];
    for _ in 0..10 {
        args.extend(["-c", "info status"]);
    }
    let run = qhmp(&args, &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.matches("VM status: paused").count(), 10);
    assert_eq!(other.join().expect("the other client"), 15);

    // A socket held by another client: who holds it and how to share it.
    let _held = Holder::connect(&rig.socket(), Duration::from_secs(5)).expect("a connection");
    let run = qhmp(
        &["--connect", "pve:100", "-c", "info status"],
        &[("QHMP_PVE_RUN_DIR", &rig.pve_dir())],
    );
    assert_eq!(run.code, Some(3));
    let me = format!("(pid {})", std::process::id());
    for part in [
        "no QMP greeting",
        "held by",
        me.as_str(),
        "qhmp proxy --upstream",
        "--transient",
    ] {
        assert!(
            run.stderr.contains(part),
            "{part:?} missing from: {}",
            run.stderr
        );
    }
}

#[test]
fn pve_prompt_connects_for_each_line() {
    let Some(rig) = Rig::new() else { return };
    if !require_tmux() {
        return;
    }
    let command = format!(
        "env XDG_STATE_HOME='{dir}/state' QHMP_PVE_RUN_DIR='{pve}' '{bin}' --connect pve:100 --format classic",
        dir = rig.dir.path().display(),
        pve = rig.pve_dir(),
        bin = fleet_support::qhmp_bin(),
    );
    let tmux = Tmux::start(rig.dir.path(), "pve", &command);
    let screen = tmux.wait_for("the prompt", |s| s.contains("(qemu)"));
    assert!(screen.contains("events are not shown"), "{screen}");
    // While the prompt waits, the socket is free for another client.
    let mut other = Holder::connect(&rig.socket(), Duration::from_secs(5))
        .expect("the socket is free while the prompt waits");
    assert!(other.execute("cont").is_some_and(|r| r.contains("return")));
    drop(other);
    tmux.line("info status");
    tmux.wait_for("the state the other client set", |s| {
        s.contains("VM status: running")
    });
    tmux.line("stop");
    tmux.line("info status");
    tmux.wait_for("the pause", |s| s.contains("VM status: paused"));
    let mut other = Holder::connect(&rig.socket(), Duration::from_secs(5)).expect("free again");
    let status = other.execute("query-status").expect("a reply");
    assert!(status.contains(r#""status": "paused""#), "{status}");
    drop(other);
    tmux.key("C-d");
    tmux.wait_for("the exit", |s| s.contains("[exit 0]"));
}
