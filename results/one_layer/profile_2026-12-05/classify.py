"""Group attributed samples into the report's categories (outermost function + its line)."""

import collections
import subprocess
import sys

SO = "/tmp/prof/injcheck/one_layer/_cellsearch.cpython-311-x86_64-linux-gnu.so"
base = int(sys.argv[2], 16) - 0x7000
cnt = collections.Counter(int(addr, 16) - base for addr in open(sys.argv[1]))
addrs = sorted(cnt)
out = subprocess.run(
    ["addr2line", "-a", "-i", "-f", "-C", "-e", SO],
    input="\n".join(hex(a) for a in addrs),
    capture_output=True,
    text=True,
).stdout.splitlines()
info, cur = {}, None
for line in out:
    if line.startswith("0x"):
        cur = int(line, 16)
        info[cur] = []
    else:
        info[cur].append(line)


def name(s):
    return s.replace("(anonymous namespace)::", "").split("(")[0].split("<")[0].strip()


def lineno(s):
    try:
        f, num = s.rsplit("/", 1)[-1].split(" ")[0].split(":")
        return f, int(num)
    except Exception:
        return "?", 0


def category(chain):
    funcs = [name(chain[i]) for i in range(0, len(chain), 2)]
    locs = [lineno(chain[i]) for i in range(1, len(chain), 2)]
    if not funcs:
        return "unknown"
    outer, (_f, ln) = funcs[-1], locs[-1]
    fs = " ".join(funcs)
    if "certificate_is_safe" in fs:
        return "safe check (certificate_is_safe)"
    if "WarmLP::run" in outer or outer.endswith("axpy"):
        if outer.endswith("axpy") or 385 <= ln <= 394:
            return "LP: pricing y,d (axpy)"
        if 395 <= ln <= 406:
            return "LP: pricing select"
        if "column" in fs or 407 <= ln <= 407:
            return "LP: FTRAN column B^-1 a"
        if "pivot" in fs or 420 <= ln <= 424:
            return "LP: pivot update B^-1"
        if 408 <= ln <= 419:
            return "LP: ratio test"
        return "LP: run other"
    if "WarmLP" in fs or "TableauLP" in fs or outer in ("WarmLP::warm",):
        if "factor" in fs:
            return "LP: refactor"
        return "LP: warm other/drive_out"
    if "transversal" in fs or "propagate" in fs:
        return "transversal bound"
    if "packing_exceeds" in fs:
        return "packing bound"
    if "new_certificate" in fs or "safe_support" in fs:
        return "new_certificate/safe_support glue"
    if outer.endswith("Search::node"):
        if 869 <= ln <= 870:
            return "node: pool scan"
        if 885 <= ln <= 908:
            return "node: sort active by free size"
        if 960 <= ln <= 967:
            return "node: branch order (hits)"
        if 974 <= ln <= 990:
            return "node: child_act copy"
        return "node: other"
    return "other: " + outer[:60]


cat = collections.Counter()
lines = collections.Counter()
for a, c in cnt.items():
    ch = info.get(a, [])
    cat[category(ch)] += c
tot = sum(cat.values())
for k, v in cat.most_common():
    print(f"{100 * v / tot:6.2f}%  {k}")
print("samples", tot)
