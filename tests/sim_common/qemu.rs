//! A real QEMU 10.0 set up like the simulated VM, driven over QMP with a
//! blocking client. Missing QEMU fails the test when `CI=true`, otherwise
//! the test prints a note and returns early.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RealQemu {
    /// Events received so far, oldest first.
    pub events: Vec<Value>,
    child: Child,
    rd: BufReader<UnixStream>,
    wr: UnixStream,
    dir: tempfile::TempDir,
}

/// The environment variable naming the binary of a release line.
pub fn binary_var(version: &str) -> &'static str {
    match version {
        "5.2" => "QHMP_QEMU_5",
        "7.2" => "QHMP_QEMU_7",
        "8.2" => "QHMP_QEMU_8",
        "10.0" => "QHMP_QEMU_10",
        "11.1" => "QHMP_QEMU_11",
        other => panic!("unknown QEMU version {other}"),
    }
}

fn qemu_binary() -> Option<PathBuf> {
    release_binary("10.0")
}

fn release_binary(version: &str) -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let var = binary_var(version);
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        other => {
            let why = format!("QEMU {version} not available ({var}={other:?})");
            assert!(!ci, "{why} and CI=true");
            eprintln!("note: {why}; skipping the comparison with real QEMU");
            None
        }
    }
}

impl RealQemu {
    /// Start QEMU 10.0 with the simulator's devices, ids and auth setup
    /// (display servers on unix sockets, so no ports are needed).
    pub fn start() -> Option<RealQemu> {
        let bin = qemu_binary()?;
        Some(Self::launch(&bin, true))
    }

    /// A bare paused PC of another release (enough for its schema).
    pub fn start_bare(version: &str) -> Option<RealQemu> {
        let bin = release_binary(version)?;
        Some(Self::launch(&bin, false))
    }

    fn launch(bin: &Path, devices: bool) -> RealQemu {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |name: &str| dir.path().join(name).display().to_string();
        let disk = std::fs::File::create(p("disk.img")).expect("disk image");
        disk.set_len(64 << 20).expect("size disk");
        let iso = std::fs::File::create(p("cd.iso")).expect("iso");
        iso.set_len(2 << 20).expect("size iso");
        let sock = p("qmp.sock");
        let base = [
            "-machine".to_string(),
            "pc".into(),
            "-S".into(),
            "-nodefaults".into(),
            "-display".into(),
            "none".into(),
            "-qmp".into(),
            format!("unix:{sock},server=on,wait=off"),
        ];
        let rich: Vec<String> = [
            "-no-shutdown",
            "-name",
            "sim-vm",
            "-m",
            "1024",
            "-smp",
            "2",
            "-drive",
            &format!("file={},if=none,id=drive0,format=raw", p("disk.img")),
            "-device",
            "virtio-blk-pci,drive=drive0,id=virtio-disk0",
            "-drive",
            &format!("if=ide,index=2,media=cdrom,file={},format=raw", p("cd.iso")),
            "-device",
            "VGA,id=video0",
            "-netdev",
            "user,id=net0",
            "-device",
            "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:12:34:56",
            "-device",
            "virtio-balloon-pci,id=balloon0",
            "-chardev",
            "ringbuf,id=serial0,size=65536",
            "-chardev",
            "null,id=null0",
            "-object",
            "iothread,id=iothread0",
            "-object",
            "memory-backend-ram,id=mem0,size=1024M",
            "-machine",
            "memory-backend=mem0",
            "-vnc",
            &format!("unix:{},password=on", p("vnc.sock")),
            "-spice",
            &format!("unix=on,addr={}", p("spice.sock")),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut args = base.to_vec();
        if devices {
            args.extend(rich);
        }
        let stderr = std::fs::File::create(p("qemu.err")).expect("stderr file");
        let child = Command::new(bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let stream = connect(Path::new(&sock)).unwrap_or_else(|| {
            let err = std::fs::read_to_string(p("qemu.err")).unwrap_or_default();
            panic!("QEMU did not open its QMP socket; stderr: {err}")
        });
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let wr = stream.try_clone().expect("clone stream");
        let mut q = RealQemu {
            events: Vec::new(),
            child,
            rd: BufReader::new(stream),
            wr,
            dir,
        };
        q.next_message(); // greeting
        let caps = q.raw(r#"{"execute":"qmp_capabilities"}"#);
        assert_eq!(caps, json!({"return": {}}));
        q
    }

    pub fn temp_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn next_message(&mut self) -> Value {
        let mut line = String::new();
        self.rd.read_line(&mut line).expect("read from QEMU");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON from QEMU {line:?}: {e}"))
    }

    /// Send one request line; the reply (events are skipped).
    pub fn raw(&mut self, line: &str) -> Value {
        self.wr
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to QEMU");
        loop {
            let v = self.next_message();
            if v.get("event").is_none() {
                return v;
            }
            self.events.push(v);
        }
    }

    /// Collect events that arrive within `wait`.
    pub fn drain_events(&mut self, wait: Duration) {
        let _ = self.rd.get_ref().set_read_timeout(Some(wait));
        loop {
            let mut line = String::new();
            match self.rd.read_line(&mut line) {
                Ok(n) if n > 0 => match serde_json::from_str::<Value>(&line) {
                    Ok(v) if v.get("event").is_some() => self.events.push(v),
                    _ => break,
                },
                _ => break,
            }
        }
        let _ = self
            .rd
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(20)));
    }

    pub fn execute(&mut self, command: &str, arguments: &Value) -> Value {
        self.raw(&json!({"execute": command, "arguments": arguments}).to_string())
    }
}

fn connect(sock: &Path) -> Option<UnixStream> {
    for _ in 0..200 {
        if let Ok(s) = UnixStream::connect(sock) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

impl Drop for RealQemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
