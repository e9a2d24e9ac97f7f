//! A libvirt domain driven through `libvirt:NAME`: one-shot in all formats,
//! the remote form's URI handed to libvirt unchanged, the once-per-session
//! warning before a state change, events, a `libvirt:*` fleet and the prompt.
//!
//! Needs a libvirt session (`eval "$(../shared/tools/libvirt-session.sh
//! start DIR)"` exports LIBVIRT_DEFAULT_URI) with libvirt-clients-qemu, QEMU
//! 7.2 at /usr/bin/qemu-system-x86_64, and tmux. Under CI=true a missing
//! session fails the tests.

mod fleet_support;

use fleet_support::{qhmp, require_tmux, wait_until, Tmux};
use std::process::{Command, Stdio};

/// A running transient domain of the session, destroyed when dropped.
struct Domain {
    name: String,
    dir: tempfile::TempDir,
}

impl Domain {
    fn start() -> Option<Domain> {
        if std::env::var_os("LIBVIRT_DEFAULT_URI").is_none() {
            assert!(
                std::env::var("CI").map(|v| v != "true").unwrap_or(true),
                "LIBVIRT_DEFAULT_URI is not set: CI=true needs the libvirt session \
                 (../shared/tools/libvirt-session.sh start DIR)"
            );
            eprintln!("note: no libvirt session (LIBVIRT_DEFAULT_URI); skipping");
            return None;
        }
        let name = format!("qhmp-t-{}", std::process::id());
        let dir = tempfile::tempdir().expect("a temporary directory");
        let xml = dir.path().join("domain.xml");
        std::fs::write(
            &xml,
            format!(
                "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>\
                 <vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>\
                 <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
                 <graphics type='vnc' port='-1' listen='127.0.0.1'/></devices></domain>"
            ),
        )
        .expect("write the domain XML");
        let created = virsh(&["create", &xml.display().to_string()]);
        assert!(created.0, "virsh create: {}", created.1);
        Some(Domain { name, dir })
    }

    fn target(&self) -> String {
        format!("libvirt:{}", self.name)
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        let _ = virsh(&["destroy", &self.name]);
    }
}

fn virsh(args: &[&str]) -> (bool, String) {
    let out = Command::new("virsh")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("virsh runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_missing_bridge_names_its_package() {
    let run = qhmp(
        &["--connect", "libvirt:any", "-c", "info status"],
        &[("QHMP_VIRT_QMP_PROXY", "/nonexistent/virt-qemu-qmp-proxy")],
    );
    assert_eq!(run.code, Some(3));
    assert!(
        run.stderr.contains("libvirt-clients-qemu"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_domain_through_libvirt() {
    let Some(domain) = Domain::start() else {
        return;
    };
    let target = domain.target();

    // One-shot, classic and table.
    let run = qhmp(
        &["--connect", &target, "-c", "info status", "-c", "info name"],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, format!("VM status: running\n{}\n", domain.name));
    let run = qhmp(
        &["--connect", &target, "--format", "table", "-c", "info vnc"],
        &[("COLUMNS", "120")],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("| Listening on | 127.0.0.1:59"),
        "{}",
        run.stdout
    );

    // The remote form: the URI goes to libvirt as written.
    let uri = std::env::var("LIBVIRT_DEFAULT_URI").unwrap();
    assert!(uri.starts_with("qemu+unix://"), "{uri}");
    let explicit = format!("{target}@{uri}");
    let run = Command::new(fleet_support::qhmp_bin())
        .args([
            "--connect",
            &explicit,
            "--format",
            "json",
            "-c",
            "info name",
        ])
        .env_remove("LIBVIRT_DEFAULT_URI")
        .output()
        .expect("qhmp runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains(&domain.name));
    let bogus = format!("{target}@qemu+unix:///session?socket=/nonexistent/qhmp-sock");
    let run = qhmp(&["--connect", &bogus, "-c", "info name"], &[]);
    assert_eq!(run.code, Some(3));
    assert!(
        run.stderr.contains("/nonexistent/qhmp-sock"),
        "{}",
        run.stderr
    );

    // Events, while another qhmp changes the state (warned once).
    let events_out = domain.dir.path().join("events.out");
    let events_err = domain.dir.path().join("events.err");
    let mut events = fleet_support::Process(
        Command::new(fleet_support::qhmp_bin())
            .args([
                "events",
                "--connect",
                &target,
                "--count",
                "2",
                "--timeout",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&events_out).unwrap())
            .stderr(std::fs::File::create(&events_err).unwrap())
            .spawn()
            .expect("qhmp events"),
    );
    wait_until("the event watcher", || {
        let said = std::fs::read_to_string(&events_err).unwrap_or_default();
        said.contains("watching events").then_some(())
    });
    let run = qhmp(
        &[
            "--connect",
            &target,
            "-c",
            "stop",
            "-c",
            "cont",
            "-c",
            "stop",
            "-c",
            "cont",
        ],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr.matches("warning").count(), 1, "{}", run.stderr);
    let suspend = format!("`virsh suspend {}`", domain.name);
    assert!(
        run.stderr.contains(&suspend) && run.stderr.contains("custom-monitor"),
        "{}",
        run.stderr
    );
    wait_until("the watcher to end", || events.0.try_wait().ok().flatten());
    let seen = std::fs::read_to_string(&events_out).unwrap_or_default();
    assert!(seen.contains("STOP") && seen.contains("RESUME"), "{seen}");

    // Every running domain of the URI.
    let run = qhmp(
        &[
            "--connect",
            "libvirt:qhmp-t-*",
            "--format",
            "json",
            "-c",
            "info status",
        ],
        &[],
    );
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&format!("\"libvirt:{}\"", domain.name)))
        .unwrap_or_else(|| panic!("{}{}", run.stdout, run.stderr));
    let doc: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(doc["return"]["status"], "running");

    // The prompt: tables, the warning once, events above the prompt.
    if !require_tmux() {
        return;
    }
    let command = format!(
        "env XDG_STATE_HOME='{dir}/state' NO_COLOR=1 COLUMNS=150 '{bin}' --connect '{target}' --format table",
        dir = domain.dir.path().display(),
        bin = fleet_support::qhmp_bin(),
    );
    let tmux = Tmux::start(domain.dir.path(), "lv", &command);
    tmux.wait_for("the prompt", |s| s.contains("(qemu)"));
    // QEMU's one line stays in table mode; a table shows the block devices.
    tmux.line("info status");
    tmux.wait_for("the status line", |s| s.contains("VM status: running"));
    tmux.line("stop");
    tmux.wait_for("the warning and the event", |s| {
        s.contains(&suspend) && s.contains(" STOP")
    });
    tmux.line("cont");
    let screen = tmux.wait_for("the resume event", |s| s.contains(" RESUME"));
    assert_eq!(screen.matches("qhmp: warning").count(), 1, "{screen}");
    tmux.key("C-d");
    tmux.wait_for("the exit", |s| s.contains("[exit 0]"));
}
