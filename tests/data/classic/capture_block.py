#!/usr/bin/env python3
"""Captures the fixtures of the classic block/pci/migration/misc renderers.

For every case the script asks a live QEMU for the QMP replies a command's
translation makes and for the text QEMU's own HMP prints for the same state
(through `human-monitor-command`), and writes

    tests/data/classic/<major.minor>/<renderer>[-<state>].json
    {"args": {...}, "replies": [{"return": ...} | {"error": ...}], "hmp": "..."}

`args` are the parsed HMP arguments keyed by their args_type names; `hmp`
keeps QEMU's CR LF line ends.  A case is accepted only when the replies taken
just before and just after the HMP command are equal, so both describe the
same state (time-dependent values are retried until they agree; an active
migration's total-time, which moves every millisecond, is accepted when HMP
printed the value of the reply taken before it).

One deliberate exception: `idle_time_ns` in `info blockstats` counts wall-clock
nanoseconds since the last guest I/O and never holds still; for the
after-activity case the script copies HMP's value into the reply (all other
members must agree) and says so on stdout.

Usage: capture_block.py [7.2|10.0 ...]   (default: both)
QEMU binaries come from $QHMP_QEMU_7 and $QHMP_QEMU_10.  Each QEMU is started
by this script on unix sockets in a private temporary directory (TCP ports,
when needed, are picked free by the kernel) and only those PIDs are killed.
"""

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BINARIES = {
    "7.2": os.environ.get("QHMP_QEMU_7", "/usr/bin/qemu-system-x86_64"),
    "10.0": os.environ.get("QHMP_QEMU_10", "qemu-system-x86_64"),
}


class Qemu:
    """One QEMU process with a QMP connection on a unix socket."""

    def __init__(self, binary, args, workdir, name):
        self.sock = os.path.join(workdir, name + ".qmp")
        cmd = [binary, "-machine", "pc", "-S", "-nodefaults", "-display", "none",
               "-qmp", f"unix:{self.sock},server=on,wait=off"] + args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        atexit.register(self.close)
        deadline = time.time() + 30
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                break
            except OSError:
                s.close()
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{name}: QEMU exited: {self.proc.stderr.read().decode()}")
                if time.time() > deadline:
                    raise RuntimeError(f"{name}: QMP socket never came up")
                time.sleep(0.05)
        self.file = s.makefile("rw")
        self.read()
        self.ok("qmp_capabilities")

    def read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def qmp(self, command, arguments=None):
        request = {"execute": command}
        if arguments is not None:
            request["arguments"] = arguments
        self.file.write(json.dumps(request) + "\n")
        self.file.flush()
        return self.read()

    def ok(self, command, arguments=None):
        reply = self.qmp(command, arguments)
        if "return" not in reply:
            raise RuntimeError(f"{command} {arguments}: {reply}")
        return reply["return"]

    def hmp(self, line):
        return self.ok("human-monitor-command", {"command-line": line})

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def outcome(reply):
    if "return" in reply:
        return {"return": reply["return"]}
    err = reply["error"]
    return {"error": {"class": err["class"], "desc": err["desc"]}}


def qom_tree(q, path):
    """The synthetic reply of `info qom-tree`: the composition tree under
    `path`, walked with qom-list (children in QOM's own order)."""
    listing = q.qmp("qom-list", {"path": path})
    if "return" not in listing:
        return outcome(listing)
    root_type = q.ok("qom-get", {"path": path, "property": "type"})

    def children(at, props):
        out = []
        for prop in props:
            kind = prop["type"]
            if not (kind.startswith("child<") and kind.endswith(">")):
                continue
            child_path = at.rstrip("/") + "/" + prop["name"]
            sub = q.ok("qom-list", {"path": child_path})
            out.append({"name": prop["name"], "type": kind[6:-1],
                        "children": children(child_path, sub)})
        return out

    name = "" if path == "/" else path.rstrip("/").split("/")[-1]
    return {"return": {"path": path, "name": name, "type": root_type,
                       "children": children(path, listing["return"])}}


class Recorder:
    def __init__(self, version):
        self.version = version
        self.dir = HERE / version
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def snapshot(self, q, calls):
        out = []
        for call in calls:
            if callable(call):
                out.append(call(q))
            else:
                command, arguments = call
                out.append(outcome(q.qmp(command, arguments)))
        return out

    def case(self, q, fixture, args, calls, line, fix_idle=False):
        """Records one fixture: replies of `calls` and the HMP text of `line`."""
        for _ in range(200):
            before = self.snapshot(q, calls)
            text = q.hmp(line)
            after = self.snapshot(q, calls)
            if fix_idle:
                if strip_idle(before) == strip_idle(after):
                    before = copy_idle(before, text)
                    print(f"  {fixture}: idle_time_ns copied from HMP")
                    break
            elif before == after:
                break
            elif total_time_agrees(before, after, text):
                break
            time.sleep(0.003)
        else:
            raise RuntimeError(f"{fixture}: state never held still")
        path = self.dir / f"{fixture}.json"
        with open(path, "w") as f:
            json.dump({"args": args, "replies": before, "hmp": text}, f, indent=1)
            f.write("\n")
        self.count += 1


def total_time_agrees(before, after, text):
    """An active migration's total-time moves every millisecond: accept a
    case whose replies differ only there when HMP printed the first value."""
    def strip(replies):
        return re.sub(r'"total-time": \d+', '"total-time": 0', json.dumps(replies))
    if strip(before) != strip(after):
        return False
    total = before[0].get("return", {}).get("total-time") if before else None
    return total is not None and f"\r\ntotal time: {total} ms\r\n" in text


def strip_idle(replies):
    text = json.dumps(replies)
    return re.sub(r'"idle_time_ns": \d+', '"idle_time_ns": 0', text)


def copy_idle(replies, text):
    idle = dict(re.findall(r"^(.*?): rd_bytes=.* idle_time_ns=(\d+)\r$", text, re.M))
    for stats in replies[0].get("return", []):
        device = stats.get("device")
        if device in idle and "idle_time_ns" in stats["stats"]:
            stats["stats"]["idle_time_ns"] = int(idle[device])
    return replies


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def img(*args):
    subprocess.run(["qemu-img", *args], check=True, stdout=subprocess.DEVNULL)


def make_images(w):
    img("create", "-f", "qcow2", f"{w}/base.qcow2", "64M")
    img("snapshot", "-c", "snap1", f"{w}/base.qcow2")
    img("create", "-f", "qcow2", "-b", f"{w}/base.qcow2", "-F", "qcow2", f"{w}/top.qcow2")
    img("create", "-f", "raw", f"{w}/cd.iso", "1M")
    img("create", "-f", "raw", f"{w}/raw.img", "8M")
    img("create", "-f", "raw", f"{w}/raw2.img", "2M")
    img("create", "-f", "qcow2", f"{w}/s_base.qcow2", "32M")
    img("create", "-f", "qcow2", "-b", "s_base.qcow2", "-F", "qcow2", f"{w}/s_top.qcow2")
    img("create", "-f", "qcow2", f"{w}/m_src.qcow2", "16M")
    img("create", "--object", "secret,id=sec0,data=topsecret", "-f", "qcow2",
        "-o", "encrypt.format=luks,encrypt.key-secret=sec0", f"{w}/enc.qcow2", "16M")
    # Give the block jobs something to copy.
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 4M", f"{w}/s_base.qcow2"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x33 0 8M", f"{w}/m_src.qcow2"],
                   check=True, stdout=subprocess.DEVNULL)


def main_vm_args(w, version):
    rocker = (["-global", "rocker.len-ports=1", "-device", "rocker,name=sw1,ports[0]=n1"]
              if version == "7.2" else
              ["-device", json.dumps({"driver": "rocker", "name": "sw1", "ports": ["n1"]})])
    tcp = free_port()
    return [
        "-m", "128",
        "-object", "secret,id=sec0,data=topsecret",
        "-drive", f"file={w}/top.qcow2,if=none,id=disk0,format=qcow2",
        "-device", json.dumps({"driver": "virtio-blk-pci", "drive": "disk0", "id": "vblk0",
                               "serial": "a\"b\\c\u00e9\u0001"}),
        "-drive", f"file={w}/raw.img,format=raw,if=ide,index=0,id=disk1,cache=unsafe,"
                  "detect-zeroes=on",
        "-drive", f"if=ide,index=2,media=cdrom,id=cd0,file={w}/cd.iso,format=raw",
        "-drive", "if=ide,index=3,media=cdrom,id=cd1",
        "-drive", f"file={w}/s_top.qcow2,format=qcow2,if=none,id=disk2,cache=writethrough",
        "-drive", f"file={w}/m_src.qcow2,format=qcow2,if=none,id=disk3,cache=none",
        "-drive", f"file={w}/enc.qcow2,format=qcow2,if=none,id=disk4,encrypt.key-secret=sec0",
        "-blockdev", json.dumps({"driver": "raw", "node-name": "rnode",
                                 "file": {"driver": "file", "filename": f"{w}/raw2.img",
                                          "node-name": "fnode"}}),
        "-device", "pci-bridge,id=br0,chassis_nr=1",
        "-device", "virtio-net-pci,id=net0,bus=br0,addr=3,netdev=n0",
        "-device", "pci-bridge,id=br1,chassis_nr=2,bus=br0,addr=5",
        "-device", "virtio-rng-pci,id=rng0,bus=br1,addr=1",
        "-device", "pci-testdev",
        "-netdev", "user,id=n0",
        "-netdev", "user,id=n1",
        *rocker,
        "-chardev", "ringbuf,id=rb0,size=1024",
        "-chardev", "null,id=nul0",
        "-chardev", f"socket,id=sock0,path={w}/cs.sock,server=on,wait=off",
        "-chardev", f"socket,id=tcp0,host=127.0.0.1,port={tcp},server=on,wait=off",
        "-chardev", f"file,id=file0,path={w}/chr.log",
    ]


VBLK = "/machine/peripheral/vblk0/virtio-backend"
VNET = "/machine/peripheral/net0/virtio-backend"


def capture_fresh(r, q, version):
    """Phase 1: the VM has not run yet."""
    c = r.case
    qb = ("query-block", None)
    qn = ("query-named-block-nodes", None)
    c(q, "block", {}, [qb, qn], "info block")
    c(q, "block-verbose", {"verbose": True}, [qb, qn], "info block -v")
    c(q, "block-nodes", {"nodes": True}, [qb, qn], "info block -n")
    c(q, "block-nodes-verbose", {"nodes": True, "verbose": True}, [qb, qn], "info block -n -v")
    c(q, "block-device-cd0", {"device": "cd0"}, [qb, qn], "info block cd0")
    c(q, "block-device-head", {"device": "disk0", "verbose": True}, [qb, qn],
      "info block -v disk0")
    c(q, "block-device-empty", {"device": "cd1", "verbose": True}, [qb, qn],
      "info block -v cd1")
    c(q, "block-device-node", {"device": "rnode", "verbose": True}, [qb, qn],
      "info block -v rnode")
    c(q, "block-device-encrypted", {"device": "disk4", "verbose": True}, [qb, qn],
      "info block -v disk4")
    c(q, "block-device-none", {"device": "nosuch"}, [qb, qn], "info block nosuch")
    c(q, "block-nodes-node", {"nodes": True, "device": "fnode"}, [qb, qn],
      "info block -n fnode")
    c(q, "blockstats", {}, [("query-blockstats", None)], "info blockstats")
    c(q, "block-jobs", {}, [("query-block-jobs", None)], "info block-jobs")
    c(q, "pci-unconfigured", {}, [("query-pci", None)], "info pci")

    c(q, "chardev", {}, [("query-chardev", None)], "info chardev")
    c(q, "qom-list-nopath", {}, [], "qom-list")
    for state, path in [("peripheral", "/machine/peripheral"), ("vblk0", "/machine/peripheral/vblk0"),
                        ("root", "/"), ("partial", "sw1"), ("bad", "/nonexistent")]:
        c(q, f"qom-list-{state}", {"path": path}, [("qom-list", {"path": path})],
          f"qom-list {path}")
    for state, path, prop in [("string", "/machine/peripheral/vblk0", "type"),
                              ("escapes", "/machine/peripheral/vblk0", "serial"),
                              ("int", "/machine/peripheral/br0", "chassis_nr"),
                              ("bool", "/machine/peripheral/vblk0", "realized"),
                              ("dict", "/machine", "rtc-time"),
                              ("list", "/machine/unattached/device[0]", "filtered-features"),
                              ("link", "/machine/peripheral/vblk0/virtio-backend", "drive"),
                              ("badprop", "/machine/peripheral/vblk0", "nope"),
                              ("badpath", "/nonexistent", "type")]:
        c(q, f"qom-get-{state}", {"path": path, "property": prop},
          [("qom-get", {"path": path, "property": prop})], f"qom-get {path} {prop}")

    # The ring buffer is read twice (QMP, then HMP): write the data twice.
    data = "plain \\ back\tTab\rCR\x01\x1f\x7f é end\nnext line"
    size = len(data.encode())
    for state, device, payload in [("text", "rb0", data), ("empty", "rb0", None),
                                   ("notring", "nul0", None), ("missing", "nochr", None)]:
        if payload is not None:
            q.ok("ringbuf-write", {"device": device, "data": payload})
            q.ok("ringbuf-write", {"device": device, "data": payload})
        reply = outcome(q.qmp("ringbuf-read", {"device": device, "size": size}))
        text = q.hmp(f"ringbuf_read {device} {size}")
        record_raw(r, f"ringbuf_read-{state}", {"device": device, "size": size}, [reply], text)

    q.ok("trace-event-set-state", {"name": "qcow2_writev_start_req", "enable": True})
    for state, args, line in [("pattern", {"name": "qcow2_writev*"}, "info trace-events qcow2_writev*"),
                              ("one", {"name": "qcow2_writev_start_req"},
                               "info trace-events qcow2_writev_start_req"),
                              ("unknown", {"name": "nosuchevent"}, "info trace-events nosuchevent"),
                              ("nomatch", {"name": "*nosuchpattern*"},
                               "info trace-events *nosuchpattern*")]:
        c(q, f"trace-events-{state}", args, [("trace-event-get-state", args)], line)
    if version == "7.2":
        args = {"name": "qcow2_writev*", "vcpu": 3}
        c(q, "trace-events-vcpu", args, [("trace-event-get-state", args)],
          "info trace-events qcow2_writev* 3")

    c(q, "rocker", {"name": "sw1"}, [("query-rocker", {"name": "sw1"})], "info rocker sw1")
    c(q, "rocker-missing", {"name": "nosw"}, [("query-rocker", {"name": "nosw"})],
      "info rocker nosw")
    c(q, "rocker-ports", {"name": "sw1"}, [("query-rocker-ports", {"name": "sw1"})],
      "info rocker-ports sw1")
    c(q, "rocker-ports-missing", {"name": "nosw"}, [("query-rocker-ports", {"name": "nosw"})],
      "info rocker-ports nosw")
    c(q, "rocker-of-dpa-flows", {"name": "sw1"}, [("query-rocker-of-dpa-flows", {"name": "sw1"})],
      "info rocker-of-dpa-flows sw1")
    c(q, "rocker-of-dpa-flows-missing", {"name": "nosw"},
      [("query-rocker-of-dpa-flows", {"name": "nosw"})], "info rocker-of-dpa-flows nosw")
    c(q, "rocker-of-dpa-groups", {"name": "sw1"},
      [("query-rocker-of-dpa-groups", {"name": "sw1"})], "info rocker-of-dpa-groups sw1")
    c(q, "rocker-of-dpa-groups-missing", {"name": "nosw"},
      [("query-rocker-of-dpa-groups", {"name": "nosw"})], "info rocker-of-dpa-groups nosw")

    c(q, "virtio", {}, [("x-query-virtio", None)], "info virtio")
    c(q, "virtio-status-fresh", {"path": VBLK}, [("x-query-virtio-status", {"path": VBLK})],
      f"info virtio-status {VBLK}")
    c(q, "virtio-status-bad", {"path": "/machine"}, [("x-query-virtio-status", {"path": "/machine"})],
      "info virtio-status /machine")
    qs = {"path": VBLK, "queue": 0}
    c(q, "virtio-queue-status-fresh", qs, [("x-query-virtio-queue-status", qs)],
      f"info virtio-queue-status {VBLK} 0")
    bad = {"path": VBLK, "queue": 5}
    c(q, "virtio-queue-status-bad", bad, [("x-query-virtio-queue-status", bad)],
      f"info virtio-queue-status {VBLK} 5")
    c(q, "virtio-vhost-queue-status", qs, [("x-query-virtio-vhost-queue-status", qs)],
      f"info virtio-vhost-queue-status {VBLK} 0")
    c(q, "virtio-queue-element-fresh", qs, [("x-query-virtio-queue-element", qs)],
      f"info virtio-queue-element {VBLK} 0")

    for state, path in [("default", None), ("peripheral", "/machine/peripheral"),
                        ("partial", "device[0]"), ("root", "/"), ("bad", "/nonexistent")]:
        args = {} if path is None else {"path": path}
        walk_from = "/machine" if path is None else path
        c(q, f"qom-tree-{state}", args, [lambda q, p=walk_from: qom_tree(q, p)],
          "info qom-tree" + ("" if path is None else f" {path}"))

    c(q, "migrate-none", {}, [("query-migrate", None)], "info migrate")
    c(q, "migrate_capabilities", {}, [("query-migrate-capabilities", None)],
      "info migrate_capabilities")
    c(q, "migrate_parameters", {}, [("query-migrate-parameters", None)],
      "info migrate_parameters")


def record_raw(r, fixture, args, replies, text):
    with open(r.dir / f"{fixture}.json", "w") as f:
        json.dump({"args": args, "replies": replies, "hmp": text}, f, indent=1)
        f.write("\n")
    r.count += 1


def capture_after_run(r, q, version):
    """Phase 2: SeaBIOS has run (BARs mapped, disks read, virtqueues set up)."""
    c = r.case
    q.ok("cont")
    time.sleep(4)
    q.ok("stop")
    time.sleep(0.2)
    c(q, "pci", {}, [("query-pci", None)], "info pci")
    c(q, "blockstats-activity", {}, [("query-blockstats", None)], "info blockstats", fix_idle=True)
    c(q, "virtio-status-started", {"path": VBLK}, [("x-query-virtio-status", {"path": VBLK})],
      f"info virtio-status {VBLK}")
    c(q, "virtio-status-net", {"path": VNET}, [("x-query-virtio-status", {"path": VNET})],
      f"info virtio-status {VNET}")
    qs = {"path": VBLK, "queue": 0}
    c(q, "virtio-queue-status-started", qs, [("x-query-virtio-queue-status", qs)],
      f"info virtio-queue-status {VBLK} 0")
    c(q, "virtio-queue-element-started", qs, [("x-query-virtio-queue-element", qs)],
      f"info virtio-queue-element {VBLK} 0")
    qi = {"path": VBLK, "queue": 0, "index": 1}
    c(q, "virtio-queue-element-index", qi, [("x-query-virtio-queue-element", qi)],
      f"info virtio-queue-element {VBLK} 0 1")

    # Throttling, an ejected medium, block jobs.
    q.hmp("block_set_io_throttle disk0 1000000 0 0 200 0 0")
    q.ok("block_set_io_throttle", {"device": "disk1", "bps": 0, "bps_rd": 4096, "bps_wr": 8192,
                                   "iops": 0, "iops_rd": 0, "iops_wr": 30, "bps_wr_max": 9000,
                                   "iops_size": 512, "group": "grp1"})
    q.hmp("eject -f cd0")
    q.ok("block-stream", {"device": "disk2", "job-id": "job-stream", "speed": 1})
    q.ok("drive-mirror", {"device": "disk3", "job-id": "job-mirror", "target": f"{r.work}/m_dst.qcow2",
                          "format": "qcow2", "sync": "full", "speed": 1})
    q.ok("job-pause", {"id": "job-mirror"})
    time.sleep(0.3)
    qb = ("query-block", None)
    qn = ("query-named-block-nodes", None)
    c(q, "block-throttled", {}, [qb, qn], "info block")
    c(q, "block-nodes-jobs", {"nodes": True}, [qb, qn], "info block -n")
    c(q, "block-jobs-active", {}, [("query-block-jobs", None)], "info block-jobs")
    if version != "7.2":
        q.ok("blockdev-set-active", {"node-name": "rnode", "active": False})
        c(q, "block-nodes-inactive", {"nodes": True, "device": "rnode"}, [qb, qn],
          "info block -n rnode")
    q.qmp("block-job-cancel", {"device": "job-stream", "force": True})
    q.qmp("block-job-cancel", {"device": "job-mirror", "force": True})


def capture_migration(r, version, w):
    c = r.case
    binary = BINARIES[version]
    src = Qemu(binary, ["-m", "128"], w, "src")
    dst = Qemu(binary, ["-m", "128", "-incoming", f"unix:{w}/mig.sock"], w, "dst")
    qm = [("query-migrate", None)]
    c(dst, "migrate-incoming", {}, qm, "info migrate")

    params = {"max-bandwidth": 100000, "downtime-limit": 500, "tls-hostname": "host.example",
              "xbzrle-cache-size": 8388608, "announce-rounds": 7, "cpu-throttle-tailslow": True,
              "block-bitmap-mapping": [
                  {"node-name": "drive0", "alias": "d0",
                   "bitmaps": [{"name": "bm0", "alias": "b0"}, {"name": "bm1", "alias": "b1"}]},
                  {"node-name": "drive1", "alias": "d1", "bitmaps": []}]}
    if version == "7.2":
        params["max-postcopy-bandwidth"] = 123456
    src.ok("migrate-set-parameters", params)
    caps = [{"capability": "xbzrle", "state": True}, {"capability": "events", "state": True}]
    src.ok("migrate-set-capabilities", {"capabilities": caps})
    c(src, "migrate_parameters-set", {}, [("query-migrate-parameters", None)],
      "info migrate_parameters")
    c(src, "migrate_capabilities-set", {}, [("query-migrate-capabilities", None)],
      "info migrate_capabilities")

    # A peer that accepts but never reads stalls the migration in "active"
    # with frozen counters (only total-time keeps moving; retried to the ms).
    hold = socket.socket(socket.AF_UNIX)
    hold.bind(f"{w}/hold.sock")
    hold.listen(1)
    src.ok("migrate", {"uri": f"unix:{w}/hold.sock"})
    peer, _ = hold.accept()
    last = None
    for _ in range(100):
        time.sleep(0.2)
        ram = src.ok("query-migrate").get("ram", {}).get("transferred")
        if ram is not None and ram == last:
            break
        last = ram
    c(src, "migrate-active", {}, qm, "info migrate")
    peer.close()
    hold.close()
    for _ in range(300):
        if src.ok("query-migrate").get("status") in ("failed", "cancelled"):
            break
        time.sleep(0.1)
    c(src, "migrate-broken", {}, qm, "info migrate")

    src.ok("migrate-set-parameters", {"max-bandwidth": 1 << 40})
    src.ok("migrate", {"uri": f"unix:{w}/mig.sock"})
    for _ in range(300):
        if src.ok("query-migrate").get("status") in ("completed", "failed"):
            break
        time.sleep(0.1)
    c(src, "migrate-completed", {}, qm, "info migrate")
    c(dst, "migrate-incoming-done", {}, qm, "info migrate")
    src.close()
    dst.close()

    lone = Qemu(binary, ["-m", "64"], w, "lone")
    lone.qmp("migrate", {"uri": f"unix:{w}/nobody.sock"})
    time.sleep(0.3)
    c(lone, "migrate-failed", {}, qm, "info migrate")
    lone.close()

    if version == "7.2":
        comp = Qemu(binary, ["-m", "64"], w, "comp")
        comp2 = Qemu(binary, ["-m", "64", "-incoming", f"unix:{w}/mig2.sock"], w, "comp2")
        for q in (comp, comp2):
            q.ok("migrate-set-capabilities",
                 {"capabilities": [{"capability": "compress", "state": True}]})
        comp.ok("migrate", {"uri": f"unix:{w}/mig2.sock"})
        for _ in range(300):
            if comp.ok("query-migrate").get("status") in ("completed", "failed"):
                break
            time.sleep(0.1)
        c(comp, "migrate-compressed", {}, qm, "info migrate")
        comp.close()
        comp2.close()


def run(version):
    binary = BINARIES[version]
    work = tempfile.mkdtemp(prefix="qhmp-capture-")
    try:
        r = Recorder(version)
        r.work = work
        make_images(work)
        q = Qemu(binary, main_vm_args(work, version), work, "main")
        got = q.ok("query-version")["qemu"]
        if f"{got['major']}.{got['minor']}" != version:
            raise RuntimeError(f"{binary} is QEMU {got}, not {version}")
        print(f"QEMU {version}: {binary}")
        capture_fresh(r, q, version)
        capture_after_run(r, q, version)
        q.close()
        capture_migration(r, version, work)
        print(f"  {r.count} fixtures in {r.dir}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for v in sys.argv[1:] or ["7.2", "10.0"]:
        run(v)
