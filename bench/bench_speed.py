"""The speed bars of issue 13, each measured side by side in one run (medians of interleaved rounds).

  attach   C npshm_attach + npshm_release against the raw system calls of the same work (open,
           fstat, mmap, munmap, close of the same file). Bar: <= 1.1x.
  create   512 MiB: create + first full write, and create(full=), against SharedArray's create +
           the same write / fill (and, in C, against ftruncate/fallocate + mmap + memset).
           Bar: <= 0.85x SharedArray.
  read     read_shared_array of an array that exists, against attach_shared_array of it.
  import   what `import npshm` adds over `import numpy`: in the interpreter (perf_counter around
           the import) and as whole-process wall time. Bar: <= 2 ms.
  list     list() with 10,000 arrays of 8 float64 (each library's own set, made before its turn and
           deleted after), against SharedArray.list(); and npshm's native listing alone (the C
           library's walk and the entries' tuples, before the ArrayDesc objects). Bar: <= 1.0x.
  huge     512 MiB on a tmpfs mounted huge=within_size (a private mount namespace: needs root and
           unshare) against /dev/shm: create(full=) and the first full read of a fresh attach.
           Bar: first read <= 0.5x, create(full=) no slower.

Usage: python bench/bench_speed.py [--out FILE] [--quick] [BAR ...]   (default: every bar)
The C part (bench/speed_floor.c) is compiled with cc against the installed package's libnpshm.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MiB = 1 << 20
SIZE_MIB = 512  # the create and huge bars' array size (bench/report_speed.py shrinks it for its quick run)


def machine() -> list[str]:
    import importlib.metadata as md

    import npshm

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def ver(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    try:
        with open("/sys/kernel/mm/transparent_hugepage/shmem_enabled") as f:
            shmem = f.read().strip()
    except OSError:
        shmem = "unknown"
    return [
        f"cpu: {cpu}",
        f"cores: {os.cpu_count()}",
        f"kernel: {platform.system()} {platform.release()}",
        f"shmem_enabled: {shmem}",
        f"python: {platform.python_version()}",
        f"numpy: {np.__version__}",
        f"npshm: {npshm.__version__}",
        f"SharedArray: {ver('SharedArray')}",
    ]


def floor_binary() -> str:
    """Build bench/speed_floor.c against the installed package's library."""
    import npshm

    pkg = os.path.dirname(npshm.__file__)
    out = os.path.join(tempfile.gettempdir(), f"npshm-speed-floor-{os.getuid()}")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-o", out, os.path.join(HERE, "speed_floor.c"), "-I", os.path.join(ROOT, "include"),
                    os.path.join(pkg, "libnpshm.so.0"), f"-Wl,-rpath,{pkg}"], check=True)
    return out


def run_floor(*args: str) -> dict[str, float]:
    r = subprocess.run([floor_binary(), *args], capture_output=True, text=True, check=True)
    return {line.split()[0]: float(line.split()[1]) for line in r.stdout.splitlines()}


def ratio_line(what: str, num: float, den: float, unit: str, bar: str) -> str:
    r = num / den
    return f"{what:58s} {num:10.3f} {unit} / {den:10.3f} {unit} = {r:5.2f}x  (bar {bar})"


def bar_attach(quick: bool) -> list[str]:
    t = run_floor("attach", "20" if quick else "100")
    raw, np_ = t["raw_open_fstat_mmap_munmap_close"], t["npshm_attach_release"]
    return [ratio_line("C npshm_attach+release / raw open,fstat,mmap,munmap,close", np_ / 1e3, raw / 1e3,
                       "us", "<= 1.10x")]


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def _med_interval(xs: list[float]) -> tuple[float, float]:
    """A 95% confidence interval of the median, from order statistics (no assumption about the
    distribution): the values ranked n/2 -+ 0.98 sqrt(n) in the sorted sample."""
    s, n = sorted(xs), len(xs)
    half = 0.98 * math.sqrt(n)
    return s[max(0, math.floor(n / 2 - half))], s[min(n - 1, math.ceil(n / 2 + half))]


def bar_create(quick: bool) -> list[str]:
    import SharedArray as sa

    import npshm

    mib = SIZE_MIB
    rounds = 3 if quick else 7
    t = run_floor("create", str(mib), str(rounds))
    lines = [
        ratio_line(f"C npshm_create {mib} MiB + memset / ftruncate,mmap,memset", t["npshm_create_write"] / 1e6,
                   t["raw_ftruncate_mmap_write"] / 1e6, "ms", "-"),
        ratio_line(f"C npshm_create {mib} MiB + memset / fallocate,mmap,memset", t["npshm_create_write"] / 1e6,
                   t["raw_fallocate_mmap_write"] / 1e6, "ms", "-"),
    ]
    n = mib * MiB
    name = f"bench-speed-{os.getpid()}"
    res: dict[str, list[float]] = {k: [] for k in ("sa_write", "np_write", "sa_full", "np_full")}
    for _ in range(rounds):
        t0 = time.perf_counter()
        a = sa.create("shm://" + name, n, np.uint8)
        a[:] = 1
        res["sa_write"].append(time.perf_counter() - t0)
        sa.delete(name)
        del a
        t0 = time.perf_counter()
        a = npshm.create_shared_array(name, (n,), np.uint8)
        a[:] = 1
        res["np_write"].append(time.perf_counter() - t0)
        npshm.delete_shared_array(name)
        del a
        t0 = time.perf_counter()
        a = sa.create("shm://" + name, n, np.uint8)
        a.fill(1)
        res["sa_full"].append(time.perf_counter() - t0)
        sa.delete(name)
        del a
        t0 = time.perf_counter()
        a = npshm.create_shared_array(name, (n,), np.uint8, full=1)
        res["np_full"].append(time.perf_counter() - t0)
        npshm.delete_shared_array(name)
        del a
    ms = {k: _med(v) * 1e3 for k, v in res.items()}
    lines.append(ratio_line(f"Python create {mib} MiB + a[:]=1: npshm / SharedArray", ms["np_write"], ms["sa_write"],
                            "ms", "<= 0.85x"))
    lines.append(ratio_line(f"Python create(full=1) {mib} MiB: npshm / SharedArray create+fill", ms["np_full"],
                            ms["sa_full"], "ms", "<= 0.85x"))
    return lines


def bar_read(quick: bool) -> list[str]:
    import npshm

    d = tempfile.mkdtemp()
    path = os.path.join(d, "a.npy")
    np.save(path, np.arange(1000, dtype=np.float64))
    name = f"bench-speed-read-{os.getpid()}"
    npshm.read_shared_array(path, name)
    res: dict[str, list[float]] = {"read": [], "attach": []}
    rounds, inner = (20, 50) if quick else (50, 200)
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(inner):
                a = npshm.read_shared_array(path, name)
                del a
            t1 = time.perf_counter()
            for _ in range(inner):
                a = npshm.attach_shared_array(name)
                del a
            t2 = time.perf_counter()
            res["read"].append((t1 - t0) / inner)
            res["attach"].append((t2 - t1) / inner)
    finally:
        npshm.delete_shared_array(name)
        shutil.rmtree(d)
    us = {k: _med(v) * 1e6 for k, v in res.items()}
    return [ratio_line("read_shared_array of an existing array / attach_shared_array", us["read"], us["attach"],
                       "us", "no loader thread")]


LIST_COUNT = 10_000


def bar_list(quick: bool) -> list[str]:
    import npshm
    import SharedArray as sa  # type: ignore[import-not-found]
    from npshm import _native

    count, rounds, reps = (2_000, 2, 5) if quick else (LIST_COUNT, 3, 7)
    names = [f"bench-speed-list-{os.getpid()}-{j}" for j in range(count)]
    res: dict[str, list[float]] = {"npshm": [], "native": [], "SharedArray": []}

    def timed(key: str, fn) -> None:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        got = fn()
        res[key].append(time.perf_counter() - t0)
        del got

    def turn(create: Callable[..., Any], delete: Callable[[str], Any], listings: dict[str, Callable[[], Any]]) -> None:
        """One library's turn: its own set of arrays, made before and deleted after (also on an
        error); each of its listings timed reps times, in alternation."""
        try:
            for nm in names:
                create(nm, (8,), np.float64)
            for _ in range(reps):
                for key, fn in listings.items():
                    timed(key, fn)
        finally:
            for nm in names:
                try:
                    delete(nm)
                except FileNotFoundError:
                    pass

    for _ in range(rounds):  # the libraries in turn
        turn(npshm.create_shared_array, npshm.delete_shared_array, {"npshm": npshm.list, "native": _native.list})
        turn(sa.create, sa.delete, {"SharedArray": sa.list})
    ms = {k: _med(v) * 1e3 for k, v in res.items()}
    return [ratio_line(f"list() of {count:,} arrays: npshm / SharedArray", ms["npshm"], ms["SharedArray"], "ms",
                       "<= 1.00x"),
            ratio_line(f"list() of {count:,} arrays: npshm native walk / SharedArray", ms["native"],
                       ms["SharedArray"], "ms", "-")]


WALL_LABEL = 'python -c "import numpy, npshm" - "import numpy" (wall)'
_IMPORT_PROBE = ("import time, numpy; t0 = time.perf_counter(); import npshm; t1 = time.perf_counter(); "
                 "npshm.get_dir(); t2 = time.perf_counter(); print((t1 - t0) * 1e3, (t2 - t1) * 1e3)")


_WALL_CODES = ("import numpy", "import numpy, npshm")


def bar_import(quick: bool) -> list[str]:
    """In the interpreter: perf_counter around the import, after numpy's; and around the first call
    after it (get_dir), which loads libnpshm and starts the Go runtime (the import no longer does:
    the cost moves to the first use, and this says how much). Whole process: the wall time of
    `python -c "import numpy, npshm"` less that of `python -c "import numpy"`, run in alternation
    (in turn first and second); the median of the pairs' differences, since a busy machine moves
    both by tens of milliseconds, with its 95% confidence interval: the noise, said in the line."""
    runs = 15 if quick else 200
    inproc, first, diffs, base = [], [], [], []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True)
        imp, call = map(float, r.stdout.split())
        inproc.append(imp)
        first.append(call)
        pair = {}
        for code in (_WALL_CODES if len(diffs) % 2 == 0 else _WALL_CODES[::-1]):  # ABBA: no order bias
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            pair[code] = time.perf_counter() - t0
        base.append(pair[_WALL_CODES[0]])
        diffs.append(pair[_WALL_CODES[1]] - pair[_WALL_CODES[0]])
    lo, hi = _med_interval(diffs)
    return [
        f"{'import npshm after numpy, in the interpreter':58s} {_med(inproc):10.3f} ms  (bar <= 2 ms)",
        f"{WALL_LABEL:58s} {_med(diffs) * 1e3:10.3f} ms  "
        f"(bar <= 2 ms; median of {runs} pairs, 95% interval {lo * 1e3:.2f} to {hi * 1e3:.2f} ms; "
        f"numpy alone {_med(base) * 1e3:.1f} ms)",
        ratio_line("first call (loads libnpshm) / import npshm, in-process", _med(first), _med(inproc), "ms", "-"),
    ]


_HUGE_PROBE = r"""
import json, os, sys, time
import numpy as np
import npshm
n = int(sys.argv[1]); rounds = int(sys.argv[2])
name = "bench-speed-huge-%d" % os.getpid()
full, read = [], []
for _ in range(rounds):
    t0 = time.perf_counter()
    a = npshm.create_shared_array(name, (n // 8,), np.float64, full=1.0)
    full.append(time.perf_counter() - t0)
    del a
    b = npshm.attach_shared_array(name, read_only=True)
    t0 = time.perf_counter()
    b.sum()
    read.append(time.perf_counter() - t0)
    del b
    npshm.delete_shared_array(name)
print(json.dumps({"full": sorted(full)[len(full) // 2], "read": sorted(read)[len(read) // 2]}))
"""


def _huge_in_namespace(mib: int, rounds: int) -> dict[str, dict[str, float]]:
    """Run in a private mount namespace: mount a huge=within_size tmpfs and measure there and on
    /dev/shm, one after the other."""
    mnt = tempfile.mkdtemp(prefix="npshm-huge-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"huge=within_size,size={4 * mib}m,mode=1777", "tmpfs", mnt],
                   check=True)
    out = {}
    try:
        for label, d in (("/dev/shm", ""), ("huge", mnt)):
            env = dict(os.environ)
            env.pop("NPSHM_DIR", None)
            if d:
                env["NPSHM_DIR"] = d
            r = subprocess.run([sys.executable, "-c", _HUGE_PROBE, str(mib * MiB), str(rounds)], env=env,
                               capture_output=True, text=True, check=True)
            out[label] = json.loads(r.stdout)
    finally:
        subprocess.run(["umount", mnt], check=False)
        os.rmdir(mnt)
    return out


def bar_huge(quick: bool) -> list[str]:
    mib, rounds = SIZE_MIB, 3 if quick else 7
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return ["huge pages: skipped (needs root and unshare for a private mount namespace)"]
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, __file__, "--huge-child",
                        str(mib), str(rounds)], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"huge pages: failed: {r.stderr.strip()[-300:]}"]
    res = json.loads(r.stdout)
    shm, huge = res["/dev/shm"], res["huge"]
    return [
        ratio_line(f"first full read {mib} MiB: huge=within_size / /dev/shm", huge["read"] * 1e3,
                   shm["read"] * 1e3, "ms", "<= 0.50x"),
        ratio_line(f"create(full=1.0) {mib} MiB: huge=within_size / /dev/shm", huge["full"] * 1e3,
                   shm["full"] * 1e3, "ms", "<= 1.00x"),
    ]


BARS = {"attach": bar_attach, "create": bar_create, "read": bar_read, "import": bar_import, "list": bar_list,
        "huge": bar_huge}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--huge-child":
        print(json.dumps(_huge_in_namespace(int(sys.argv[2]), int(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bars", nargs="*", choices=[*BARS, []], default=[])
    ap.add_argument("--out", help="also write the results here")
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    a = ap.parse_args()
    lines = ["# npshm speed bars (bench/bench_speed.py)", "", *("    " + m for m in machine()), ""]
    print("\n".join(lines), flush=True)
    for bar in a.bars or list(BARS):
        got = BARS[bar](a.quick)
        print("\n".join(got), flush=True)
        lines += got
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
