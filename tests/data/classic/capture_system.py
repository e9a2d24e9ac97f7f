#!/usr/bin/env python3
"""Capture fixtures for the classic renderers of the system, display and
machine families from live QEMU.

Each fixture pairs the QMP replies a command is rendered from with the text
QEMU's own HMP prints for the same state:

    tests/data/classic/<7.2|10.0>/<renderer>[-<state>].json
    {"args": {...}, "replies": [{"return": ...} | {"error": ...}, ...],
     "hmp": "<text with CR LF>"}

Optional extra key: "current_cpu" (the monitor's CPU when it is not the
first one).

Usage: capture_system.py [--qemu7 PATH] [--qemu10 PATH] [--only NAME ...]

QEMU binaries default to $QHMP_QEMU_7 / $QHMP_QEMU_10 (or the exports in
/tmp/qemu-env.sh).  Every QEMU is started by this script on free loopback
ports with its QMP socket in a private temporary directory, and only those
processes are killed afterwards.
"""

import argparse
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# QEMU process and monitors


class Vm:
    """One QEMU process with a QMP socket and an HMP chardev socket."""

    def __init__(self, binary, extra_args, workdir):
        self.dir = tempfile.mkdtemp(dir=workdir)
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.hmp_path = os.path.join(self.dir, "hmp.sock")
        args = [binary, "-machine", "pc", "-S", "-nodefaults",
                "-display", "none",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-chardev", f"socket,id=hmpmon,path={self.hmp_path},"
                            "server=on,wait=off",
                "-mon", "chardev=hmpmon,mode=readline"]
        args += extra_args
        # The first "-machine pc" is overridden by a later -machine/-M.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.sock = self._connect(self.qmp_path)
        self.file = self.sock.makefile("rw")
        self._read_reply()  # greeting
        self.qmp("qmp_capabilities")
        self.hmp_sock = None

    def _connect(self, path):
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                raise RuntimeError(f"QEMU exited early: {err.strip()}")
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                return s
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"no monitor socket at {path}")
                time.sleep(0.05)

    def _read_reply(self):
        while True:
            line = self.file.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def qmp(self, execute, arguments=None):
        """Runs a QMP command; returns its {"return"} or {"error"} object."""
        cmd = {"execute": execute}
        if arguments is not None:
            cmd["arguments"] = arguments
        self.file.write(json.dumps(cmd) + "\n")
        self.file.flush()
        reply = self._read_reply()
        if "error" in reply:
            reply["error"].pop("id", None)
            return {"error": reply["error"]}
        return {"return": reply["return"]}

    def hmp(self, line):
        """HMP through QMP human-monitor-command (a fresh monitor each time)."""
        reply = self.qmp("human-monitor-command", {"command-line": line})
        if "error" in reply:
            raise RuntimeError(f"human-monitor-command {line!r}: {reply}")
        return reply["return"]

    def hmp_chardev(self, line):
        """HMP on the persistent chardev monitor (keeps `cpu N` state).

        Returns the command's output: what the monitor writes after echoing
        the line and before the next prompt."""
        if self.hmp_sock is None:
            self.hmp_sock = self._connect(self.hmp_path)
            self._read_until_prompt()
        self.hmp_sock.sendall(line.encode() + b"\r")
        raw = self._read_until_prompt()
        # The readline echo of the typed line ends with CR LF.
        echo_end = raw.find(b"\r\n")
        if echo_end < 0:
            raise RuntimeError(f"no echo for {line!r}: {raw!r}")
        return raw[echo_end + 2:].decode()

    def _read_until_prompt(self):
        buf = b""
        self.hmp_sock.settimeout(10)
        while not buf.endswith(b"(qemu) "):
            chunk = self.hmp_sock.recv(65536)
            if not chunk:
                raise RuntimeError("HMP chardev closed")
            buf += chunk
        return buf[:-len(b"(qemu) ")]

    def close(self):
        """Quits QEMU (so logs such as a replay file are finished), killing
        it if it does not exit in time."""
        if self.proc.poll() is None:
            try:
                self.file.write('{"execute": "quit"}\n')
                self.file.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for s in (self.sock, self.hmp_sock):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def free_tcp_port(low=20000, high=60000):
    """A loopback TCP port nobody listens on right now."""
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def free_vnc_display():
    """A VNC display number whose port (5900 + N) is free."""
    return free_tcp_port(6000, 9000) - 5900


# --------------------------------------------------------------------------
# Protocol clients that make QEMU see a connected VNC / SPICE client


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RuntimeError("peer closed during handshake")
        data += chunk
    return data


def vnc_client(port):
    """Connects an RFB 3.8 client with security type None; returns socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    version = recv_exact(s, 12)
    if not version.startswith(b"RFB "):
        raise RuntimeError(f"not an RFB server: {version!r}")
    s.sendall(b"RFB 003.008\n")
    count = recv_exact(s, 1)[0]
    types = recv_exact(s, count)
    if 1 not in types:
        raise RuntimeError(f"server does not offer security None: {types!r}")
    s.sendall(bytes([1]))
    result = struct.unpack(">I", recv_exact(s, 4))[0]
    if result != 0:
        raise RuntimeError("VNC security handshake failed")
    s.sendall(bytes([1]))  # ClientInit: shared
    header = recv_exact(s, 24)  # ServerInit up to the name length
    name_len = struct.unpack(">I", header[20:24])[0]
    recv_exact(s, name_len)
    return s


SPICE_MAGIC = b"REDQ"


def spice_link(port, channel_type, channel_id=0, connection_id=0):
    """Links one SPICE channel (old-style ticket, no auth selection).

    Returns (socket, link reply public key)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    # SpiceLinkMess: connection_id u32, channel_type u8, channel_id u8,
    # num_common_caps u32, num_channel_caps u32, caps_offset u32.
    mess = struct.pack("<IBBIII", connection_id, channel_type, channel_id,
                       0, 0, 18)
    s.sendall(SPICE_MAGIC + struct.pack("<III", 2, 2, len(mess)) + mess)
    header = recv_exact(s, 16)
    if header[:4] != SPICE_MAGIC:
        raise RuntimeError(f"not a SPICE server: {header!r}")
    size = struct.unpack("<I", header[12:16])[0]
    reply = recv_exact(s, size)
    error = struct.unpack("<I", reply[:4])[0]
    if error != 0:
        raise RuntimeError(f"SPICE link error {error}")
    pub_key = reply[4:4 + 162]
    s.sendall(spice_ticket(pub_key))
    result = struct.unpack("<I", recv_exact(s, 4))[0]
    if result != 0:
        raise RuntimeError(f"SPICE ticket rejected ({result})")
    return s


def spice_ticket(pub_key_der):
    """An empty password RSA-OAEP encrypted with the server's key.

    spice-server decrypts the ticket even with ticketing disabled, so random
    bytes are not enough."""
    with tempfile.NamedTemporaryFile(suffix=".der") as key:
        key.write(pub_key_der)
        key.flush()
        out = subprocess.run(
            ["openssl", "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER",
             "-inkey", key.name, "-pkeyopt", "rsa_padding_mode:oaep"],
            input=b"\0", capture_output=True, check=True)
    return out.stdout


def spice_session_id(sock):
    """Reads SPICE_MSG_MAIN_INIT from a linked main channel: session id."""
    # Full data header: serial u64, type u16, size u32, sub_list u32.
    header = recv_exact(sock, 18)
    size = struct.unpack("<I", header[10:14])[0]
    body = recv_exact(sock, size)
    return struct.unpack("<I", body[:4])[0]


class FakeTpm:
    """A pseudo-terminal that answers like a TPM 2.0 character device, so
    that a tpm-passthrough backend can be created without a real TPM."""

    def __init__(self):
        import pty
        import threading
        import tty
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the raw mode sticks
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        import select
        buf = b""
        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                continue
            try:
                buf += os.read(self.master, 4096)
            except OSError:
                return
            while len(buf) >= 10:
                size = struct.unpack(">I", buf[2:6])[0]
                if len(buf) < size:
                    break
                ordinal = struct.unpack(">I", buf[6:10])[0]
                buf = buf[size:]
                os.write(self.master, self._answer(ordinal))

    @staticmethod
    def _answer(ordinal):
        if ordinal == 0x17A:  # TPM2_CC_GetCapability: max command/response
            body = struct.pack(">BIIIIII", 0, 6, 2, 0x11E, 4096, 0x11F, 4096)
        else:
            body = b""
        return struct.pack(">HII", 0x8001, 10 + len(body), 0) + body

    def close(self):
        self._stop = True
        self._thread.join(timeout=2)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


# --------------------------------------------------------------------------
# Fixture capture


class Capturer:
    def __init__(self, version, binary, workdir, only):
        self.version = version
        self.binary = binary
        self.workdir = workdir
        self.only = only
        self.outdir = os.path.join(HERE, version)
        os.makedirs(self.outdir, exist_ok=True)
        self.written = []

    def wants(self, name):
        return not self.only or name in self.only

    def vm(self, *extra):
        args = []
        for a in extra:
            args += a.split() if isinstance(a, str) else list(a)
        return Vm(self.binary, args, self.workdir)

    def capture(self, vm, name, state, calls, hmp_line, args=None,
                via_chardev=False, current_cpu=None):
        """Runs `calls` (list of (execute, arguments)) then `hmp_line`."""
        if not self.wants(name):
            return
        replies = [vm.qmp(execute, arguments) for execute, arguments in calls]
        text = vm.hmp_chardev(hmp_line) if via_chardev else vm.hmp(hmp_line)
        fixture = {"args": args or {}, "replies": replies, "hmp": text}
        if current_cpu is not None:
            fixture["current_cpu"] = current_cpu
        fname = name + (f"-{state}" if state else "") + ".json"
        with open(os.path.join(self.outdir, fname), "w") as f:
            json.dump(fixture, f, indent=1, ensure_ascii=False)
            f.write("\n")
        self.written.append(fname)

    def simple(self, vm, name, state, execute, hmp_line=None, arguments=None):
        self.capture(vm, name, state, [(execute, arguments)],
                     hmp_line or f"info {name}")


def wait_for(vm, execute, pred, timeout=30, arguments=None):
    """Polls a QMP query until pred(return value) holds."""
    deadline = time.time() + timeout
    while True:
        reply = vm.qmp(execute, arguments)
        if "return" in reply and pred(reply["return"]):
            return reply["return"]
        if time.time() > deadline:
            raise RuntimeError(f"timeout waiting on {execute}: {reply}")
        time.sleep(0.2)


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


# --------------------------------------------------------------------------
# Scenarios: system family


def system_basic(c):
    vm = c.vm()
    try:
        c.simple(vm, "version", "", "query-version")
        c.simple(vm, "name", "unset", "query-name")
        c.simple(vm, "uuid", "default", "query-uuid")
        c.simple(vm, "status", "prelaunch", "query-status")
        c.simple(vm, "kvm", "tcg", "query-kvm")
        c.simple(vm, "dump", "none", "query-dump")
        c.simple(vm, "replay", "none", "query-replay")
        c.simple(vm, "vm-generation-id", "absent", "query-vm-generation-id")
        c.simple(vm, "memory_size_summary", "", "query-memory-size-summary")
        c.simple(vm, "dirty_rate", "unstarted", "query-dirty-rate")
        c.simple(vm, "vcpu_dirty_limit", "off", "query-vcpu-dirty-limit")
        c.simple(vm, "sev", "off", "query-sev")
        c.simple(vm, "sgx", "off", "query-sgx")
        stats(c, vm, "tcg-vm", "vm")
        stats(c, vm, "bad-target", "bogus")
        stats(c, vm, "bad-provider", "vm", provider="bogus")
        # "cryptodev" is a provider and target since 8.0 only.
        stats(c, vm, "cryptodev-provider", "vm", provider="cryptodev")
        stats(c, vm, "cryptodev-target", "cryptodev")
        human_readable_text(c, vm)
        vm.qmp("cont")
        c.simple(vm, "status", "running", "query-status")
        vm.qmp("stop")
        c.simple(vm, "status", "paused", "query-status")
        stats(c, vm, "tcg-vcpu", "vcpu",
              vcpu_path=vm.qmp("query-cpus-fast")["return"][0]["qom-path"])
        vm.qmp("migrate", {"uri": "exec:cat > /dev/null"})
        wait_for(vm, "query-migrate", lambda r: r.get("status") == "completed")
        c.simple(vm, "status", "postmigrate", "query-status")
    finally:
        vm.close()

    vm = c.vm("-name myvm -uuid 6f1d8c5e-3b7a-4c2e-9a41-0d5e7f8a9b10")
    try:
        c.simple(vm, "name", "set", "query-name")
        c.simple(vm, "uuid", "set", "query-uuid")
    finally:
        vm.close()

    vm = c.vm("-incoming defer")
    try:
        c.simple(vm, "status", "inmigrate", "query-status")
    finally:
        vm.close()

    if c.version == "7.2":
        vm = c.vm()
        try:
            vm.hmp("singlestep on")
            c.simple(vm, "status", "singlestep", "query-status")
            vm.qmp("cont")
            c.simple(vm, "status", "singlestep-running", "query-status")
        finally:
            vm.close()

    vm = c.vm("-device vmgenid,guid=324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87")
    try:
        c.simple(vm, "vm-generation-id", "set", "query-vm-generation-id")
    finally:
        vm.close()


# `info` items backed by an x-query-* command returning human-readable-text
# (item -> QMP command; default x-query-<item>).
HUMAN_READABLE = {
    "7.2": {"irq": None, "numa": None, "usb": None, "roms": None,
            "ramblock": None, "jit": None, "opcount": None, "profile": None,
            "rdma": None},
    "10.0": {"irq": None, "numa": None, "usb": None, "roms": None,
             "ramblock": None, "jit": None, "opcount": None,
             "pic": "x-query-interrupt-controllers"},
}


def human_readable_text(c, vm, state_suffix=""):
    for item, command in HUMAN_READABLE[c.version].items():
        c.capture(vm, "human-readable-text", item + state_suffix,
                  [(command or "x-query-" + item, None)], f"info {item}")


def stats(c, vm, state, target, names=None, provider=None, vcpu_path=None):
    """info stats: query-stats-schemas then query-stats, as HMP does."""
    args = {"target": target}
    schema_args = {}
    if provider is not None:
        args["provider"] = provider
        schema_args["provider"] = provider
    if names is not None:
        args["names"] = names
    flt = {"target": target}
    if target == "vcpu" and vcpu_path is not None:
        flt["vcpus"] = [vcpu_path]
    if names is not None or provider is not None:
        providers = [provider] if provider else STATS_PROVIDERS[c.version]
        reqs = []
        for p in providers:
            req = {"provider": p}
            if names is not None and names != "*":
                req["names"] = names.split(",")
            reqs.append(req)
        flt["providers"] = reqs
    line = " ".join(["info stats", target] +
                    ([names if names is not None else "*"]
                     if names is not None or provider is not None else []) +
                    ([provider] if provider is not None else []))
    c.capture(vm, "stats", state,
              [("query-stats-schemas", schema_args or None),
               ("query-stats", flt)], line, args=args)


STATS_PROVIDERS = {"7.2": ["kvm"], "10.0": ["kvm", "cryptodev"]}


def system_kvm(c):
    if not kvm_usable():
        print("note: /dev/kvm unusable, skipping KVM fixtures", file=sys.stderr)
        return
    vm = c.vm("-accel kvm -smp 2")
    try:
        c.simple(vm, "kvm", "enabled", "query-kvm")
        cpu0 = vm.qmp("query-cpus-fast")["return"][0]["qom-path"]
        stats(c, vm, "kvm-vm", "vm")
        stats(c, vm, "kvm-vcpu", "vcpu", vcpu_path=cpu0)
        stats(c, vm, "kvm-vcpu-names", "vcpu", names="halt_exits,exits",
              vcpu_path=cpu0)
        stats(c, vm, "kvm-vm-provider", "vm", names="*", provider="kvm")
        stats(c, vm, "kvm-vcpu-one-provider", "vcpu",
              names="halt_wait_hist,blocking", provider="kvm",
              vcpu_path=cpu0)
        human_readable_text(c, vm, "-kvm")
        # Dirty bitmap mode is what KVM without a dirty ring offers.
        vm.qmp("calc-dirty-rate", {"calc-time": 1, "mode": "dirty-bitmap"})
        wait_for(vm, "query-dirty-rate", lambda r: r["status"] == "measured")
        c.simple(vm, "dirty_rate", "dirty-bitmap", "query-dirty-rate")
    finally:
        vm.close()

    vm = c.vm("-accel kvm,dirty-ring-size=4096 -smp 2")
    try:
        vm.qmp("cont")
        vm.qmp("calc-dirty-rate", {"calc-time": 1, "mode": "dirty-ring"})
        wait_for(vm, "query-dirty-rate", lambda r: r["status"] == "measured")
        vm.qmp("stop")
        c.simple(vm, "dirty_rate", "dirty-ring", "query-dirty-rate")
        vm.qmp("set-vcpu-dirty-limit", {"dirty-rate": 200})
        vm.qmp("set-vcpu-dirty-limit", {"dirty-rate": 50, "cpu-index": 1})
        c.simple(vm, "vcpu_dirty_limit", "set", "query-vcpu-dirty-limit")
    finally:
        vm.close()


def system_dirty_rate_tcg(c):
    vm = c.vm()
    try:
        vm.qmp("calc-dirty-rate", {"calc-time": 1, "sample-pages": 512})
        c.simple(vm, "dirty_rate", "measuring", "query-dirty-rate")
        wait_for(vm, "query-dirty-rate", lambda r: r["status"] == "measured")
        c.simple(vm, "dirty_rate", "measured", "query-dirty-rate")
        if c.version != "7.2":
            vm.qmp("calc-dirty-rate", {"calc-time": 300,
                                       "calc-time-unit": "millisecond"})
            wait_for(vm, "query-dirty-rate",
                     lambda r: r["status"] == "measured")
            c.simple(vm, "dirty_rate", "milliseconds", "query-dirty-rate")
    finally:
        vm.close()


def system_dump(c):
    vm = c.vm("-m 256")
    try:
        out = os.path.join(vm.dir, "dump.elf")
        vm.qmp("dump-guest-memory", {"paging": False,
                                     "protocol": "file:" + out})
        c.simple(vm, "dump", "completed", "query-dump")
        # A dump into a FIFO nobody reads stalls with a stable progress.
        fifo = os.path.join(vm.dir, "dump.fifo")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        vm.qmp("dump-guest-memory", {"paging": False, "detach": True,
                                     "protocol": "file:" + fifo})
        wait_for(vm, "query-dump",
                 lambda r: r["status"] == "active" and r["completed"] > 0)
        time.sleep(0.5)
        c.simple(vm, "dump", "active", "query-dump")
        # Closing the reader makes the stalled write fail.
        os.close(reader)
        wait_for(vm, "query-dump", lambda r: r["status"] != "active")
        c.simple(vm, "dump", "failed", "query-dump")
    finally:
        vm.close()


def system_replay(c):
    log = os.path.join(c.workdir, f"replay-{c.version}.bin")
    vm = c.vm(f"-icount shift=auto,rr=record,rrfile={log}")
    try:
        c.simple(vm, "replay", "record", "query-replay")
    finally:
        vm.close()
    vm = c.vm(f"-icount shift=auto,rr=replay,rrfile={log}")
    try:
        c.simple(vm, "replay", "play", "query-replay")
    finally:
        vm.close()


# --------------------------------------------------------------------------
# Scenarios: display family


def display_vnc(c):
    vm = c.vm()
    try:
        c.simple(vm, "vnc", "none", "query-vnc-servers")
        c.simple(vm, "spice", "disabled", "query-spice")
        c.simple(vm, "mice", "ps2", "query-mice")
    finally:
        vm.close()

    vm = c.vm("-vnc none")
    try:
        c.simple(vm, "vnc", "not-listening", "query-vnc-servers")
    finally:
        vm.close()

    d = free_vnc_display()
    vm = c.vm(f"-vnc 127.0.0.1:{d}")
    try:
        c.simple(vm, "vnc", "server", "query-vnc-servers")
        client = vnc_client(5900 + d)
        try:
            c.simple(vm, "vnc", "client", "query-vnc-servers")
            second = vnc_client(5900 + d)
            c.simple(vm, "vnc", "two-clients", "query-vnc-servers")
            second.close()
        finally:
            client.close()
    finally:
        vm.close()

    d = free_vnc_display()
    ws = free_tcp_port()
    vm = c.vm(f"-vnc 127.0.0.1:{d},websocket=127.0.0.1:{ws},password=on")
    try:
        c.simple(vm, "vnc", "websocket-password", "query-vnc-servers")
    finally:
        vm.close()

    d = free_vnc_display()
    vm = c.vm("-object tls-creds-anon,id=tls0,endpoint=server",
              f"-vnc 127.0.0.1:{d},tls-creds=tls0")
    try:
        c.simple(vm, "vnc", "vencrypt", "query-vnc-servers")
    finally:
        vm.close()

    sock = os.path.join(c.workdir, f"vnc-{c.version}.sock")
    d = free_vnc_display()
    vm = c.vm("-device VGA,id=vga0",
              f"-vnc unix:{sock},id=unixvnc,display=vga0",
              f"-vnc 127.0.0.1:{d},id=second")
    try:
        c.simple(vm, "vnc", "unix-display-two", "query-vnc-servers")
    finally:
        vm.close()

    # Reverse connection: QEMU connects out to a listening viewer.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        vm = c.vm(f"-vnc 127.0.0.1:{port},reverse=on")
        try:
            conn, _ = listener.accept()
            try:
                conn.settimeout(10)
                recv_exact(conn, 12)
                conn.sendall(b"RFB 003.008\n")
                count = recv_exact(conn, 1)[0]
                recv_exact(conn, count)
                conn.sendall(bytes([1]))
                recv_exact(conn, 4)
                c.simple(vm, "vnc", "reverse", "query-vnc-servers")
            finally:
                conn.close()
        finally:
            vm.close()

    if socket.has_ipv6:
        d = free_vnc_display()
        try:
            vm = c.vm(f"-vnc [::1]:{d},ipv6=on")
        except RuntimeError as e:
            print(f"note: no IPv6 VNC fixture ({e})", file=sys.stderr)
        else:
            try:
                c.simple(vm, "vnc", "ipv6", "query-vnc-servers")
            finally:
                vm.close()


def display_spice(c):
    port = free_tcp_port()
    vm = c.vm(f"-spice port={port},addr=127.0.0.1,disable-ticketing=on",
              "-chardev spiceport,id=wd,name=org.spice-space.webdav.0",
              "-device virtio-serial",
              "-device virtserialport,chardev=wd,"
              "name=org.spice-space.webdav.0")
    try:
        c.simple(vm, "spice", "no-channels", "query-spice")
        main = spice_link(port, 1)
        session = spice_session_id(main)
        c.simple(vm, "spice", "main", "query-spice")
        inputs = spice_link(port, 3, 0, session)
        webdav = spice_link(port, 11, 0, session)
        time.sleep(0.2)
        c.simple(vm, "spice", "channels", "query-spice")
        for s in (webdav, inputs, main):
            s.close()
    finally:
        vm.close()

    port = free_tcp_port()
    vm = c.vm(f"-spice port={port},addr=127.0.0.1,password-secret=sec0",
              "-object secret,id=sec0,data=hunter2")
    try:
        c.simple(vm, "spice", "ticketing", "query-spice")
    except Exception:
        raise
    finally:
        vm.close()

    certs = make_spice_certs(c.workdir)
    if certs:
        port, tls = free_tcp_port(), free_tcp_port()
        vm = c.vm(f"-spice port={port},tls-port={tls},addr=127.0.0.1,"
                  f"x509-dir={certs},disable-ticketing=on")
        try:
            c.simple(vm, "spice", "tls", "query-spice")
        finally:
            vm.close()

    sock = os.path.join(c.workdir, f"spice-{c.version}.sock")
    vm = c.vm(f"-spice unix=on,addr={sock},disable-ticketing=on")
    try:
        c.simple(vm, "spice", "unix", "query-spice")
    finally:
        vm.close()


def make_spice_certs(workdir):
    """A self-signed CA and server certificate for spice tls-port."""
    d = os.path.join(workdir, "spice-certs")
    if os.path.exists(os.path.join(d, "server-key.pem")):
        return d
    os.makedirs(d, exist_ok=True)
    try:
        run = lambda *a: subprocess.run(a, cwd=d, check=True,
                                        capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "ca-key.pem", "-out", "ca-cert.pem", "-days", "2",
            "-subj", "/CN=qhmp test CA")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "server-key.pem", "-out", "server.csr",
            "-subj", "/CN=localhost")
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA",
            "ca-cert.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", "server-cert.pem", "-days", "2")
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"note: no spice TLS fixture ({e})", file=sys.stderr)
        return None
    return d


def display_mice(c):
    vm = c.vm("-usb -device usb-tablet -device usb-mouse")
    try:
        c.simple(vm, "mice", "usb", "query-mice")
        vm.qmp("cont")
        time.sleep(0.5)
        vm.hmp("mouse_set 4")
        c.simple(vm, "mice", "usb-set", "query-mice")
    finally:
        vm.close()
    vm = c.vm("-machine none")
    try:
        c.simple(vm, "mice", "none", "query-mice")
    finally:
        vm.close()


# --------------------------------------------------------------------------
# Scenarios: machine family


def machine_cpus(c):
    vm = c.vm()
    try:
        c.simple(vm, "cpus", "one", "query-cpus-fast")
        c.simple(vm, "balloon", "absent", "query-balloon")
        c.simple(vm, "iothreads", "none", "query-iothreads")
        c.simple(vm, "memdev", "default", "query-memdev")
        c.simple(vm, "memory-devices", "none", "query-memory-devices")
        c.simple(vm, "hotpluggable-cpus", "one", "query-hotpluggable-cpus")
        c.simple(vm, "tpm", "none", "query-tpm")
        if c.version != "7.2":
            c.simple(vm, "cryptodev", "none", "query-cryptodev")
    finally:
        vm.close()

    vm = c.vm("-smp 2,sockets=1,dies=1,cores=2,threads=1,maxcpus=2")
    try:
        c.simple(vm, "cpus", "two", "query-cpus-fast")
        vm.hmp_chardev("cpu 1")
        c.capture(vm, "cpus", "two-current-1", [("query-cpus-fast", None)],
                  "info cpus", via_chardev=True, current_cpu=1)
    finally:
        vm.close()

    vm = c.vm("-smp 2,sockets=2,dies=2,cores=2,threads=2,maxcpus=16")
    try:
        c.simple(vm, "hotpluggable-cpus", "topology",
                 "query-hotpluggable-cpus")
    finally:
        vm.close()

    vm = c.vm("-machine none")
    try:
        c.simple(vm, "hotpluggable-cpus", "unsupported",
                 "query-hotpluggable-cpus")
        c.simple(vm, "cpus", "none", "query-cpus-fast")
        c.simple(vm, "memdev", "none", "query-memdev")
    finally:
        vm.close()


def machine_devices(c):
    vm = c.vm("-device virtio-balloon,id=bal0",
              "-object iothread,id=io0",
              "-object iothread,id=io1,poll-max-ns=1000,poll-grow=2,"
              "poll-shrink=4,aio-max-batch=8")
    try:
        c.simple(vm, "balloon", "present", "query-balloon")
        c.simple(vm, "iothreads", "two", "query-iothreads")
    finally:
        vm.close()

    vm = c.vm("-m 512M,slots=4,maxmem=4G",
              "-machine pc,nvdimm=on",
              "-object memory-backend-ram,id=m0,size=128M",
              "-object memory-backend-ram,id=m1,size=64M,merge=off,dump=off,"
              "prealloc=on,policy=bind,host-nodes=0",
              "-object memory-backend-memfd,id=m2,size=64M,share=on,"
              "reserve=off",
              "-object memory-backend-ram,id=m3,size=256M",
              "-object memory-backend-file,id=m4,size=32M,share=on,"
              f"mem-path={c.workdir}/pmem-{c.version}.img",
              "-object memory-backend-ram,id=m5,size=64M",
              "-device pc-dimm,id=dimm0,memdev=m0",
              "-device nvdimm,memdev=m5",
              "-device virtio-mem-pci,id=vmem0,memdev=m3,"
              "requested-size=128M,block-size=2M",
              "-device virtio-pmem-pci,id=pmem0,memdev=m4")
    try:
        c.simple(vm, "memdev", "backends", "query-memdev")
        c.simple(vm, "memory-devices", "all", "query-memory-devices")
        c.simple(vm, "memory_size_summary", "plugged",
                 "query-memory-size-summary")
    finally:
        vm.close()

    if c.version != "7.2":
        vm = c.vm("-object cryptodev-backend-builtin,id=cd0",
                  "-object cryptodev-backend-builtin,id=cd1",
                  "-device virtio-crypto-pci,cryptodev=cd0")
        try:
            c.simple(vm, "cryptodev", "builtin", "query-cryptodev")
        finally:
            vm.close()


def machine_tpm(c):
    tpm = FakeTpm()
    try:
        vm = c.vm(f"-tpmdev passthrough,id=tpm0,path={tpm.path},"
                  "cancel-path=/dev/null",
                  "-device tpm-tis,tpmdev=tpm0")
    except RuntimeError as e:
        print(f"note: no TPM passthrough fixture ({e})", file=sys.stderr)
        tpm.close()
        return
    try:
        c.simple(vm, "tpm", "passthrough", "query-tpm")
    finally:
        vm.close()
        tpm.close()


SCENARIOS = [system_basic, system_kvm, system_dirty_rate_tcg, system_dump,
             system_replay, display_vnc, display_spice, display_mice,
             machine_cpus, machine_devices, machine_tpm]


def qemu_from_env(name):
    if os.environ.get(name):
        return os.environ[name]
    try:
        with open("/tmp/qemu-env.sh") as f:
            for line in f:
                if line.startswith(f"export {name}="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qemu7", default=qemu_from_env("QHMP_QEMU_7"))
    ap.add_argument("--qemu10", default=qemu_from_env("QHMP_QEMU_10"))
    ap.add_argument("--only", nargs="*", default=[],
                    help="renderer names to capture (default: all)")
    ap.add_argument("--scenario", nargs="*", default=[],
                    help="scenario functions to run (default: all)")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qhmp-capture-") as work:
        for version, binary in (("7.2", opts.qemu7), ("10.0", opts.qemu10)):
            if not binary:
                sys.exit(f"no QEMU {version} binary (set QHMP_QEMU_*)")
            c = Capturer(version, binary, work, set(opts.only))
            for scenario in SCENARIOS:
                if opts.scenario and scenario.__name__ not in opts.scenario:
                    continue
                scenario(c)
            print(f"{version}: wrote {len(c.written)} fixtures")


if __name__ == "__main__":
    main()
