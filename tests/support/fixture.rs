//! The rich live-QEMU fixture: one paused PC with disks, a cdrom, VNC, SPICE,
//! chardevs, a NIC, iothread, memory backend, balloon and USB tablet, plus two
//! QMP sockets (one for the harness's native HMP, one spare for the product).

use super::qemu::{free_tcp_port, qemu_img, run_tool, QemuBinary, QemuProcess};
use super::qmp_raw::{QmpClient, QmpError};
use super::rfb::RfbClient;
use super::spice::SpiceSession;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Names and ids the fixture configures, for tests to refer to.
pub mod ids {
    pub const VM_NAME: &str = "qhmp-fixture";
    pub const VM_UUID: &str = "5b1c2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    /// The qcow2 drive (with a backing file) on a virtio-blk device.
    pub const DRIVE: &str = "disk0";
    pub const VIRTIO_BLK: &str = "vblk0";
    /// The IDE cdrom (QEMU names it after its bus position).
    pub const CDROM: &str = "ide1-cd0";
    pub const RINGBUF: &str = "ring0";
    pub const NULL_CHARDEV: &str = "null0";
    pub const SOCKET_CHARDEV: &str = "sock0";
    pub const NETDEV: &str = "net0";
    pub const NIC: &str = "nic0";
    pub const NIC_MAC: &str = "52:54:00:12:34:56";
    pub const IOTHREAD: &str = "iothread0";
    pub const MEMDEV: &str = "mem0";
    pub const DIMM: &str = "dimm0";
    pub const BALLOON: &str = "balloon0";
    pub const TABLET: &str = "tablet0";
    pub const VIRTIO_SERIAL: &str = "vser0";
    pub const SERIAL_PORT: &str = "port0";
    /// QOM path of the balloon's virtio backend (for `info virtio-*`).
    pub const BALLOON_VIRTIO_PATH: &str = "/machine/peripheral/balloon0/virtio-backend";
}

/// Start-up bound: the machine has 2 cores shared by many jobs.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts when QEMU fails to start (usually a lost race for a free port).
const LAUNCH_ATTEMPTS: usize = 3;

/// A running fixture QEMU. Dropping it closes the harness connection, kills
/// QEMU by PID and removes the temp dir (fields drop in this order).
pub struct Fixture {
    pub version: String,
    /// The harness's own QMP socket (native HMP goes through it).
    pub qmp_socket: PathBuf,
    /// A second QMP socket, free for the product under test.
    pub spare_qmp_socket: PathBuf,
    /// Path of the `sock0` chardev's unix server socket.
    pub chardev_socket: PathBuf,
    pub disk_image: PathBuf,
    pub backing_image: PathBuf,
    pub cdrom_image: PathBuf,
    /// A second small image, for `change` tests.
    pub spare_cdrom_image: PathBuf,
    pub vnc_port: u16,
    /// The SPICE port; meaningless when `has_spice` is false.
    pub spice_port: u16,
    /// False for builds without SPICE (QEMU 8.2 of Ubuntu 24.04, like RHEL 9):
    /// the fixture then runs without `-spice`.
    pub has_spice: bool,
    monitor: Mutex<QmpClient>,
    process: QemuProcess,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// Launches the fixture for `version` (one of `VERSIONS`); panics with the
    /// reason when the binary is missing or QEMU cannot be started.
    pub fn launch(version: &str) -> Fixture {
        let qemu = QemuBinary::from_env(version).unwrap_or_else(|| {
            panic!(
                "QEMU {version}: {} is not set to an existing binary",
                QemuBinary::env_var(version)
            )
        });
        Self::launch_with(version, &qemu).unwrap_or_else(|e| panic!("QEMU {version} fixture: {e}"))
    }

    /// [`super::require_qemu`] then [`Fixture::launch`]: `None` means "skip".
    pub fn start(version: &str) -> Option<Fixture> {
        super::qemu::require_qemu(version)?;
        Some(Self::launch(version))
    }

    pub fn launch_with(version: &str, qemu: &Path) -> Result<Fixture, String> {
        let mut failures = Vec::new();
        let mut spice = true;
        for attempt in 1..=LAUNCH_ATTEMPTS {
            match Self::try_launch(version, qemu, spice) {
                Ok(fixture) => return Ok(fixture),
                // Learned from the binary itself, not assumed from its version.
                Err(e) if spice && e.contains("no option group 'spice'") => spice = false,
                Err(e) => failures.push(format!("attempt {attempt}: {e}")),
            }
        }
        Err(failures.join("\n"))
    }

    fn try_launch(version: &str, qemu: &Path, spice: bool) -> Result<Fixture, String> {
        let dir = make_temp_dir()?;
        let path = |name: &str| dir.path().join(name);
        let (qmp_socket, spare_qmp_socket) = (path("qmp-harness.sock"), path("qmp-spare.sock"));
        let chardev_socket = path("chardev.sock");
        let (backing_image, disk_image) = (path("base.qcow2"), path("disk.qcow2"));
        let (cdrom_image, spare_cdrom_image) = (path("cd.iso"), path("cd2.iso"));

        let img = qemu_img(qemu);
        run_tool(
            &img,
            &["create", "-q", "-f", "qcow2", &text(&backing_image), "64M"],
        )?;
        let overlay = [
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "base.qcow2",
            "-F",
            "qcow2",
        ];
        run_tool(&img, &[&overlay[..], &[&text(&disk_image)]].concat())?;
        write_file(&cdrom_image, &[0x43; 4096])?;
        write_file(&spare_cdrom_image, &[0x44; 2048])?;

        let spice_port = free_tcp_port()?;
        let vnc_display = free_tcp_port()? - 5900;
        let args = command_line(&Paths {
            qmp: &qmp_socket,
            spare_qmp: &spare_qmp_socket,
            chardev: &chardev_socket,
            disk: &disk_image,
            cdrom: &cdrom_image,
            vnc_display,
            spice_port: spice.then_some(spice_port),
        });
        // Several SPICE sessions at once need spice-server's multi-client switch.
        let env = [("SPICE_DEBUG_ALLOW_MC", "1")];
        let mut process =
            QemuProcess::spawn(qemu, &args, &env, &path("qemu.log"), &path("qemu.pid"))?;
        process.wait_for_path(&qmp_socket, STARTUP_TIMEOUT)?;
        process.wait_for_path(&spare_qmp_socket, STARTUP_TIMEOUT)?;
        let mut monitor = QmpClient::connect(&qmp_socket, STARTUP_TIMEOUT)
            .map_err(|e| format!("{e}; QEMU stderr:\n{}", process.log()))?;
        let vnc_port = vnc_port_of(&mut monitor)?;

        Ok(Fixture {
            version: version.to_string(),
            qmp_socket,
            spare_qmp_socket,
            chardev_socket,
            disk_image,
            backing_image,
            cdrom_image,
            spare_cdrom_image,
            vnc_port,
            spice_port,
            has_spice: spice,
            monitor: Mutex::new(monitor),
            process,
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// QEMU's stderr so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// `--connect` argument for the product: the spare QMP socket.
    pub fn spare_connect_arg(&self) -> String {
        format!("unix:{}", self.spare_qmp_socket.display())
    }

    fn monitor(&self) -> MutexGuard<'_, QmpClient> {
        // A panic elsewhere while holding the lock leaves the client usable.
        self.monitor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Native HMP text for `line` (QEMU's own output, CR LF line ends).
    pub fn hmp(&self, line: &str) -> String {
        self.try_hmp(line)
            .unwrap_or_else(|e| panic!("QEMU {}: native HMP {line:?}: {e}", self.version))
    }

    pub fn try_hmp(&self, line: &str) -> Result<String, String> {
        self.monitor().hmp(line)
    }

    /// Native HMP through a fresh connection on the spare socket, so that the
    /// monitor state matches a product run there (e.g. `info chardev` shows
    /// the spare monitor's chardev as connected).
    pub fn hmp_on_spare(&self, line: &str) -> String {
        let run = || QmpClient::connect(&self.spare_qmp_socket, STARTUP_TIMEOUT)?.hmp(line);
        let text = run().unwrap_or_else(|e| {
            panic!(
                "QEMU {}: native HMP {line:?} on spare socket: {e}",
                self.version
            )
        });
        self.wait_spare_idle();
        text
    }

    /// Waits (bounded) until QEMU has noticed that the last client of the spare
    /// QMP socket left, so later output does not depend on that race (`info
    /// chardev` shows the spare monitor as connected until then).
    pub fn wait_spare_idle(&self) {
        let spare = format!("unix:{}", self.spare_qmp_socket.display());
        let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            let chardevs = self.qmp("query-chardev", json!({}));
            let busy = chardevs.as_array().into_iter().flatten().any(|c| {
                c["filename"]
                    .as_str()
                    .is_some_and(|f| f.starts_with(&spare))
            });
            if !busy {
                return;
            }
            if std::time::Instant::now() >= deadline {
                panic!("QEMU {}: a client stays connected to {spare}", self.version);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The `return` value of a QMP command; panics on an error reply.
    pub fn qmp(&self, command: &str, args: Value) -> Value {
        match self.try_qmp(command, args) {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("QEMU {}: QMP {command} failed: {e}", self.version),
            Err(e) => panic!("QEMU {}: QMP {command}: {e}", self.version),
        }
    }

    /// Outer error: transport; inner error: QEMU's error reply.
    pub fn try_qmp(&self, command: &str, args: Value) -> Result<Result<Value, QmpError>, String> {
        self.monitor().execute(command, args)
    }

    /// Events seen so far on the harness connection (drained).
    pub fn take_events(&self) -> Vec<Value> {
        std::mem::take(&mut self.monitor().events)
    }

    /// Waits (bounded) for an event on the harness connection.
    pub fn wait_event(&self, name: &str, wait: Duration) -> Result<Value, String> {
        self.monitor().wait_event(name, wait)
    }

    /// A VNC client connected to this fixture's server.
    pub fn vnc_client(&self) -> RfbClient {
        RfbClient::connect(self.vnc_port).unwrap_or_else(|e| panic!("QEMU {}: {e}", self.version))
    }

    /// A new SPICE session (main channel) on this fixture's server.
    pub fn spice_session(&self) -> SpiceSession {
        assert!(self.has_spice, "QEMU {}: built without SPICE", self.version);
        SpiceSession::connect(self.spice_port)
            .unwrap_or_else(|e| panic!("QEMU {}: {e}", self.version))
    }

    /// Writes raw bytes into the ring buffer chardev through QMP (base64, so
    /// control characters and invalid UTF-8 reach it unchanged).
    pub fn ringbuf_write_bytes(&self, device: &str, bytes: &[u8]) {
        let data = base64(bytes);
        self.qmp(
            "ringbuf-write",
            json!({"device": device, "data": data, "format": "base64"}),
        );
    }

    /// Replaces the fixture's own paths and ports in `text` by placeholders, so
    /// output from two fixtures can be compared.
    pub fn mask_instance(&self, text: &str) -> String {
        let dir = self.dir().display().to_string();
        let text = text
            .replace(&dir, "$DIR")
            .replace(&format!(":{}", self.vnc_port), ":$VNC_PORT");
        if self.has_spice {
            text.replace(&format!(":{}", self.spice_port), ":$SPICE_PORT")
        } else {
            text
        }
    }
}

struct Paths<'a> {
    qmp: &'a Path,
    spare_qmp: &'a Path,
    chardev: &'a Path,
    disk: &'a Path,
    cdrom: &'a Path,
    vnc_display: u16,
    /// `None`: a build without SPICE.
    spice_port: Option<u16>,
}

/// The fixture's QEMU arguments. The same line works on 5.2 to 11.1 (without
/// `-spice` on builds that lack it).
fn command_line(p: &Paths) -> Vec<String> {
    use ids::*;
    let vnc_last = p.vnc_display.saturating_add(32);
    let argv = [
        "-machine pc -S -nodefaults -display none".to_string(),
        format!("-name {VM_NAME} -uuid {VM_UUID}"),
        "-m 128M,slots=2,maxmem=1G -smp 1,maxcpus=2".to_string(),
        format!("-qmp unix:{},server=on,wait=off", text(p.qmp)),
        format!("-qmp unix:{},server=on,wait=off", text(p.spare_qmp)),
        format!("-object iothread,id={IOTHREAD}"),
        format!("-object memory-backend-ram,id={MEMDEV},size=64M -device pc-dimm,id={DIMM},memdev={MEMDEV}"),
        format!("-drive file={},format=qcow2,if=none,id={DRIVE}", text(p.disk)),
        format!("-device virtio-blk-pci,drive={DRIVE},id={VIRTIO_BLK},iothread={IOTHREAD}"),
        // if=ide,index=2 is the secondary master: QEMU names it ide1-cd0.
        format!("-drive file={},format=raw,if=ide,index=2,media=cdrom", text(p.cdrom)),
        // `to=` lets QEMU walk up to a free display if ours was taken meanwhile.
        format!("-vnc 127.0.0.1:{},to={vnc_last}", p.vnc_display),
        format!("-device virtio-balloon-pci,id={BALLOON}"),
        format!("-usb -device usb-tablet,id={TABLET}"),
        format!("-chardev ringbuf,id={RINGBUF},size=1024 -chardev null,id={NULL_CHARDEV}"),
        format!("-chardev socket,id={SOCKET_CHARDEV},path={},server=on,wait=off", text(p.chardev)),
        format!("-netdev user,id={NETDEV} -device e1000,netdev={NETDEV},id={NIC},mac={NIC_MAC}"),
        format!("-device virtio-serial-pci,id={VIRTIO_SERIAL}"),
        format!("-device virtserialport,chardev={NULL_CHARDEV},name=org.qhmp.test,id={SERIAL_PORT}"),
    ];
    let spice = p
        .spice_port
        .map(|port| format!("-spice port={port},addr=127.0.0.1,disable-ticketing=on"));
    // Paths come from our own temp dir and contain no spaces (checked there).
    argv.iter()
        .chain(spice.iter())
        .flat_map(|chunk| chunk.split(' ').map(str::to_string))
        .collect()
}

/// The port VNC actually bound (it may have moved up within the `to=` range).
fn vnc_port_of(monitor: &mut QmpClient) -> Result<u16, String> {
    let servers = monitor
        .execute("query-vnc-servers", json!({}))?
        .map_err(|e| format!("query-vnc-servers: {e}"))?;
    let service = servers
        .pointer("/0/server/0/service")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("query-vnc-servers: no listening server in {servers}"))?;
    service
        .parse()
        .map_err(|e| format!("query-vnc-servers: bad port {service:?}: {e}"))
}

/// A fresh temp dir whose socket paths fit the 108-byte sun_path limit and
/// contain no spaces (they are split into QEMU arguments).
fn make_temp_dir() -> Result<tempfile::TempDir, String> {
    let mut base = std::env::temp_dir();
    let base_text = base.display().to_string();
    if base_text.len() > 60 || base_text.contains(' ') || base_text.contains(',') {
        base = PathBuf::from("/tmp");
    }
    tempfile::Builder::new()
        .prefix("qhmp-fx-")
        .tempdir_in(&base)
        .map_err(|e| format!("cannot create a temp dir in {}: {e}", base.display()))
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
