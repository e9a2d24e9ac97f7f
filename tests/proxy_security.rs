//! The proxy as a security boundary, tried as an attacker with a connection
//! to its socket would, on real QEMU 7.2 and 10.0: every finding of issue 13
//! by name, every QMP command the QEMU lists and every HMP command of the
//! grammar, through `--read-only` in both `--hmp` modes and under `--deny` /
//! `--allow`. Checked by QEMU's state (asked directly, with the proxy gone)
//! and by the host file system: nothing changed, no file written, no socket
//! opened, no program run, QEMU alive. A last run without a policy shows
//! the same lines do have those effects, so the checks can see them.

mod proxy_support;

use proxy_support::{native_hmp, qemu_binary, BinaryProxy, Qemu, Raw};
use qhmp::grammar::{Effect, Effects, Grammar, Profile};
use serde_json::{json, Value};
use std::path::Path;

fn hmc(line: &str) -> Value {
    json!({"execute": "human-monitor-command", "arguments": {"command-line": line}})
}

fn is_refusal(reply: &Value) -> bool {
    reply["error"]["desc"]
        .as_str()
        .is_some_and(|d| d.contains("refused by the qhmp proxy policy"))
}

/// The findings of the issue, as HMP lines; `DIR` is the scratch directory.
const FINDINGS: &[&str] = &[
    "nbd_server_start -a unix:DIR/nbd.sock",
    "nbd_server_start -a -w unix:DIR/nbdw.sock",
    "nbd_server_start unix:DIR/nbd2.sock",
    "memsave 0 4096 \"DIR/mem\"",
    "pmemsave 0 4096 \"DIR/pm0\"",
    "block_set_io_throttle d0 1000 0 0 0 0 0",
    "announce_self",
    "migrate \"exec:touch DIR/PWNED #\0\"",
    "migrate \"exec:touch DIR/PWNED2\"",
    "pmemsave 0 4096 \"DIR/pmem\0\"",
    "pmemsave $eax 4096 \"DIR/pm\"",
    "dump-guest-memory \"DIR/dg\" $eax 4096",
    "dump-guest-memory DIR/dg2",
    "qom-get /objects/sec0 data",
    "qom-get sec0 data",
    "savevm s1",
    "wavcapture DIR/w.wav ad0",
    "logfile DIR/log",
    "gdbserver unix:DIR/gdb.sock,server=on,wait=off",
    "screendump DIR/shot.ppm",
    "chardev-add socket,id=c1,path=DIR/c.sock,server=on,wait=off",
    "chardev-add file,id=c2,path=DIR/c.txt",
    "drive_add 0 if=none,id=d9,file=DIR/img,format=raw",
    "object_add secret,id=s9,file=/etc/hostname",
    "snapshot_blkdev d0 DIR/snap.qcow2",
    "drive_backup d0 DIR/bk.img",
    "migrate -d unix:DIR/mig.sock",
    "netdev_add user,id=n1",
    "hostfwd_add tcp:127.0.0.1:0-:22",
    "device_add virtio-gpu-gl-pci",
    "qemu-io d0 \"write 0 512\"",
    "stop",
    "system_reset",
    "quit",
];

/// The findings as QMP requests.
fn qmp_findings(dir: &str) -> Vec<Value> {
    vec![
        json!({"execute": "device-list-properties", "arguments": {"typename": "virtio-gpu-gl-pci"}}),
        json!({"execute": "qom-list-properties", "arguments": {"typename": "virtio-gpu-gl-pci"}}),
        json!({"execute": "qom-get", "arguments": {"path": "/objects/sec0", "property": "data"}}),
        json!({"execute": "qom-get", "arguments": {"path": "sec0", "property": "data"}}),
        json!({"execute": "nbd-server-start", "arguments":
            {"addr": {"type": "unix", "data": {"path": format!("{dir}/q.sock")}}}}),
        json!({"execute": "migrate", "arguments": {"uri": format!("exec:touch {dir}/PWNED3")}}),
        json!({"execute": "memsave", "arguments":
            {"val": 0, "size": 4096, "filename": format!("{dir}/qmem")}}),
        json!({"execute": "block_set_io_throttle", "arguments": {"device": "d0", "bps": 1000,
            "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0}}),
        json!({"execute": "human-monitor-command", "arguments":
            {"command-line": format!("pmemsave 0 4096 \"{dir}/hm\u{0}\"")}}),
    ]
}

/// What QEMU shows of everything the findings could change, asked on its
/// own socket (nobody else may be connected then).
async fn state(qemu: &Qemu) -> Value {
    let mut raw = Raw::negotiated(&qemu.socket).await;
    let mut out = serde_json::Map::new();
    for (name, arguments) in [
        ("query-status", json!({})),
        ("query-block", json!({})),
        ("query-named-block-nodes", json!({})),
        ("query-block-exports", json!({})),
        ("query-chardev", json!({})),
        ("query-migrate", json!({})),
        ("qom-list", json!({"path": "/objects"})),
        ("query-cpus-fast", json!({})),
    ] {
        let request = json!({"execute": name, "arguments": arguments});
        let reply = raw.request(&request).await;
        out.insert(name.into(), reply.get("return").cloned().unwrap_or(reply));
    }
    out.insert("network".into(), json!(raw.hmp("info network").await));
    out.insert("snapshots".into(), json!(raw.hmp("info snapshots").await));
    Value::Object(out)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("scratch dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

struct Fixture {
    qemu: Qemu,
    scratch: tempfile::TempDir,
    version: Profile,
}

impl Fixture {
    fn start(var: &str, version: Profile) -> Option<Fixture> {
        let binary = qemu_binary(var)?;
        let qemu = Qemu::start(
            &binary,
            &[
                "-object",
                "secret,id=sec0,data=letmein",
                "-drive",
                "if=none,id=d0,file=null-co://,format=raw",
                "-audiodev",
                "none,id=ad0",
            ],
        );
        let scratch = tempfile::tempdir().expect("scratch dir");
        Some(Fixture {
            qemu,
            scratch,
            version,
        })
    }

    fn dir(&self) -> String {
        self.scratch.path().display().to_string()
    }

    fn lines(&self) -> Vec<String> {
        FINDINGS
            .iter()
            .map(|l| l.replace("DIR", &self.dir()))
            .collect()
    }

    /// Every HMP command of the grammar, bare, and every `info` line.
    fn grammar_lines(&self) -> Vec<String> {
        let grammar = Grammar::builtin().expect("grammar");
        let mut lines = Vec::new();
        for table in &grammar.tables {
            for entry in table.entries_for(self.version) {
                let name = entry.primary_name();
                match table.name.as_str() {
                    "commands" if name != "info" => lines.push(name.to_string()),
                    "commands" => {}
                    sub => lines.push(format!("{sub} {name}")),
                }
            }
        }
        lines
    }

    /// Runs `body` against a proxy with `options`, then checks that QEMU is
    /// alive and unchanged and that no file appeared.
    async fn unchanged_through(&self, options: &[&str], body: impl AsyncFnOnce(&mut Raw)) {
        let before = state(&self.qemu).await;
        let files_before = files(self.scratch.path());
        {
            let proxy = BinaryProxy::start(&self.qemu, "p.sock", options);
            let mut raw = Raw::negotiated(&proxy.socket).await;
            body(&mut raw).await;
            let status = raw.request(&hmc("info status")).await;
            assert!(
                status.get("return").is_some() || is_refusal(&status),
                "{options:?}: the proxy or QEMU died: {status}"
            );
        }
        let after = state(&self.qemu).await;
        assert_eq!(before, after, "{options:?} let QEMU's state change");
        assert_eq!(
            files_before,
            files(self.scratch.path()),
            "{options:?} let a file appear"
        );
    }
}

/// Sends every line and request; a line whose command is not a read must be
/// refused or answered without effect (the state checks tell).
async fn attack(raw: &mut Raw, lines: &[String], requests: &[Value], must_refuse: bool) {
    for line in lines {
        let reply = raw.request(&hmc(line)).await;
        if must_refuse {
            assert!(
                is_refusal(&reply) || reply["return"].as_str().is_some(),
                "{line:?}: {reply}"
            );
        }
    }
    for request in requests {
        let reply = raw.request(request).await;
        assert!(is_refusal(&reply), "{request} was not refused: {reply}");
    }
}

async fn boundary_holds(fixture: Fixture) {
    let effects = Effects::builtin().expect("effects table");
    let lines = fixture.lines();
    let requests = qmp_findings(&fixture.dir());
    for hmp in ["translate", "native"] {
        let read_only = ["--read-only", "--hmp", hmp];
        fixture
            .unchanged_through(&read_only, async |raw| {
                attack(raw, &lines, &requests, true).await;
                // Every QMP command QEMU lists: a non-read one is refused.
                let listed = raw.request(&json!({"execute": "query-commands"})).await;
                for c in listed["return"].as_array().expect("commands") {
                    let name = c["name"].as_str().unwrap_or_default();
                    let effect = effects.qmp(name);
                    assert!(effect.is_some(), "'{name}' is not classified");
                    if !matches!(effect, Some(Effect::Read | Effect::Line)) {
                        let reply = raw.request(&json!({"execute": name})).await;
                        assert!(is_refusal(&reply), "{hmp}: {name}: {reply}");
                    }
                }
                // Every HMP command of the grammar, bare.
                for line in fixture.grammar_lines() {
                    let reply = raw.request(&hmc(&line)).await;
                    assert!(
                        reply.get("return").is_some() || is_refusal(&reply),
                        "{line:?}: {reply}"
                    );
                }
            })
            .await;
    }
    let deny = "pmemsave,memsave,dump-guest-memory";
    let allow = "query-status,query-block,human-monitor-command";
    let dir = fixture.dir();
    let by_register = [
        format!("pmemsave $eax 4096 \"{dir}/pm\""),
        format!("dump-guest-memory \"{dir}/dg\" $eax 4096"),
        format!("memsave 0 4096 \"{dir}/mem\""),
        format!("pmemsave 0 4096 \"{dir}/pmem\0\""),
    ];
    for hmp in ["translate", "native"] {
        for policy in [["--deny", deny], ["--allow", allow]] {
            let options = [policy[0], policy[1], "--hmp", hmp];
            fixture
                .unchanged_through(&options, async |raw| {
                    for line in &by_register {
                        let reply = raw.request(&hmc(line)).await;
                        assert!(is_refusal(&reply), "{options:?} {line:?}: {reply}");
                    }
                    let status = raw.request(&hmc("info status")).await;
                    assert_eq!(status["return"], "VM status: paused (prelaunch)\r\n");
                })
                .await;
        }
    }
    // Without a policy the same lines do act: the checks above can see it.
    let proxy = BinaryProxy::start(&fixture.qemu, "open.sock", &[]);
    let mut raw = Raw::negotiated(&proxy.socket).await;
    for line in [
        format!("memsave 0 4096 \"{dir}/mem\""),
        "block_set_io_throttle d0 1000 0 0 0 0 0".to_string(),
    ] {
        raw.request(&hmc(&line)).await;
    }
    drop(raw);
    drop(proxy);
    assert!(files(fixture.scratch.path()).contains(&"mem".to_string()));
    let after = state(&fixture.qemu).await;
    assert_eq!(after["query-block"][0]["inserted"]["bps"], 1000, "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_boundary_holds_on_qemu_7() {
    if let Some(fixture) = Fixture::start("QHMP_QEMU_7", Profile::V7_2) {
        boundary_holds(fixture).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_boundary_holds_on_qemu_10() {
    if let Some(fixture) = Fixture::start("QHMP_QEMU_10", Profile::V10_0) {
        boundary_holds(fixture).await;
    }
}

/// QEMU keeps a NUL inside the command line as an ordinary character; the
/// proxy answers such lines as QEMU does, with or without a policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_control_characters_read_as_qemu_reads_them() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &[]);
    let lines = [
        "info status\0x",
        "info status\0",
        "\0info status",
        "info\0status",
        "info status\u{1}",
        "info\u{b}status",
        "info\u{c}status",
        "info status \0x",
        "help info\0",
    ];
    let native = native_hmp(&qemu, &lines).await;
    for options in [
        &[][..],
        &["--read-only"][..],
        &["--read-only", "--hmp", "native"][..],
    ] {
        let proxy = BinaryProxy::start(&qemu, "nul.sock", options);
        let mut raw = Raw::negotiated(&proxy.socket).await;
        for (line, expected) in lines.iter().zip(&native) {
            let reply = raw.request(&hmc(line)).await;
            assert_eq!(&reply, expected, "{options:?} {line:?}");
        }
    }
}

/// Every command each supported QEMU lists in `query-commands` has a row
/// in grammar/effects.tsv.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_of_every_version_is_classified() {
    let effects = Effects::builtin().expect("effects table");
    for var in [
        "QHMP_QEMU_5",
        "QHMP_QEMU_7",
        "QHMP_QEMU_8",
        "QHMP_QEMU_10",
        "QHMP_QEMU_11",
    ] {
        let Some(binary) = qemu_binary(var) else {
            continue;
        };
        let qemu = Qemu::start(&binary, &[]);
        let mut raw = Raw::negotiated(&qemu.socket).await;
        let listed = raw.request(&json!({"execute": "query-commands"})).await;
        let names: Vec<&str> = listed["return"]
            .as_array()
            .expect("a command list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert!(names.len() > 150, "{var}: {listed}");
        let missing: Vec<&&str> = names.iter().filter(|n| effects.qmp(n).is_none()).collect();
        assert!(missing.is_empty(), "{var}: unclassified: {missing:?}");
    }
}

/// Random lines from pieces QEMU's HMP reads specially (NUL and other
/// control characters, quotes, `$registers`, `/fmt`), read by QEMU and by
/// the proxy (translating, and under `--read-only` in both modes): whatever
/// the proxy answers is QEMU's answer. Only showing commands are used, so
/// QEMU may run every line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_lines_read_as_qemu_reads_them() {
    let Some(binary) = qemu_binary("QHMP_QEMU_10") else {
        return;
    };
    let qemu = Qemu::start(&binary, &[]);
    const PIECES: &[&str] = &[
        "info", "status", "name", "version", "help", "?", "x", "xp", "/2x", "/s", "print", "p",
        "$eax", "$pc", "0x10", "1+", "(", ")", " ", " ", "\t", "\0", "\u{1}", "\u{b}", "\u{c}",
        "\r", "\u{7f}", "\u{85}", "é", "\"", "'", "\\", "-", "status\0", "\0info",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let lines: Vec<String> = (0..300)
        .map(|_| {
            let words = 1 + next(5);
            (0..words).map(|_| PIECES[next(PIECES.len())]).collect()
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let native = native_hmp(&qemu, &refs).await;
    for options in [
        &[][..],
        &["--read-only"][..],
        &["--read-only", "--hmp", "native"][..],
    ] {
        let proxy = BinaryProxy::start(&qemu, "random.sock", options);
        let mut raw = Raw::negotiated(&proxy.socket).await;
        let mut compared = 0;
        for (line, expected) in lines.iter().zip(&native) {
            let reply = raw.request(&hmc(line)).await;
            if is_refusal(&reply) {
                continue;
            }
            compared += 1;
            assert_eq!(&reply, expected, "{options:?} {line:?}");
        }
        assert!(
            compared > 200,
            "{options:?}: only {compared} lines answered"
        );
    }
}
