"""Python latency benchmark: npshm side by side with SharedArray (and cdxcore.npshm for
reference) in one run.

Per operation, on a 1000-element float64 array:
  attach+release  attach to an existing array and drop the result (unmap)
  create+delete   create an array, delete its name, drop the result
plus the import time that `import npshm` adds over `import numpy`, and the resident memory that
loading libnpshm (the Go runtime) adds. The binding technique is measured too: npshm's C
extension against a ctypes binding of the same library (bench/alt_ctypes.py).

Bars (issue 3): attach+release <= 1.2 x SharedArray, create+delete <= 1.5 x SharedArray,
import <= 20 ms over numpy, loaded runtime <= 10 MiB RSS.

Usage: python bench/bench_python.py [--out bench/results/python-latency.txt] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as md
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SHAPE = (1000,)


def machine() -> list[str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    import npshm

    return [
        f"cpu: {cpu}",
        f"cores: {os.cpu_count()}",
        f"kernel: {platform.system()} {platform.release()}",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
        f"numpy: {np.__version__}",
        f"npshm: {npshm.__version__} (libnpshm {npshm.lib_version})",
        f"SharedArray: {ver('SharedArray')}",
        f"cdxcore: {ver('cdxcore')}",
    ]


class Subject:
    """One library under test: how to create, attach and delete."""

    def __init__(self, label: str, create, attach, delete) -> None:
        self.label, self.create, self.attach, self.delete = label, create, attach, delete


def subjects() -> list[Subject]:
    import npshm

    out = [Subject("npshm (C extension)", lambda n: npshm.create(n, SHAPE, np.float64),
                   npshm.attach, npshm.delete)]
    import alt_ctypes

    ct = alt_ctypes.load(os.path.join(os.path.dirname(npshm.__file__), "libnpshm.so.0"))
    out.append(Subject("npshm via ctypes", lambda n: ct.create(n, SHAPE, np.float64),
                       ct.attach, ct.delete))
    try:
        import SharedArray as sa

        out.append(Subject("SharedArray", lambda n: sa.create(n, SHAPE, np.float64),
                           sa.attach, sa.delete))
    except ImportError:
        pass
    try:
        from cdxcore import npshm as cdx

        out.append(Subject(
            "cdxcore.npshm",
            lambda n: cdx.create_shared_array(n, SHAPE, np.float64),
            cdx.attach_shared_array,
            cdx.delete_shared_array,
        ))
    except ImportError:
        pass
    return out


def measure(subs: list[Subject], n_ops: int, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per-op times in ns: for each subject and op, one mean per batch of n_ops. Subjects take
    turns batch by batch, so that drift of the machine hits them all alike."""
    res: dict[str, dict[str, list[float]]] = {s.label: {"attach+release": [], "create+delete": []}
                                             for s in subs}
    base = f"bench-py-{os.getpid()}"
    for s in subs:  # warm up, and make the arrays to attach to
        s.create(f"{base}-{subs.index(s)}")
        for _ in range(200):
            a = s.attach(f"{base}-{subs.index(s)}")
            del a
    gc.disable()
    try:
        for _ in range(repeats):
            for i, s in enumerate(subs):
                name = f"{base}-{i}"
                attach = s.attach
                t0 = time.perf_counter_ns()
                for _ in range(n_ops):
                    a = attach(name)
                    del a
                t1 = time.perf_counter_ns()
                res[s.label]["attach+release"].append((t1 - t0) / n_ops)

                cname = f"{base}-{i}-c"
                create, delete = s.create, s.delete
                t0 = time.perf_counter_ns()
                for _ in range(n_ops):
                    a = create(cname)
                    delete(cname)
                    del a
                t1 = time.perf_counter_ns()
                res[s.label]["create+delete"].append((t1 - t0) / n_ops)
    finally:
        gc.enable()
        for i, s in enumerate(subs):
            s.delete(f"{base}-{i}")
    return res


_IMPORT_PROBE = r"""
import sys, time, os
import numpy
t0 = time.perf_counter()
import {mod}
t1 = time.perf_counter()
try:  # the first call waits for the Go runtime's start, which the import only began
    {mod}.attach("bench-no-such-array")
except FileNotFoundError:
    pass
t2 = time.perf_counter()
print((t1 - t0) * 1e3, (t2 - t0) * 1e3)
"""

_RSS_PROBE = r"""
import gc, os, numpy as np
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
before = rss()
import {mod} as m
{use}
gc.collect()
print(rss() - before)
"""


def _median_of_runs(code: str, runs: int, field: int = -1) -> float:
    vals = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        vals.append(float(r.stdout.split()[field]))
    return statistics.median(vals)


def import_and_rss(runs: int) -> list[tuple[str, float, float, float]]:
    """(module, median ms its import adds after numpy, the same up to the end of a first call,
    median KiB of RSS it adds)."""
    rows = []
    use_npshm = ("a = m.create('bench-rss-%d' % os.getpid(), 1000); b = m.attach('bench-rss-%d'"
                 " % os.getpid()); m.delete('bench-rss-%d' % os.getpid()); del a, b")
    probes = [("npshm", use_npshm)]
    try:
        import SharedArray  # noqa: F401

        probes.append(("SharedArray", use_npshm))
    except ImportError:
        pass
    for mod, use in probes:
        ms = _median_of_runs(_IMPORT_PROBE.format(mod=mod), runs, 0)
        first = _median_of_runs(_IMPORT_PROBE.format(mod=mod), runs, 1)
        kib = _median_of_runs(_RSS_PROBE.format(mod=mod, use=use), max(5, runs // 2))
        rows.append((mod, ms, first, kib))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the report to this file")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = ap.parse_args()
    n_ops, repeats, runs = (2000, 3, 5) if args.quick else (20000, 9, 21)

    lines = ["# npshm Python latency benchmark (bench/bench_python.py)", ""]
    lines += machine()
    lines += ["", f"per operation, 1000-element float64 array, {repeats} batches of {n_ops} ops "
              "each (subjects interleaved); ns per op: min / median of the batch means", ""]
    subs = subjects()
    res = measure(subs, n_ops, repeats)
    lines.append(f"{'library':<22} {'attach+release':>22} {'create+delete':>22}")
    for s in subs:
        r = res[s.label]
        cells = [f"{min(r[op]):>9.0f} / {statistics.median(r[op]):>8.0f}"
                 for op in ("attach+release", "create+delete")]
        lines.append(f"{s.label:<22} {cells[0]:>22} {cells[1]:>22}")

    verdicts = []
    ours = res["npshm (C extension)"]
    if "SharedArray" in res:
        sa = res["SharedArray"]
        lines.append("")
        lines.append("ratio to SharedArray (median): ")
        for s in subs:
            if s.label == "SharedArray":
                continue
            r = res[s.label]
            ra = statistics.median(r["attach+release"]) / statistics.median(sa["attach+release"])
            rc = statistics.median(r["create+delete"]) / statistics.median(sa["create+delete"])
            lines.append(f"  {s.label:<22} attach+release {ra:5.2f}x   create+delete {rc:5.2f}x")
        ra = statistics.median(ours["attach+release"]) / statistics.median(sa["attach+release"])
        rc = statistics.median(ours["create+delete"]) / statistics.median(sa["create+delete"])
        verdicts.append(("attach+release <= 1.2 x SharedArray", ra <= 1.2, f"{ra:.2f}x"))
        verdicts.append(("create+delete <= 1.5 x SharedArray", rc <= 1.5, f"{rc:.2f}x"))
    else:
        lines.append("SharedArray is not installed: no ratios")

    lines += ["", f"import time after numpy, and RSS after import + one create/attach/delete "
              f"(median of {runs} fresh interpreters):"]
    for mod, ms, first, kib in import_and_rss(runs):
        lines.append(f"  {mod:<12} import +{ms:6.2f} ms   import and a first call +{first:6.2f} ms"
                     f"   RSS +{kib / 1024:6.2f} MiB")
        if mod == "npshm":
            verdicts.append(("import npshm (and its first call) <= 20 ms over numpy",
                             first <= 20, f"{ms:.2f} ms ({first:.2f} ms with the first call)"))
            verdicts.append(("loaded runtime <= 10 MiB RSS", kib <= 10 * 1024,
                             f"{kib / 1024:.2f} MiB"))

    lines += ["", "bars:"]
    for what, ok, val in verdicts:
        lines.append(f"  {'PASS' if ok else 'FAIL'}  {what}: {val}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
