"""Live-QEMU plumbing for capture_system.py: QEMU processes with QMP and
HMP monitors, minimal VNC/SPICE clients, a fake TPM, and the fixture
writer.  Only processes started here are ever killed."""

import json
import os
import random
import socket
import struct
import subprocess
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
