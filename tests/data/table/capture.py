#!/usr/bin/env python3
"""Captures the QMP replies behind the readable tables from a live QEMU.

Usage: capture.py QEMU_BINARY VERSION_DIR_NAME   (e.g. capture.py $QHMP_QEMU_7 7.2)

Starts QEMU itself (paused, loopback only, free ports picked at run time) with
a qcow2 disk, an IDE cdrom, VNC with one connected client (raw RFB 3.8
handshake, security None), SPICE with two separate sessions of two channels
each (main + inputs), virtio-balloon, usb-tablet, chardevs, a netdev + NIC,
an iothread, a memory backend plugged as a DIMM, -name and -uuid, and a
TPM (tpm-tis on an swtpm emulator) when swtpm is installed.  Each file
written under tests/data/table/VERSION/ is
    {"calls": [QMP commands], "replies": [return value or {"error": ...}]}
Variants: NAME-noclients (before any client connected), NAME-running /
-completed (after starting a job), and NAME-absent from a second QEMU without
SPICE, VNC or balloon.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port(start=0, stop=0):
    """A loopback TCP port nobody listens on (any, or the first in a range)."""
    for port in range(start, stop) if stop else [0]:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise SystemExit(f"no free port in {start}..{stop}")


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit(f"peer closed after {len(data)} of {n} bytes")
        data += chunk
    return data


class Qmp:
    def __init__(self, path):
        for _ in range(200):
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("QMP socket never came up")
        self.file = self.sock.makefile("rw")
        self._read()  # greeting
        self.call("qmp_capabilities")

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise SystemExit("QEMU closed the QMP socket")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def call(self, command, arguments=None):
        request = {"execute": command}
        if arguments is not None:
            request["arguments"] = arguments
        self.file.write(json.dumps(request) + "\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            return {"error": {k: reply["error"].get(k) for k in ("class", "desc")}}
        return reply["return"]


def start_qemu(qemu, tmp, extra):
    qmp_path = os.path.join(tmp, "qmp.sock")
    if os.path.exists(qmp_path):
        os.unlink(qmp_path)
    argv = [qemu, "-machine", "pc", "-S", "-nodefaults", "-display", "none",
            "-qmp", f"unix:{qmp_path},server=on,wait=off"] + extra
    # SPICE drops the previous client on a new main channel unless told otherwise.
    env = dict(os.environ, SPICE_DEBUG_ALLOW_MC="1")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return proc, Qmp(qmp_path)
    except SystemExit:
        proc.kill()
        sys.stderr.write(proc.stderr.read().decode(errors="replace"))
        raise


def start_swtpm(tmp):
    """A TPM 2.0 emulator for -tpmdev emulator; None without swtpm."""
    if not shutil.which("swtpm"):
        print("note: swtpm is not installed; the TPM list will be empty", file=sys.stderr)
        return None, []
    state = os.path.join(tmp, "tpm")
    os.makedirs(state, exist_ok=True)
    ctrl = os.path.join(tmp, "swtpm.sock")
    proc = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}",
                             "--ctrl", f"type=unixio,path={ctrl}", "--terminate"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(ctrl):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise SystemExit("swtpm never made its socket")
    return proc, ["-chardev", f"socket,id=chrtpm,path={ctrl}",
                  "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                  "-device", "tpm-tis,tpmdev=tpm0,id=tpmdev0"]


def vnc_client(port):
    """Connects and finishes the RFB 3.8 handshake with security type None."""
    s = socket.create_connection(("127.0.0.1", port))
    version = recv_exact(s, 12)
    if not version.startswith(b"RFB 003."):
        raise SystemExit(f"not an RFB server: {version!r}")
    s.sendall(b"RFB 003.008\n")
    count = recv_exact(s, 1)[0]
    types = recv_exact(s, count)
    if 1 not in types:
        raise SystemExit(f"VNC server does not offer security None: {list(types)}")
    s.sendall(b"\x01")
    if struct.unpack(">I", recv_exact(s, 4))[0] != 0:
        raise SystemExit("VNC security handshake failed")
    s.sendall(b"\x01")  # ClientInit: shared
    header = recv_exact(s, 24)
    recv_exact(s, struct.unpack(">I", header[20:24])[0])  # desktop name
    return s


SPICE_MAIN, SPICE_INPUTS = 1, 3
SPICE_MSG_MAIN_INIT = 103


def spice_ticket(public_key_der):
    """An empty password, RSA-OAEP encrypted with the server's key.

    With disable-ticketing=on the password is not checked, but spice-server
    0.15 still refuses a ticket it cannot decrypt."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:
        raise SystemExit("the SPICE handshake needs the python 'cryptography' package")
    key = serialization.load_der_public_key(public_key_der)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return key.encrypt(b"\0", oaep)


def spice_link(port, connection_id, channel_type, channel_id=0):
    """One SPICE link handshake (no capabilities, so full data headers)."""
    s = socket.create_connection(("127.0.0.1", port))
    mess = struct.pack("<IBBIII", connection_id, channel_type, channel_id, 0, 0, 18)
    s.sendall(struct.pack("<4sIII", b"REDQ", 2, 2, len(mess)) + mess)
    magic, major, _minor, size = struct.unpack("<4sIII", recv_exact(s, 16))
    if magic != b"REDQ" or major != 2:
        raise SystemExit(f"not a SPICE server: {magic!r} {major}")
    reply = recv_exact(s, size)
    if struct.unpack("<I", reply[:4])[0] != 0:
        raise SystemExit(f"SPICE link refused: error {struct.unpack('<I', reply[:4])[0]}")
    s.sendall(spice_ticket(reply[4:166]))
    result = struct.unpack("<I", recv_exact(s, 4))[0]
    if result != 0:
        raise SystemExit(f"SPICE ticket refused: error {result}")
    return s


def spice_session(port):
    """A main channel (a new session) plus an inputs channel joining it."""
    main = spice_link(port, 0, SPICE_MAIN)
    while True:
        _serial, msg_type, size, _sub = struct.unpack("<QHII", recv_exact(main, 18))
        body = recv_exact(main, size)
        if msg_type == SPICE_MSG_MAIN_INIT:
            session_id = struct.unpack("<I", body[:4])[0]
            break
    return [main, spice_link(port, session_id, SPICE_INPUTS)]


class Saver:
    def __init__(self, qmp, outdir):
        self.qmp, self.outdir = qmp, outdir

    def save(self, name, *calls):
        replies = [self.qmp.call(*c) if isinstance(c, tuple) else self.qmp.call(c) for c in calls]
        names = [c[0] if isinstance(c, tuple) else c for c in calls]
        with open(os.path.join(self.outdir, name + ".json"), "w") as f:
            json.dump({"calls": names, "replies": replies}, f, indent=1)
            f.write("\n")
        return replies


def wait_for(qmp, command, done, what):
    for _ in range(600):
        if done(qmp.call(command)):
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    qemu, version = sys.argv[1], sys.argv[2]
    outdir = os.path.join(HERE, version)
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="qhmp-table-")
    disk = os.path.join(tmp, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"], check=True)
    # Fixed ports may be asked for through the environment (shared machines).
    spice_port = int(os.environ.get("CAPTURE_SPICE_PORT") or free_port())
    vnc_port = int(os.environ.get("CAPTURE_VNC_PORT") or free_port(5910, 6000))
    ws_port = int(os.environ.get("CAPTURE_WEBSOCKET_PORT") or free_port())
    swtpm, tpm_args = start_swtpm(tmp)
    proc, qmp = start_qemu(qemu, tmp, tpm_args + [
        "-m", "128M,slots=2,maxmem=512M", "-smp", "2,maxcpus=4",
        "-name", "table-demo", "-uuid", "5b2f1c3e-8d4a-4e7b-9c61-0a1b2c3d4e5f",
        "-blockdev", f"driver=file,filename={disk},node-name=disk0-file",
        "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0",
        "-device", "virtio-blk-pci,drive=disk0,id=vda",
        "-drive", "if=none,id=cd0,media=cdrom",
        "-device", "ide-cd,drive=cd0,bus=ide.1,id=cdrom0",
        "-device", "VGA,id=video0",
        "-vnc", f"127.0.0.1:{vnc_port - 5900},websocket=127.0.0.1:{ws_port},display=video0",
        "-spice", f"port={spice_port},addr=127.0.0.1,disable-ticketing=on",
        "-device", "virtio-balloon-pci,id=balloon0",
        "-device", "qemu-xhci,id=usb", "-device", "usb-tablet,id=tablet0",
        "-chardev", "null,id=null0",
        "-chardev", "ringbuf,id=ring0,size=4096",
        "-chardev", f"socket,id=sock0,path={tmp}/serial.sock,server=on,wait=off",
        "-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0,id=nic0",
        "-object", "iothread,id=io0",
        "-object", "memory-backend-ram,id=mem0,size=64M",
        "-device", "pc-dimm,memdev=mem0,id=dimm0",
    ])
    clients = []
    try:
        s = Saver(qmp, outdir)
        s.save("spice-noclients", "query-spice")
        s.save("vnc-noclients", "query-vnc-servers")
        s.save("block-jobs", "query-block-jobs")
        s.save("migrate", "query-migrate")
        s.save("dump", "query-dump")
        clients.append(vnc_client(vnc_port))
        clients += spice_session(spice_port)
        clients += spice_session(spice_port)
        wait_for(qmp, "query-spice", lambda r: len(r.get("channels", [])) >= 4, "4 SPICE channels")
        s.save("spice", "query-spice")
        s.save("vnc", "query-vnc-servers")
        s.save("block", "query-block", "query-named-block-nodes")
        s.save("blockstats", "query-blockstats")
        for name in ["chardev", "cpus-fast", "pci", "mice", "migrate-capabilities",
                     "migrate-parameters", "iothreads", "memdev", "memory-devices",
                     "hotpluggable-cpus", "tpm", "status", "version", "kvm", "name",
                     "uuid", "balloon"]:
            file = {"cpus-fast": "cpus", "migrate-capabilities": "migrate_capabilities",
                    "migrate-parameters": "migrate_parameters"}.get(name, name)
            s.save(file, "query-" + name)
        # A mirror throttled to 1 byte/s stays running while we look at it.
        qmp.call("blockdev-add", {"driver": "null-co", "node-name": "target0", "size": 64 << 20})
        job = qmp.call("blockdev-mirror", {"job-id": "mirror0", "device": "disk0",
                                           "target": "target0", "sync": "full", "speed": 1})
        if isinstance(job, dict) and "error" in job:
            raise SystemExit(f"blockdev-mirror: {job}")
        s.save("block-jobs-running", "query-block-jobs")
        qmp.call("block-job-cancel", {"device": "mirror0", "force": True})
        wait_for(qmp, "query-block-jobs", lambda r: r == [], "the mirror to go away")
        dump = os.path.join(tmp, "guest.dump")
        qmp.call("dump-guest-memory", {"paging": False, "protocol": f"file:{dump}", "detach": True})
        wait_for(qmp, "query-dump", lambda r: r.get("status") != "active", "the dump")
        s.save("dump-completed", "query-dump")
        qmp.call("migrate", {"uri": "exec:cat > /dev/null"})
        wait_for(qmp, "query-migrate",
                 lambda r: r.get("status") in ("completed", "failed"), "the migration")
        s.save("migrate-completed", "query-migrate")
    finally:
        for c in clients:
            c.close()
        proc.kill()
        proc.wait()
        if swtpm:
            swtpm.kill()
            swtpm.wait()

    proc, qmp = start_qemu(qemu, tmp, [])
    try:
        s = Saver(qmp, outdir)
        s.save("spice-absent", "query-spice")
        s.save("vnc-absent", "query-vnc-servers")
        s.save("balloon-absent", "query-balloon")
        s.save("tpm-absent", "query-tpm")
        s.save("block-absent", "query-block", "query-named-block-nodes")
    finally:
        proc.kill()
        proc.wait()
    subprocess.run(["rm", "-rf", tmp], check=True)
    print(f"wrote {len(os.listdir(outdir))} files to {outdir}")


if __name__ == "__main__":
    main()
