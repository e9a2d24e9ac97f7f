//! A paused QEMU 10.0 PC for the live benchmarks: a qcow2 disk (with a
//! backing file) on virtio-blk, an IDE cdrom, an e1000 NIC, VNC and SPICE on
//! loopback, and two QMP sockets (so two clients can hold one each).
//!
//! The benchmark must declare `mod qemu` (tests/support/qemu.rs) beside this
//! module; it provides the process handling and free ports.

use crate::qemu::{free_tcp_port, qemu_img, run_tool, QemuProcess};
use std::path::{Path, PathBuf};
use std::time::Duration;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Starting can lose a race for a free port; retry with fresh ones.
const LAUNCH_ATTEMPTS: usize = 3;

/// A running QEMU, killed by PID (and its temp dir removed) when dropped.
pub struct LiveVm {
    /// The two QMP sockets.
    pub qmp: [PathBuf; 2],
    process: QemuProcess,
    _dir: tempfile::TempDir,
}

impl LiveVm {
    /// `Ok(None)` (with a note printed) when `QHMP_QEMU_10` names no binary.
    pub fn start() -> Result<Option<LiveVm>, String> {
        let Some(qemu) = std::env::var_os("QHMP_QEMU_10")
            .map(PathBuf::from)
            .filter(|p| p.is_file())
        else {
            println!("note: QHMP_QEMU_10 is not set to a QEMU 10.0 binary; nothing to measure");
            return Ok(None);
        };
        let mut failures = Vec::new();
        for attempt in 1..=LAUNCH_ATTEMPTS {
            match Self::launch(&qemu) {
                Ok(vm) => return Ok(Some(vm)),
                Err(e) => failures.push(format!("attempt {attempt}: {e}")),
            }
        }
        Err(failures.join("\n"))
    }

    fn launch(qemu: &Path) -> Result<LiveVm, String> {
        // Short socket paths: sun_path holds 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("qhmp-bench-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let path = |name: &str| dir.path().join(name);
        let img = qemu_img(qemu);
        let (base, disk, cdrom) = (path("base.qcow2"), path("disk.qcow2"), path("cd.iso"));
        run_tool(&img, &["create", "-q", "-f", "qcow2", &show(&base), "64M"])?;
        run_tool(
            &img,
            &[
                "create",
                "-q",
                "-f",
                "qcow2",
                "-b",
                "base.qcow2",
                "-F",
                "qcow2",
                &show(&disk),
            ],
        )?;
        std::fs::write(&cdrom, [0x43; 4096]).map_err(|e| format!("cannot write cdrom: {e}"))?;

        let qmp = [path("qmp0.sock"), path("qmp1.sock")];
        let spice_port = free_tcp_port()?;
        let vnc_display = free_tcp_port()? - 5900;
        let mut args: Vec<String> = [
            "-machine",
            "pc",
            "-S",
            "-nodefaults",
            "-display",
            "none",
            "-m",
            "128M",
        ]
        .map(String::from)
        .to_vec();
        for socket in &qmp {
            args.push("-qmp".into());
            args.push(format!("unix:{},server=on,wait=off", show(socket)));
        }
        let rest = [
            (
                "-drive",
                format!("file={},format=qcow2,if=none,id=disk0", show(&disk)),
            ),
            ("-device", "virtio-blk-pci,drive=disk0,id=vblk0".into()),
            (
                "-drive",
                format!(
                    "file={},format=raw,if=ide,index=2,media=cdrom",
                    show(&cdrom)
                ),
            ),
            ("-netdev", "user,id=net0".into()),
            ("-device", "e1000,netdev=net0,id=nic0".into()),
            ("-vnc", format!("127.0.0.1:{vnc_display}")),
            (
                "-spice",
                format!("port={spice_port},addr=127.0.0.1,disable-ticketing=on"),
            ),
        ];
        for (flag, value) in rest {
            args.push(flag.into());
            args.push(value);
        }
        let mut process =
            QemuProcess::spawn(qemu, &args, &[], &path("qemu.log"), &path("qemu.pid"))?;
        for socket in &qmp {
            process.wait_for_path(socket, STARTUP_TIMEOUT)?;
        }
        Ok(LiveVm {
            qmp,
            process,
            _dir: dir,
        })
    }

    /// `--connect` / library target text for socket `index`.
    pub fn target(&self, index: usize) -> String {
        format!("unix:{}", show(&self.qmp[index % 2]))
    }

    /// QEMU's stderr so far.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}
