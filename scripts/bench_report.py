#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tables, targets and plot data from stap_bench's output.

Usage: bench_report.py RAW.tsv OUTDIR

Writes OUTDIR/results.md (medians with min-max over the repetitions and
ratios to plain TCP measured in the same run), OUTDIR/ratios.dat and
OUTDIR/rr.dat for gnuplot (scripts/bench.gp).
"""
import statistics
import sys
from collections import defaultdict

CFGS = ["tcp", "stap-pass", "stap-deny", "sockmap", "relay", "stap-redirect",
        "sockmap-strp"]


def load(path):
    data = defaultdict(list)    # (kind, cfg, param, field) -> values
    stalled = set()
    kernel = "?"
    tapped = "both"
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "# kernel":
            kernel = f[1]
            continue
        if f[0] == "# tapped":
            tapped = f[1]
            continue
        if f[0] not in ("tput", "small", "rr", "scale"):
            continue
        kind, cfg, param = f[0], f[1], int(f[2])
        if f[4] == "stalled":
            stalled.add((kind, cfg, param))
            continue
        names = {"tput": ["msgs", "mbs", "cpu"],
                 "small": ["msgs", "mbs", "cpu"], "rr": ["p50", "p99"],
                 "scale": ["msgs", "mem"]}[kind]
        for name, v in zip(names, f[4:]):
            data[(kind, cfg, param, name)].append(float(v))
    return data, stalled, kernel, tapped


def med(vals):
    return statistics.median(vals) if vals else None


def fmt(v, unit=""):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return "%.0f%s" % (v, unit)
    return "%.3g%s" % (v, unit)


def cell(data, stalled, key, base=None, lower_better=False):
    kind, cfg, param, name = key
    vals = data.get(key)
    if not vals:
        return "stalled" if (kind, cfg, param) in stalled else "-"
    m = med(vals)
    s = "%s [%s-%s]" % (fmt(m), fmt(min(vals)), fmt(max(vals)))
    if base and cfg != "tcp":
        s += " (%.2fx)" % (m / base)
    if m and max(vals) - min(vals) > 0.1 * m:
        s += " unstable"
    return s


def size_name(n):
    return "%d KiB" % (n // 1024) if n >= 1024 else "%d B" % n


RST = []     # the same tables for Documentation/networking/stap.rst


def emit(out, title, header, rows):
    out.append("\n%s\n" % title)
    out.append("| %s |" % " | ".join(header))
    out.append("|" + "---|" * len(header))
    for r in rows:
        out.append("| %s |" % " | ".join(r))
    RST.append("\n%s\n\n.. list-table::\n   :header-rows: 1\n" % title)
    for r in [header] + rows:
        RST.append("   * - " + "\n     - ".join(x.replace("|", "/")
                                                for x in r))


def table(out, data, stalled, kind, name, params, title, cfgs, pname):
    rows = []
    for p in params:
        base = med(data.get((kind, "tcp", p, name), []))
        row = [cell(data, stalled, (kind, c, p, name), base) for c in cfgs]
        label = size_name(p) if pname == "size" else str(p)
        rows.append([label] + row)
    emit(out, title, [pname] + cfgs, rows)


def ratio(data, kind, cfg, p, name, base_cfg="tcp"):
    a = med(data.get((kind, cfg, p, name), []))
    b = med(data.get((kind, base_cfg, p, name), []))
    return a / b if a is not None and b else None


def write_dat(path, data, cfgs, kind, name, params):
    """Ratios to TCP for gnuplot: a header row, then one row per size."""
    with open(path, "w") as f:
        f.write("size %s\n" % " ".join(cfgs))
        for p in params:
            r = [ratio(data, kind, c, p, name) for c in cfgs]
            f.write("%s %s\n" % (size_name(p).replace(" ", ""),
                                  " ".join(fmt(v) if v else "0" for v in r)))


def main():
    raw, outdir = sys.argv[1], sys.argv[2]
    data, stalled, kernel, tapped = load(raw)
    cfgs = [c for c in CFGS if any(k[1] == c for k in data) or
            any(s[1] == c for s in stalled)]
    params = lambda kind: sorted({k[2] for k in data if k[0] == kind} |
                                 {s[2] for s in stalled if s[0] == kind})
    reps = max((len(v) for v in data.values()), default=0)
    ends = ("both ends of each pair" if tapped == "both" else
            "the %s end of each pair only" % tapped)
    out = ["Kernel %s; stap taps %s; median [min-max] of %d repetitions; "
           "(Nx) is the ratio to plain TCP in the same run."
           % (kernel, ends, reps)]
    table(out, data, stalled, "tput", "msgs", params("tput"),
          "One-way throughput, messages/s (one message per send())",
          cfgs, "size")
    table(out, data, stalled, "tput", "mbs", params("tput"),
          "One-way throughput, MB/s", cfgs, "size")
    table(out, data, stalled, "tput", "cpu", params("tput"),
          "CPU time per message, microseconds (whole guest, /proc/stat)",
          cfgs, "size")
    table(out, data, stalled, "small", "msgs", params("small"),
          "TLS-sized records (16 KiB + 25 bytes) through small socket "
          "buffers, records/s", cfgs, "buffer")
    table(out, data, stalled, "rr", "p50", params("rr"),
          "Request/response latency p50, microseconds", cfgs, "size")
    table(out, data, stalled, "rr", "p99", params("rr"),
          "Request/response latency p99, microseconds", cfgs, "size")
    table(out, data, stalled, "scale", "msgs", params("scale"),
          "Concurrent connections: aggregate 1 KiB messages/s", cfgs,
          "connections")

    # Kernel memory per tapped socket above plain TCP, at the most
    # connections measured (both sockets of a pair are tapped)
    nmax = max(params("scale"), default=0)
    base = med(data.get(("scale", "tcp", nmax, "mem"), []))
    mem = {}
    for c in cfgs:
        v = med(data.get(("scale", c, nmax, "mem"), []))
        mem[c] = (v - base) / 2 if v is not None and base is not None \
            else None
    emit(out, "Kernel memory (Slab + Percpu) per socket above plain TCP, "
         "%d connections, bytes" % nmax, [c for c in cfgs if c != "tcp"],
         [[fmt(mem[c]) for c in cfgs if c != "tcp"]])

    # The targets of issues 15 and 20
    checks = []
    for p, lim in ((64, 0.85), (1024, 0.85), (16384, 0.95), (65536, 0.95)):
        checks.append(("stap-pass >= %.2fx TCP throughput at %s"
                       % (lim, size_name(p)),
                       ratio(data, "tput", "stap-pass", p, "msgs"), lim,
                       True))
    for p, lim in ((64, 0.8), (1024, 0.8), (16384, 0.9), (65536, 0.9)):
        checks.append(("stap-deny >= %.1fx TCP throughput at %s"
                       % (lim, size_name(p)),
                       ratio(data, "tput", "stap-deny", p, "msgs"), lim,
                       True))
    for base in ("sockmap", "relay"):
        for p in params("tput"):
            checks.append(("stap-deny >= %s at %s" % (base, size_name(p)),
                           ratio(data, "tput", "stap-deny", p, "msgs", base),
                           1.0, True))
    # Issue 16: the in-kernel proxy against the userspace one
    if params("tput") and ratio(data, "tput", "stap-redirect", 1024, "msgs",
                                "relay") is not None:
        checks.append(("stap-redirect >= 1.5x relay at 1 KiB",
                       ratio(data, "tput", "stap-redirect", 1024, "msgs",
                             "relay"), 1.5, True))
    for p in params("small"):
        checks.append(("stap-pass >= 0.83x TCP (time <= 1.2x), TLS "
                       "records, %s buffers" % size_name(p),
                       ratio(data, "small", "stap-pass", p, "msgs"),
                       1 / 1.2, True))
    for cfg, lim in (("stap-pass", 1.10), ("stap-deny", 1.15)):
        for p in params("rr"):
            checks.append(("RR p50 <= %.2fx TCP (%s, %s)"
                           % (lim, size_name(p), cfg),
                           ratio(data, "rr", cfg, p, "p50"), lim, False))
    for cfg in ("stap-pass", "stap-deny"):
        checks.append(("<= 512 B kernel memory per tapped socket above "
                       "TCP (%s)" % cfg, mem.get(cfg), 512, False))
    rows = []
    for name, v, lim, higher in checks:
        met = v is not None and (v >= lim if higher else v <= lim)
        rows.append([name, fmt(v), "yes" if met else "no"])
    # The targets are for a tap on both ends
    if tapped == "both":
        emit(out, "Targets", ["target", "measured", "met"], rows)
    open(outdir + "/results.md", "w").write("\n".join(out) + "\n")
    open(outdir + "/results.rst", "w").write(out[0] + "\n" +
                                             "\n".join(RST) + "\n")

    others = [c for c in cfgs if c != "tcp"]
    write_dat(outdir + "/ratios.dat", data, others, "tput", "msgs",
              params("tput"))
    write_dat(outdir + "/rr.dat", data, others, "rr", "p50", params("rr"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
