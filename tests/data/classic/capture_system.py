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
                         [--scenario FUNCTION ...]

QEMU binaries default to $QHMP_QEMU_7 / $QHMP_QEMU_10 (or the exports in
/tmp/qemu-env.sh).  Every QEMU is started by this script on free loopback
ports with its QMP socket in a private temporary directory, and only those
processes are killed afterwards.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

from capture_system_lib import (Capturer, FakeTpm, free_tcp_port,
                                free_vnc_display, kvm_usable, qemu_from_env,
                                recv_exact, spice_link, spice_session_id,
                                vnc_client, wait_for)


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
