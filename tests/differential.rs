//! The differential test of the product: every command line below is run by
//! native QEMU (`human-monitor-command`) and by `qhmp --format classic`, and the
//! texts must be byte-identical (CR LF normalised).
//!
//! * Read-only lines run on one fixture: natively through a fresh connection on
//!   the spare QMP socket, then through qhmp on that same socket, so both see
//!   the same monitor state (e.g. which monitor chardevs are connected).
//! * State-changing lines run on two identical fixtures: qhmp on one, native
//!   QEMU on the other; their outputs and the following native `info` outputs
//!   must agree once per-instance values (paths, ports, node names, thread ids)
//!   are masked.

mod support;

use support::compare::Tally;
use support::product::{run_line_on, ProductRun};
use support::text::mask_number_after;
use support::{ids, Fixture};

/// A command line plus an optional action run on the fixture before each side
/// executes it (e.g. filling the ring buffer that `ringbuf_read` drains).
struct Case {
    line: String,
    prepare: Option<fn(&Fixture)>,
}

fn case(line: impl Into<String>) -> Case {
    Case {
        line: line.into(),
        prepare: None,
    }
}

/// Bytes that exercise `ringbuf_read`'s escaping: control characters, ESC,
/// backslash, DEL, multi-byte UTF-8, an invalid byte, tab and newline.
const RINGBUF_SAMPLE: &[u8] = b"hello\x01\x1b[0m \\ \x7f caf\xc3\xa9 \xff\tend\n";

fn fill_ringbuf(fx: &Fixture) {
    fx.ringbuf_write_bytes(ids::RINGBUF, RINGBUF_SAMPLE);
}

fn fill_ringbuf_split_utf8(fx: &Fixture) {
    fx.ringbuf_write_bytes(ids::RINGBUF, "ab\u{e9}cd".as_bytes());
}

/// Empties the ring buffer so each side reads exactly what `prepare` wrote.
fn drain_ringbuf(fx: &Fixture) {
    let args = serde_json::json!({"device": ids::RINGBUF, "size": 1 << 16, "format": "base64"});
    fx.qmp("ringbuf-read", args);
}

/// Every QMP-backed `info` subcommand of every version, with sensible
/// arguments. All run on every version: where a release lacks one, QEMU's
/// "unknown command" text is what qhmp must print.
fn qmp_backed_info() -> Vec<String> {
    let virtio = ids::BALLOON_VIRTIO_PATH;
    let mut lines: Vec<String> = [
        "info version",
        "info name",
        "info uuid",
        "info status",
        "info kvm",
        "info chardev",
        "info block",
        "info block -n",
        "info block -v",
        "info block -n -v",
        "info block disk0",
        "info block ide1-cd0",
        "info block nosuch",
        "info blockstats",
        "info block-jobs",
        "info cpus",
        "info irq",
        "info pic",
        "info pci",
        "info jit",
        "info numa",
        "info usb",
        "info mice",
        "info vnc",
        "info spice",
        "info balloon",
        "info migrate",
        "info migrate_capabilities",
        "info migrate_parameters",
        "info roms",
        "info ramblock",
        "info trace-events",
        "info trace-events vnc_client*",
        "info tpm",
        "info memdev",
        "info memory-devices",
        "info memory_size_summary",
        "info hotpluggable-cpus",
        "info iothreads",
        "info dump",
        "info vm-generation-id",
        "info sev",
        "info sgx",
        "info replay",
        "info dirty_rate",
        "info vcpu_dirty_limit",
        "info stats vm",
        "info stats vcpu",
        "info stats vcpu * tcg",
        "info virtio",
        "info opcount",
        "info qom-tree",
        "info qom-tree /machine/peripheral",
        "info qom-tree /nosuch",
        "info rocker nosuch",
        "info rocker-ports nosuch",
        "info rocker-of-dpa-flows nosuch",
        "info rocker-of-dpa-groups nosuch",
    ]
    .map(str::to_string)
    .to_vec();
    lines.extend([
        format!("info virtio-status {virtio}"),
        format!("info virtio-queue-status {virtio} 0"),
        format!("info virtio-queue-element {virtio} 0"),
        format!("info virtio-vhost-queue-status {virtio} 0"),
    ]);
    // Lines of some releases only; elsewhere both sides must print the same
    // "unknown command" error.
    lines.extend(["info profile", "info rdma", "info cryptodev", "info accel"].map(str::to_string));
    lines
}

/// `info` subcommands QEMU implements in HMP only (qhmp passes them through).
fn hmp_only_info() -> Vec<String> {
    // `info history` is left out: it shows per-monitor state by design.
    [
        "info network",
        "info registers",
        "info registers -a",
        "info lapic",
        "info tlb",
        "info mem",
        "info mtree",
        "info mtree -f",
        "info sync-profile",
        "info usbhost",
        "info capture",
        "info snapshots",
        "info usernet",
        "info qtree",
        "info qdm",
        "info opcount",
        "info qom-tree",
        "info qom-tree /machine/peripheral",
        "info qtree -b",
        "info cpustats",
        "info ioapic",
        "info migrate_cache_size",
    ]
    .map(str::to_string)
    .to_vec()
}

/// Other read-only commands, local ones (help, print) and error paths.
fn other_queries() -> Vec<Case> {
    let mut cases: Vec<Case> = [
        "qom-list /",
        "qom-list /machine/peripheral",
        "qom-list /nosuch",
        "qom-get /machine type",
        "qom-get /machine/peripheral/nic0 mac",
        "qom-get /objects/mem0 size",
        "qom-get /machine/unattached/device[0] feature-words",
        "qom-get /machine/peripheral/nic0 nosuch",
        "ringbuf_read ring0 100",
        "ringbuf_read nosuch 10",
        "help",
        "help info",
        "help block_resize",
        "info",
        "print 1+2*3",
        "p/x 255",
        "nosuch",
        "info nosuch",
        "block_resize",
        "block_resize disk0 12x",
        "eject",
    ]
    .into_iter()
    .map(case)
    .collect();
    cases.push(Case {
        line: "ringbuf_read ring0 100".into(),
        prepare: Some(fill_ringbuf),
    });
    cases.push(Case {
        line: "ringbuf_read ring0 3".into(),
        prepare: Some(fill_ringbuf_split_utf8),
    });
    cases
}

/// `help` listings carry qhmp's own one-line help texts, so only their
/// structure is compared: each entry's `name params --` opening, in order.
fn is_help(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or_default();
    matches!(first, "help" | "?") || line.trim() == "info"
}

fn help_skeleton(text: &str) -> String {
    text.replace("\r\n", "\n")
        .lines()
        .filter(|l| !l.starts_with('\t'))
        .filter_map(|l| {
            l.split_once(" -- ")
                .map(|(opening, _)| format!("{opening} --\n"))
        })
        .collect()
}

/// A line qhmp refuses to parse exits 2 with the error on stderr, in QEMU's
/// words plus a caret under the spot: QEMU's text is what remains after
/// dropping the `qhmp: ` prefix, the caret block (indented) and details in
/// parentheses.
fn parse_error_as_hmp(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("    ") && !l.starts_with("qhmp: ("))
        .map(|l| format!("{}\n", l.strip_prefix("qhmp: ").unwrap_or(l)))
        .collect()
}

/// What qhmp printed, in the form comparable with native HMP text.
fn product_text(line: &str, run: &ProductRun) -> String {
    if run.code == Some(2) {
        parse_error_as_hmp(&run.stderr)
    } else if is_help(line) {
        help_skeleton(&run.stdout)
    } else {
        run.stdout.clone()
    }
}

/// How qhmp's run compares: its stdout is the text; the rest is context.
fn product_notes(run: &ProductRun) -> String {
    let mut notes = format!("qhmp {}", run.status_text());
    if !run.stderr.trim().is_empty() {
        notes.push_str(&format!("; stderr:\n{}", run.stderr.trim_end()));
    }
    notes
}

/// Runs `cases` natively and through qhmp on the spare socket of `fx`.
fn compare_read_only(fx: &Fixture, cases: &[Case], tally: &mut Tally) {
    for Case { line, prepare } in cases {
        let reset = || {
            if let Some(prepare) = prepare {
                drain_ringbuf(fx);
                prepare(fx);
            }
        };
        // Warm-up: some commands print one-time notes on first use (e.g. `info
        // qdm` reports modules it fails to load), which no later run repeats.
        reset();
        fx.hmp_on_spare(line);
        reset();
        let native = fx.hmp_on_spare(line);
        reset();
        match run_line_on(fx, line) {
            Ok(run) => {
                let native = if is_help(line) {
                    help_skeleton(&native)
                } else {
                    native
                };
                tally.compare(
                    line,
                    &native,
                    &product_text(line, &run),
                    &product_notes(&run),
                );
            }
            Err(e) => tally.broken(line, &e),
        }
    }
}

/// Lines that crash the native QEMU of a release (so there is nothing to
/// compare with): QEMU 11.1.3 dies with SIGSEGV on `info virtio-status` of the
/// paused fixture's balloon (its `x-query-virtio-status` crashes the same way).
fn crashes_native_qemu(version: &str, line: &str) -> bool {
    version == "11.1" && line.starts_with("info virtio-status ")
}

/// `lines` without those that crash this version's QEMU (with a note).
fn comparable(version: &str, lines: Vec<String>) -> Vec<String> {
    let (crash, keep): (Vec<String>, Vec<String>) = lines
        .into_iter()
        .partition(|l| crashes_native_qemu(version, l));
    for line in crash {
        eprintln!("not compared on QEMU {version}: `{line}` crashes QEMU itself");
    }
    keep
}

/// Every read-only line on one fixture: through `qhmp -c`, then as
/// `human-monitor-command` through `qhmp proxy` (sharing the fixture keeps
/// CI to one QEMU for both).
fn read_only_differential(version: &str) {
    let Some(fx) = Fixture::start(version) else {
        return;
    };
    let cases = |lines: Vec<String>| -> Vec<Case> { lines.into_iter().map(case).collect() };
    let mut info = Tally::new(version);
    compare_read_only(
        &fx,
        &cases(comparable(version, qmp_backed_info())),
        &mut info,
    );
    let mut others = Tally::new(version);
    compare_read_only(&fx, &cases(hmp_only_info()), &mut others);
    compare_read_only(&fx, &other_queries(), &mut others);
    let proxy = proxy_differential(&fx);
    support::compare::finish_all(vec![
        (info, "QMP-backed info lines"),
        (others, "other read-only lines"),
        (proxy, "human-monitor-command lines through qhmp proxy"),
    ]);
}

/// One state-changing command and the native `info` lines that show its effect.
struct Step {
    command: &'static str,
    observe: &'static [&'static str],
}

const fn step(command: &'static str, observe: &'static [&'static str]) -> Step {
    Step { command, observe }
}

/// Applied in order to both fixtures. `$DIR` is each fixture's temp dir.
/// `cont`/`stop` come last: a running guest changes much other state.
const STEPS: &[Step] = &[
    step("eject ide1-cd0", &["info block ide1-cd0"]),
    step("change ide1-cd0 $DIR/cd2.iso raw", &["info block ide1-cd0"]),
    step("eject -f ide1-cd0", &["info block ide1-cd0"]),
    step("change ide1-cd0 $DIR/cd.iso", &["info block ide1-cd0"]),
    step(
        "change ide1-cd0 $DIR/missing.iso raw",
        &["info block ide1-cd0"],
    ),
    step("block_resize disk0 128M", &["info block -v disk0"]),
    step("block_resize nosuch 1G", &[]),
    step(
        "drive_add 0 if=none,file=$DIR/cd2.iso,format=raw,id=extra0",
        &["info block"],
    ),
    step("set_link nic0 off", &["info network"]),
    step("set_link net0 on", &["info network"]),
    step("set_link nosuch off", &[]),
    step("balloon 100", &["info balloon"]),
    step("set_password vnc secret", &["info vnc"]),
    step("set_password spice secret", &["info spice"]),
    step("expire_password vnc now", &["info vnc"]),
    step("expire_password spice +60", &["info spice"]),
    step("device_add usb-mouse,id=mouse1", &["info mice", "info usb"]),
    step("device_del mouse1", &["info mice", "info usb"]),
    step("device_add nosuch-device", &[]),
    step("netdev_add user,id=net1", &["info network"]),
    step("netdev_del net1", &["info network"]),
    step("chardev-add ringbuf,id=ring1,size=4096", &["info chardev"]),
    step("chardev-remove ring1", &["info chardev"]),
    step("object_add iothread,id=io1", &["info iothreads"]),
    step("object_del io1", &["info iothreads"]),
    step(
        "qom-set /objects/iothread0 poll-max-ns 1000",
        &["info iothreads"],
    ),
    step(
        "migrate_set_parameter max-bandwidth 100M",
        &["info migrate_parameters"],
    ),
    step(
        "migrate_set_parameter downtime-limit 500",
        &["info migrate_parameters"],
    ),
    step(
        "migrate_set_capability xbzrle on",
        &["info migrate_capabilities"],
    ),
    step("migrate_set_capability nosuch on", &[]),
    step("screendump $DIR/screen.ppm", &[]),
    step("sendkey ctrl-alt-f1", &[]),
    step("sendkey nosuchkey", &[]),
    step(
        "ringbuf_write ring0 \"hello\\nworld \\\\ \\\"quoted\\\"\"",
        &[],
    ),
    step("ringbuf_read ring0 100", &[]),
    step("cont", &["info status"]),
    step("stop", &["info status"]),
];

/// Masks what legitimately differs between two fixture instances.
fn masked(fx: &Fixture, text: &str) -> String {
    let text = fx.mask_instance(text);
    let text = mask_number_after(&text, "#block");
    mask_number_after(&text, "thread_id=")
}

/// Runs STEPS on three identical fixtures: qhmp on `product`, native HMP on
/// `native` and on `witness`. native-vs-witness proves the masking and the
/// fixture's determinism (a product mismatch cannot be a harness artefact);
/// native-vs-product is the test of qhmp.
fn state_change_differential(version: &str) {
    let Some(product) = Fixture::start(version) else {
        return;
    };
    let native_fx = Fixture::launch(version);
    let witness = Fixture::launch(version);
    let mut tally = Tally::new(version);
    let mut harness = Tally::new(version);
    let dir_of =
        |fx: &Fixture, command: &str| command.replace("$DIR", &fx.dir().display().to_string());
    for Step { command, observe } in STEPS {
        let native = masked(
            &native_fx,
            &native_fx.hmp_on_spare(&dir_of(&native_fx, command)),
        );
        let witnessed = masked(&witness, &witness.hmp_on_spare(&dir_of(&witness, command)));
        harness.compare(command, &native, &witnessed, "");
        match run_line_on(&product, &dir_of(&product, command)) {
            Ok(run) => {
                let output = masked(&product, &run.stdout);
                tally.compare(command, &native, &output, &product_notes(&run));
            }
            Err(e) => tally.broken(command, &e),
        }
        for info in observe.iter() {
            let expected = masked(&native_fx, &native_fx.hmp(info));
            let label = format!("{info}  (after `{command}`)");
            let witnessed = masked(&witness, &witness.hmp(info));
            harness.compare(&label, &expected, &witnessed, "");
            let actual = masked(&product, &product.hmp(info));
            tally.compare(&label, &expected, &actual, "");
        }
    }
    support::compare::finish_all(vec![
        (harness, "native-only state steps (harness determinism)"),
        (tally, "state-changing commands and their effects"),
    ]);
}

/// One test module per QEMU release line: `qemu_5_2::read_only_commands_match`…
/// The two tests of a version run in parallel with other versions' tests.
macro_rules! per_version {
    ($($module:ident => $version:literal),* $(,)?) => {$(
        mod $module {
            #[test]
            fn read_only_commands_match() {
                super::read_only_differential($version);
            }

            #[test]
            fn state_changes_match() {
                super::state_change_differential($version);
            }
        }
    )*};
}

per_version! {
    qemu_5_2 => "5.2",
    qemu_7_2 => "7.2",
    qemu_8_2 => "8.2",
    qemu_10_0 => "10.0",
    qemu_11_1 => "11.1",
}

/// The differential list covers every `info` subcommand the grammar maps to
/// QMP, for every version (so the README's count stays true).
#[test]
fn every_qmp_backed_info_command_is_compared() {
    use qhmp::grammar::{Grammar, Profile, QmpMapping};
    let grammar = Grammar::builtin().expect("grammar");
    let info = grammar.table("info").expect("info table");
    let listed = qmp_backed_info();
    for profile in Profile::ALL {
        let version = profile.as_str();
        // The QMP commands that release offers, captured from it (tests/data/versions).
        let path = format!(
            "{}/tests/data/versions/{version}/commands.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let offered = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let offered: Vec<&str> = offered.lines().collect();
        let (mut backed, mut fallback) = (0, 0);
        for entry in info.entries_for(profile) {
            match entry.qmp.get(profile) {
                QmpMapping::HmpOnly | QmpMapping::Local => continue,
                QmpMapping::Calls(calls)
                    if calls.iter().any(|c| !offered.contains(&c.command.as_str())) =>
                {
                    fallback += 1
                }
                _ => backed += 1,
            }
            let name = entry.primary_name();
            assert!(
                listed.iter().any(
                    |l| l == &format!("info {name}") || l.starts_with(&format!("info {name} "))
                ),
                "QMP-backed `info {name}` ({version}) is not in the differential list"
            );
        }
        eprintln!(
            "QEMU {version}: {backed} QMP-backed info commands, {fallback} more through \
             human-monitor-command (QMP command missing), all compared"
        );
    }
}

/// Kills the proxy child when the test ends, however it ends.
struct ProxyChild(std::process::Child);

impl Drop for ProxyChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The same read-only lines, asked as `human-monitor-command` through
/// `qhmp proxy` (which answers them with qhmp's translator): the returned
/// strings must be QEMU's native bytes exactly, CR LF included.
fn proxy_differential(fx: &Fixture) -> Tally {
    let listen = fx.dir().join("proxy.sock");
    let _proxy = ProxyChild(
        std::process::Command::new(env!("CARGO_BIN_EXE_qhmp"))
            .arg("proxy")
            .arg("--upstream")
            .arg(format!("unix:{}", fx.spare_qmp_socket.display()))
            .arg("--listen")
            .arg(format!("unix:{}", listen.display()))
            .stderr(std::fs::File::create(fx.dir().join("proxy.err")).expect("proxy log"))
            .spawn()
            .expect("qhmp proxy starts"),
    );
    let mut client =
        support::qmp_raw::QmpClient::connect(&listen, std::time::Duration::from_secs(30))
            .expect("client connects to the proxy");
    let mut lines: Vec<String> = comparable(&fx.version, qmp_backed_info());
    lines.extend(hmp_only_info());
    lines.extend(
        other_queries()
            .into_iter()
            .filter(|c| c.prepare.is_none())
            .map(|c| c.line),
    );
    let mut tally = Tally::new(&fx.version);
    for line in &lines {
        fx.hmp(line);
        let native = fx.hmp(line);
        match client.hmp(line) {
            // Compared as escaped strings so a lone CR or LF difference shows.
            Ok(proxied) => {
                tally.compare(
                    line,
                    &format!("{native:?}\n"),
                    &format!("{proxied:?}\n"),
                    "",
                );
            }
            Err(e) => tally.broken(line, &e),
        }
    }
    // The proxy falls back to QEMU's own HMP for a line it cannot translate
    // or render and says so; none of these lines may need that.
    let log = std::fs::read_to_string(fx.dir().join("proxy.err")).unwrap_or_default();
    if log.contains("not translated") || log.contains("not rendered") {
        tally.broken("(proxy log)", &format!("proxy fell back:\n{log}"));
    }
    tally
}
