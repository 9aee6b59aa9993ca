#!/usr/bin/env python3
"""Keeps the layers of src/ honest; run by scripts/test.sh in its format stage.

The order of the layers is written here once, bottom to top.  A file in
src/LAYER/ may include headers of its own layer and of the layers below, and
the public headers in src/include/ (smb1.h, smb1_cache.h, log.h), which
include no internal header (CMake exports only that folder).  The programs (fuse/, tools/, bench/) may
include only the public headers and the headers of their own folder.
Within and across folders, modules (a .c, its .h and its private X_int.h
count as one) must not include each other in a cycle; a private X_int.h is
included only from its own folder.  No source file of src/ or of a program
may be longer than MAX_LINES.

scripts/layers-allowed.txt lists the exceptions still being worked off, one
"path -> header" or "path oversize" a line; an entry that no longer fires is
an error too, so the list only shrinks.
Exit 0 when clean, 1 with one line per finding.
"""
import os
import re
import sys

LAYERS = ["support", "wire", "auth", "netbios", "link", "session", "ops", "rpc"]
PROGRAMS = ["fuse", "tools", "bench"]
PUBLIC = {"smb1.h", "smb1_cache.h", "log.h"}
MAX_LINES = 900

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(top):
    for d, _, files in os.walk(os.path.join(ROOT, top)):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, f), ROOT)


def layer_of(path):
    """src/LAYER/x.c -> LAYER; src/include/x.h, src/x.c -> 'public'; fuse/x -> 'fuse'."""
    parts = path.split("/")
    if parts[0] in PROGRAMS:
        return parts[0]
    if len(parts) == 2 or parts[1] == "include":
        return "public"
    return parts[1]


def module(path):
    """src/link/mux.c, mux.h and mux_int.h (what mux_*.c share) -> src/link/mux."""
    m = os.path.splitext(path)[0]
    if m.endswith("_int"):
        owner = m[: -len("_int")]
        if os.path.exists(os.path.join(ROOT, owner + ".c")) or os.path.exists(
            os.path.join(ROOT, owner + ".h")
        ):
            return owner
    return m


def main():
    allowed = set()
    allow_file = os.path.join(ROOT, "scripts", "layers-allowed.txt")
    if os.path.exists(allow_file):
        for line in open(allow_file):
            line = line.split("#", 1)[0].strip()
            if line:
                allowed.add(line)

    findings = set()
    edges = {}
    files = list(sources("src"))
    for prog in PROGRAMS:
        files += list(sources(prog))
    for path in files:
        text = open(os.path.join(ROOT, path), encoding="utf-8").read()
        if text.count("\n") > MAX_LINES:
            findings.add("%s oversize" % path)
        mine = layer_of(path)
        for inc in INCLUDE.findall(text):
            if inc.endswith("_int.h"):
                home = os.path.dirname(path) if mine in PROGRAMS else os.path.dirname("src/" + inc)
                if home != os.path.dirname(path):
                    findings.add("%s -> %s (private to %s/)" % (path, inc, home))
            if mine in PROGRAMS:
                local = os.path.join(os.path.dirname(path), inc)
                if inc in PUBLIC or os.path.exists(os.path.join(ROOT, local)):
                    if os.path.exists(os.path.join(ROOT, local)):
                        edges.setdefault(module(path), set()).add(module(local))
                    continue
                findings.add("%s -> %s" % (path, inc))
                continue
            target = "src/" + inc
            if inc in PUBLIC:
                target = "src/include/" + inc
            if not os.path.exists(os.path.join(ROOT, target)):
                findings.add("%s -> %s (no such header under src/)" % (path, inc))
                continue
            edges.setdefault(module(path), set()).add(module(target))
            theirs = layer_of(target)
            if theirs == "public":
                continue
            if mine == "public" or LAYERS.index(theirs) > LAYERS.index(mine):
                findings.add("%s -> %s" % (path, inc))

    # Cycles between modules: each strongly connected component of more than
    # one module is one finding, named by its members in order (stable, so
    # that it can be listed while it is being worked off).
    index, low, on_stack, stack, counter = {}, {}, set(), [], [0]

    def strongconnect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                findings.add("cycle " + " ".join(sorted(comp)))

    sys.setrecursionlimit(10000)
    for m in sorted(edges):
        if m not in index:
            strongconnect(m)

    bad = sorted(f for f in findings if f not in allowed)
    stale = sorted(a for a in allowed if a not in findings)
    for f in bad:
        print("layers: " + f)
    for a in stale:
        print("layers: %s is fixed: remove it from scripts/layers-allowed.txt" % a)
    if bad or stale:
        return 1
    print("layers: every include points down; no cycle; no file over %d lines" % MAX_LINES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
