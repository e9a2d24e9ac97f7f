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

if not os.environ.get("QHMP_CAPTURE_MEMBERS"):
    for v in (sys.argv[1:] or VARS):
        capture(v, os.environ[VARS[v]])


def reply_paths(schema, type_name, prefix="", seen=None):
    """Member paths ("a.b.c") reachable in a reply of `type_name`."""
    seen = set() if seen is None else seen
    t = schema.get(type_name)
    if t is None or (type_name, prefix) in seen or prefix.count(".") > 6:
        return set()
    seen.add((type_name, prefix))
    meta = t["meta-type"]
    out = set()
    if meta == "array":
        return reply_paths(schema, t["element-type"], prefix, seen)
    if meta == "alternate":
        for m in t["members"]:
            out |= reply_paths(schema, m["type"], prefix, seen)
        return out
    if meta == "object":
        for m in t.get("members", []):
            p = prefix + m["name"]
            out.add(p)
            out |= reply_paths(schema, m["type"], p + ".", seen)
        for v in t.get("variants", []):
            out |= reply_paths(schema, v["type"], prefix, seen)
    return out


def removed_members(version, binary, reference, ref_binary):
    """Reply members the reference release (10.0) has and `version` lacks, per
    command both offer (`COMMAND * NAME`: anywhere; `COMMAND a.b.c`: at that
    path): the simulator drops them when it plays `version`."""
    def schema_of(b):
        d = tempfile.mkdtemp(prefix="qhmp-cap-")
        sock = os.path.join(d, "q.sock")
        p = subprocess.Popen([b, "-machine", "pc", "-S", "-nodefaults", "-display", "none",
                              "-qmp", f"unix:{sock},server=on,wait=off"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            return {e["name"]: e for e in Qmp(sock).cmd("query-qmp-schema")}
        finally:
            p.kill(); p.wait()
    mine, ref = schema_of(binary), schema_of(ref_binary)
    lines = []
    for name, cmd in sorted(ref.items()):
        if cmd["meta-type"] != "command" or name not in mine:
            continue
        ref_paths = reply_paths(ref, cmd["ret-type"])
        my_paths = reply_paths(mine, mine[name]["ret-type"])
        my_names = {p.rsplit(".", 1)[-1] for p in my_paths}
        gone = ref_paths - my_paths
        # A member name this release has nowhere in the reply: dropped
        # wherever it occurs ("*"); otherwise by its full path.
        for n in sorted({p.rsplit(".", 1)[-1] for p in gone} - my_names):
            lines.append(f"{name} * {n}\n")
        for p in sorted(gone):
            if p.rsplit(".", 1)[-1] in my_names and not any(
                    p.startswith(q + ".") for q in gone):
                lines.append(f"{name} {p}\n")
    with open(os.path.join(HERE, version, "removed-members.txt"), "w") as f:
        f.write("".join(lines))
    added_and_enums(version, mine, ref)
    # Arguments 10.0 takes and this release refuses ("Parameter 'X' is unexpected").
    args = []
    for name, cmd in sorted(ref.items()):
        if cmd["meta-type"] != "command" or name not in mine:
            continue
        members = lambda s, t: {m["name"] for m in s.get(t, {}).get("members", [])}
        for a in sorted(members(ref, cmd["arg-type"]) - members(mine, mine[name]["arg-type"])):
            args.append(f"{name} {a}\n")
    with open(os.path.join(HERE, version, "removed-args.txt"), "w") as f:
        f.write("".join(args))
    print(version, len(args), "arguments removed relative to", reference)
    print(version, len(lines), "reply members removed relative to", reference)



# Values for required members a release has and 10.0 lacks, where a type's
# default ("", 0, false, []) would read oddly; the rest get the default.
REALISTIC = {"qom-type": "qemu64-x86_64-cpu", "arch": "x86"}


def typed_paths(schema, type_name, prefix="", depth=0):
    """{path: (required, type name)} of the members reachable in a reply."""
    t = schema.get(type_name)
    out = {}
    if t is None or depth > 6:
        return out
    meta = t["meta-type"]
    if meta == "array":
        return typed_paths(schema, t["element-type"], prefix, depth)
    if meta == "alternate":
        for m in t["members"]:
            out.update(typed_paths(schema, m["type"], prefix, depth + 1))
        return out
    if meta == "object":
        for m in t.get("members", []):
            p = prefix + m["name"]
            out.setdefault(p, ("default" not in m, m["type"]))
            out.update(typed_paths(schema, m["type"], p + ".", depth + 1))
        for v in t.get("variants", []):
            out.update(typed_paths(schema, v["type"], prefix, depth + 1))
    return out


def default_of(schema, type_name, name):
    if name in REALISTIC:
        return REALISTIC[name]
    t = schema.get(type_name, {})
    meta = t.get("meta-type")
    if meta == "builtin":
        return {"bool": False, "str": ""}.get(t.get("json-type") if t.get("json-type") != "boolean" else "bool",
                                             False if t.get("json-type") == "boolean" else
                                             "" if t.get("json-type") == "string" else 0)
    if meta == "enum":
        return t["values"][0]
    if meta == "array":
        return []
    return {}


def added_and_enums(version, mine, ref):
    """`COMMAND path = JSON` (a required member this release has and 10.0
    lacks, with a value) and `COMMAND path != "VALUE"` (an enum value this
    release lacks: the object carrying it is dropped)."""
    lines = []
    for name, cmd in sorted(ref.items()):
        if cmd["meta-type"] != "command" or name not in mine:
            continue
        rp = typed_paths(ref, cmd["ret-type"])
        mp = typed_paths(mine, mine[name]["ret-type"])
        for p, (required, tname) in sorted(mp.items()):
            parent = p.rsplit(".", 1)[0] if "." in p else ""
            if required and p not in rp and (parent == "" or parent in rp):
                value = default_of(mine, tname, p.rsplit(".", 1)[-1])
                lines.append(f"{name} {p} = {json.dumps(value)}\n")
        for p, (_, tname) in sorted(mp.items()):
            if p in rp and mine.get(tname, {}).get("meta-type") == "enum":
                rt = ref.get(rp[p][1], {})
                if rt.get("meta-type") != "enum":
                    continue
                for v in rt["values"]:
                    if v not in mine[tname]["values"]:
                        lines.append(f"{name} {p} != {json.dumps(v)}\n")
    with open(os.path.join(HERE, version, "changed-members.txt"), "w") as f:
        f.write("".join(lines))
    print(version, len(lines), "members added or enum values removed relative to 10.0")


if os.environ.get("QHMP_CAPTURE_MEMBERS"):
    for v in (sys.argv[1:] or VARS):
        if v != "10.0":
            removed_members(v, os.environ[VARS[v]], "10.0", os.environ[VARS["10.0"]])
