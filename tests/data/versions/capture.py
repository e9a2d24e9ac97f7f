#!/usr/bin/env python3
"""Captures, from each live QEMU, what qhmp's per-version tables are checked
against: the QMP greeting, query-version, query-commands (names), `help` and
`help info`. Run: eval "$(../shared/tools/qemu-versions.sh)"; python3 capture.py
Writes <version>/{greeting.json,commands.txt,help.txt,help-info.txt}."""
import json, os, socket, subprocess, sys, tempfile, time

VARS = {"5.2": "QHMP_QEMU_5", "7.2": "QHMP_QEMU_7", "8.2": "QHMP_QEMU_8",
        "10.0": "QHMP_QEMU_10", "11.1": "QHMP_QEMU_11"}
HERE = os.path.dirname(os.path.abspath(__file__))

class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(200):
            try:
                self.s.connect(path); break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile("rwb")
        self.greeting = self.read()
        self.cmd("qmp_capabilities")
    def read(self):
        while True:
            m = json.loads(self.f.readline())
            if "event" not in m:
                return m
    def cmd(self, name, **args):
        req = {"execute": name}
        if args: req["arguments"] = args
        self.f.write((json.dumps(req) + "\n").encode()); self.f.flush()
        r = self.read()
        if "return" not in r: raise RuntimeError(f"{name}: {r}")
        return r["return"]

def capture(version, binary):
    d = tempfile.mkdtemp(prefix="qhmp-cap-")
    sock = os.path.join(d, "q.sock")
    p = subprocess.Popen([binary, "-machine", "pc", "-S", "-nodefaults", "-display", "none",
                          "-qmp", f"unix:{sock},server=on,wait=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp(sock)
        out = os.path.join(HERE, version); os.makedirs(out, exist_ok=True)
        g = q.greeting["QMP"]
        with open(os.path.join(out, "greeting.json"), "w") as f:
            json.dump(g, f, sort_keys=True); f.write("\n")
        names = sorted(c["name"] for c in q.cmd("query-commands"))
        with open(os.path.join(out, "commands.txt"), "w") as f:
            f.write("".join(n + "\n" for n in names))
        for name, line in [("help.txt", "help"), ("help-info.txt", "help info")]:
            with open(os.path.join(out, name), "w", newline="") as f:
                f.write(q.cmd("human-monitor-command", **{"command-line": line}))
        print(version, g["version"], len(names), "commands")
    finally:
        p.kill(); p.wait()

for v in (sys.argv[1:] or VARS):
    capture(v, os.environ[VARS[v]])
