"""Attribute perf samples of the core to (outer function, inline chain, line) via one batch addr2line."""

import collections
import json
import subprocess
import sys

SO = "/tmp/prof/injcheck/one_layer/_cellsearch.cpython-311-x86_64-linux-gnu.so"
base = int(sys.argv[2], 16) - 0x7000
ips = [int(addr, 16) - base for addr in open(sys.argv[1])]
cnt = collections.Counter(ips)
addrs = sorted(cnt)
out = subprocess.run(
    ["addr2line", "-a", "-i", "-f", "-C", "-e", SO],
    input="\n".join(hex(a) for a in addrs),
    capture_output=True,
    text=True,
).stdout.splitlines()
info = {}
cur = None
for line in out:
    if line.startswith("0x"):
        cur = int(line, 16)
        info[cur] = []
    else:
        info[cur].append(line)
rows = collections.Counter()
for a, c in cnt.items():
    lines = info.get(a, [])
    funcs = [
        lines[i].replace("(anonymous namespace)::", "").split("(")[0].split("<")[0].split("::")[-1]
        for i in range(0, len(lines), 2)
    ]
    locs = [lines[i].rsplit("/", 1)[-1].split(" ")[0] for i in range(1, len(lines), 2)]
    # chain: innermost first; the innermost location, and the chain of functions (outer last)
    rows[(" < ".join(funcs), locs[0] if locs else "?")] += c
tot = sum(rows.values())
json.dump([[k[0], k[1], v] for k, v in rows.most_common()], open(sys.argv[3], "w"))
for (ch, loc), v in rows.most_common(60):
    print(f"{100 * v / tot:5.2f}% {loc:22s} {ch[:150]}")
