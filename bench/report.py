"""The benchmark report: npshm side by side with SharedArray, multiprocessing.shared_memory (with
an ndarray over it), cdxcore.npshm and the raw system calls, in one run.

    python bench/report.py [--out-dir bench/results] [--date YYYY-MM-DD] [--no-huge]

writes OUT_DIR/<date>.md (machine, versions, tables of medians and ratios against SharedArray,
and what they mean), OUT_DIR/<date>.json (every measurement) and, if matplotlib is installed,
OUT_DIR/<date>-*.png (charts). `./build.sh bench` runs it in full. NPSHM_BENCH_QUICK=1 shrinks
every size and count (a smoke run of a few seconds, which `./build.sh test` makes so that the
harness cannot rot; its numbers mean nothing).

Sections (bench/report_text.py words the conclusions):
  small     attach+release and create+delete of a 1000-element float64 array
  big       1 GiB: create, first full write, create(full=), first read through a fresh mapping
  files     1 GiB file on disk (in the page cache) into a new shared array, against cdxcore and cp
  handoff   an array handed to 8 pool workers, each of which reads its block
  size      create, attach, fill and delete from 1 KiB to 4 GiB
  count     create, list and delete with 10 to 10,000 arrays
  imports   import time (in the interpreter and as process wall time) and memory added over numpy
  seed      N=4 fresh worker processes that all need the same 1 GiB dataset file
  speed     the speed bars of issue 13 (bench/bench_speed.py's, and the no-reserve scale bar;
            bench/report_speed.py), each with its ratio, the bar and PASS or FAIL
  huge      big and seed again on a tmpfs mounted huge=within_size over /dev/shm, in a private
            mount namespace (`unshare -m`; needs root), so that every library uses it
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib.metadata as md
import json
import mmap
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any, Callable, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
QUICK = os.environ.get("NPSHM_BENCH_QUICK", "") not in ("", "0")
SHM = "/dev/shm"
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

# Sizes and counts: full run, and the quick (smoke) run.
BIG = 8 * MiB if QUICK else 1 * GiB
BIG_ROUNDS = 1 if QUICK else 3
SMALL_OPS, SMALL_BATCHES = (200, 2) if QUICK else (5000, 7)
FILE_ROUNDS = 1 if QUICK else 5
HANDOFF = 8 * MiB if QUICK else 256 * MiB
HANDOFF_WORKERS = 8
HANDOFF_ROUNDS = 1 if QUICK else 5
SIZES = [KiB << (2 * k) for k in range(6 if QUICK else 12)]  # 1 KiB .. 1 MiB (quick) / 4 GiB
ATTACHES = 5 if QUICK else 21  # attach + release per array made, in the size sweep
COUNTS = [10, 100] if QUICK else [10, 100, 1000, 10000]
IMPORT_RUNS = 2 if QUICK else 15
SEED = 8 * MiB if QUICK else 1 * GiB
SEED_WORKERS = 4
SEED_ROUNDS = 1 if QUICK else 3

REF = "SharedArray"  # the ratios' reference


def _tag() -> str:
    return f"npshm-report-{os.getpid()}"


# ---- the machine ---------------------------------------------------------------------------------


def _read(path: str, default: str = "?") -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _meminfo(key: str) -> int:
    """A /proc/meminfo field in bytes (0 if absent)."""
    for line in _read("/proc/meminfo", "").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * KiB
    return 0


def _mount_of(path: str) -> str:
    """The mount that holds path (the last of the longest mount points: an over-mount wins):
    "MOUNTPOINT FSTYPE OPTIONS"."""
    best, best_len = "?", -1
    for line in _read("/proc/mounts", "").splitlines():
        _, mnt, fstype, opts = line.split()[:4]
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= best_len:
            best, best_len = f"{mnt} {fstype} {opts}", len(mnt)
    return best


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = "?"
    for line in _read("/proc/cpuinfo", "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import npshm

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{_meminfo('MemTotal') / GiB:.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "/dev/shm": _mount_of(SHM),
        "dataset directory": f"{_dataset_dir()}: {_mount_of(_dataset_dir())}",
        "page size": f"{os.sysconf('SC_PAGE_SIZE')} bytes",
        "THP enabled": _read("/sys/kernel/mm/transparent_hugepage/enabled"),
        "THP shmem_enabled": _read("/sys/kernel/mm/transparent_hugepage/shmem_enabled"),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "numpy": np.__version__,
        "npshm": f"{npshm.__version__} (libnpshm {npshm.lib_version})",
        "SharedArray": _version("SharedArray"),
        "cdxcore": _version("cdxcore"),
        "matplotlib": _version("matplotlib"),
    }


def _dataset_dir() -> str:
    """Where dataset files live: a disk file system (not tmpfs), NPSHM_BENCH_DIR or /var/tmp."""
    return os.environ.get("NPSHM_BENCH_DIR", "/var/tmp")


# ---- the libraries, behind one face ---------------------------------------------------------------


class Lib:
    """One way of sharing an array: create (zeroed) -> handle, attach -> handle, the array of a
    handle, release a handle, delete a name, and optionally create with a fill value and list."""

    label = ""

    def create(self, name: str, shape: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def create_full(self, name: str, shape: tuple[int, ...], value: float) -> Optional[Any]:
        return None  # not offered

    def attach(self, name: str) -> Any:
        raise NotImplementedError

    def array(self, h: Any) -> np.ndarray:
        return h

    def release(self, h: Any) -> None:
        pass  # dropping the last reference unmaps

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def list(self) -> Optional[int]:
        return None  # not offered


class Npshm(Lib):
    label = "npshm"

    def __init__(self) -> None:
        import npshm

        self.m = npshm

    def create(self, name, shape):
        return self.m.create_shared_array(name, shape, np.float64)

    def create_full(self, name, shape, value):
        return self.m.create_shared_array(name, shape, np.float64, full=value)

    def attach(self, name):
        return self.m.attach_shared_array(name)

    def delete(self, name):
        self.m.delete_shared_array(name)

    def list(self):
        return len(self.m.list())


class NpshmNoReserve(Npshm):
    """npshm's opt-out of the reservation (`reserve=False`), for arrays used sparsely: lazy like
    SharedArray, and like it exposed to SIGBUS on a full /dev/shm. Measured where offered."""

    label = "npshm reserve=False"

    def __init__(self) -> None:
        super().__init__()
        import inspect

        if "reserve" not in inspect.signature(self.m.create_shared_array).parameters:
            raise ImportError("this npshm has no reserve=False")

    def create(self, name, shape):
        return self.m.create_shared_array(name, shape, np.float64, reserve=False)

    def create_full(self, name, shape, value):
        return None

    def list(self):
        return None


class SharedArrayLib(Lib):
    label = "SharedArray"

    def __init__(self) -> None:
        import SharedArray

        self.m = SharedArray

    def create(self, name, shape):
        return self.m.create(name, shape, np.float64)

    def attach(self, name):
        return self.m.attach(name)

    def delete(self, name):
        self.m.delete(name)

    def list(self):
        return len(self.m.list())


class SharedMemoryLib(Lib):
    """multiprocessing.shared_memory.SharedMemory and an ndarray over its buffer. The shape
    travels beside the name (the segment holds none); this keeps it in a dict, as a caller must."""

    label = "shared_memory"

    def __init__(self) -> None:
        from multiprocessing import shared_memory

        self.m = shared_memory
        self.shapes: dict[str, tuple[int, ...]] = {}

    def _nd(self, shm: Any, shape: tuple[int, ...]) -> list[Any]:
        # a list, so that release can drop the ndarray before it closes the buffer under it
        return [shm, np.ndarray(shape, np.float64, buffer=shm.buf)]

    def create(self, name, shape):
        self.shapes[name] = shape
        return self._nd(self.m.SharedMemory(name, create=True, size=max(8, 8 * int(np.prod(shape)))), shape)

    def attach(self, name):
        return self._nd(self.m.SharedMemory(name), self.shapes[name])

    def array(self, h):
        return h[1]

    def release(self, h):
        shm = h[0]
        h.clear()
        shm.close()

    def delete(self, name):
        shm = self.m.SharedMemory(name)
        shm.close()
        shm.unlink()
        self.shapes.pop(name, None)


class Cdxcore(Lib):
    label = "cdxcore"

    def __init__(self) -> None:
        from cdxcore import npshm as cdx

        self.m = cdx

    def create(self, name, shape):
        return self.m.create_shared_array(name, shape, np.float64, track=False)

    def create_full(self, name, shape, value):
        return self.m.create_shared_array(name, shape, np.float64, full=value, track=False)

    def attach(self, name):
        return self.m.attach_shared_array(name, track=False)

    def delete(self, name):
        self.m.delete_shared_array(name)


class Raw(Lib):
    """The floor: the system calls an attach or create needs, from Python (os and mmap): open,
    fstat, mmap, close; create is open(O_EXCL), ftruncate (no reservation, like SharedArray),
    mmap, close; delete is unlink."""

    label = "raw syscalls"

    def create(self, name, shape):
        fd = os.open(f"{SHM}/{name}", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            n = 8 * int(np.prod(shape))
            os.ftruncate(fd, max(n, 8))
            m = mmap.mmap(fd, max(n, 8))
        finally:
            os.close(fd)
        return np.frombuffer(m, np.float64, int(np.prod(shape))).reshape(shape)

    def attach(self, name):
        fd = os.open(f"{SHM}/{name}", os.O_RDWR | os.O_NOFOLLOW)
        try:
            m = mmap.mmap(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        return np.frombuffer(m, np.float64)

    def delete(self, name):
        os.unlink(f"{SHM}/{name}")

    def list(self):
        return len(os.listdir(SHM))


def libraries() -> list[Lib]:
    out: list[Lib] = [Npshm()]
    for cls in (NpshmNoReserve, SharedArrayLib, SharedMemoryLib, Cdxcore):
        try:
            out.append(cls())
        except ImportError:
            pass
    out.append(Raw())
    return out


# ---- timing ----------------------------------------------------------------------------------------


def _now() -> float:
    return time.perf_counter()


def _turn(items: list[Any], r: int) -> list[Any]:
    """items rotated by r: who goes first changes from round to round."""
    k = r % len(items)
    return items[k:] + items[:k]


def _touch_pages(a: np.ndarray) -> float:
    """Read one value in each 4 KiB page of a float64 array: what a first read through a fresh
    mapping costs (the page faults), without the arithmetic of a full sum."""
    return float(a.reshape(-1)[::512].sum())


def _free_enough(nbytes: int, copies: int = 2) -> bool:
    return _meminfo("MemAvailable") > copies * nbytes + 2 * GiB


# ---- sections ----------------------------------------------------------------------------------


def sec_small(libs: list[Lib]) -> dict[str, dict[str, float]]:
    """Per operation on a 1000-element float64 array, in seconds: the median of batch means,
    libraries taking turns batch by batch so that drift hits them alike."""
    shape = (1000,)
    res: dict[str, dict[str, list[float]]] = {lib.label: {"attach+release": [], "create+delete": []}
                                             for lib in libs}
    base = _tag()
    for i, lib in enumerate(libs):
        lib.release(lib.create(f"{base}-s{i}", shape))
        for _ in range(50):
            lib.release(lib.attach(f"{base}-s{i}"))
    gc.disable()
    try:
        for _ in range(SMALL_BATCHES):
            for i, lib in enumerate(libs):
                name, cname = f"{base}-s{i}", f"{base}-s{i}c"
                attach, release, create, delete = lib.attach, lib.release, lib.create, lib.delete
                t0 = _now()
                for _ in range(SMALL_OPS):
                    release(attach(name))
                t1 = _now()
                for _ in range(SMALL_OPS):
                    release(create(cname, shape))
                    delete(cname)
                t2 = _now()
                res[lib.label]["attach+release"].append((t1 - t0) / SMALL_OPS)
                res[lib.label]["create+delete"].append((t2 - t1) / SMALL_OPS)
    finally:
        gc.enable()
        for i, lib in enumerate(libs):
            lib.delete(f"{base}-s{i}")
    return {k: {op: statistics.median(v) for op, v in ops.items()} for k, ops in res.items()}


def _npy_file(path: str, nbytes: int) -> None:
    """A float64 .npy of nbytes, in the page cache."""
    if not os.path.exists(path) or os.path.getsize(path) < nbytes:
        np.save(path, np.arange(nbytes // 8, dtype=np.float64))
    _warm(path)


def _warm(path: str) -> None:
    with open(path, "rb") as f:
        while f.read(64 * MiB):
            pass


def sec_big(libs: list[Lib], npy: Optional[str]) -> dict[str, dict[str, float]]:
    """1 GiB (BIG) arrays: create (zeroed), the first full write (a[:] = 1), create(full=1.0)
    where offered, the first read of every page through a fresh attach, delete. Seconds, median
    of BIG_ROUNDS, libraries interleaved."""
    n = BIG // 8
    base = _tag()
    res: dict[str, dict[str, list[float]]] = {lib.label: {} for lib in libs}
    for r in range(BIG_ROUNDS):
        for lib in _turn(libs, r):
            d = res[lib.label]
            name = f"{base}-b"
            huge0 = _meminfo("ShmemHugePages")
            t0 = _now()
            h = lib.create(name, (n,))
            t1 = _now()
            lib.array(h)[:] = 1.0
            t2 = _now()
            d.setdefault("huge pages", []).append(_meminfo("ShmemHugePages") - huge0)
            lib.release(h)
            del h
            t3 = _now()
            h = lib.attach(name)
            _touch_pages(lib.array(h))
            t4 = _now()
            lib.release(h)
            del h
            t5 = _now()
            lib.delete(name)
            t6 = _now()
            d.setdefault("create", []).append(t1 - t0)
            d.setdefault("first write", []).append(t2 - t1)
            d.setdefault("create + first write", []).append(t2 - t0)
            d.setdefault("first read", []).append(t5 - t3)
            d.setdefault("delete", []).append(t6 - t5)
            t0 = _now()
            h = lib.create_full(name, (n,), 1.0)
            t1 = _now()
            if h is not None:
                lib.release(h)
                del h
                lib.delete(name)
                d.setdefault("create(full=)", []).append(t1 - t0)
        if npy is not None:
            t0 = _now()
            a = np.load(npy, mmap_mode="r")
            _touch_pages(a[: n])
            del a
            res.setdefault("np.load(mmap_mode='r')", {}).setdefault("first read", []).append(_now() - t0)
    return {k: {op: statistics.median(v) for op, v in ops.items()} for k, ops in res.items()}


def sec_files(npy: str, npio: str) -> dict[str, dict[str, float]]:
    """A BIG file on disk, in the page cache, into a new shared array (seconds, median)."""
    import npshm

    base = _tag()
    subjects: dict[str, Callable[[str], None]] = {}

    def np_(path: str) -> Callable[[str], None]:
        def run(name: str) -> None:
            a = npshm.read_shared_array(path, name)
            del a
            npshm.delete_shared_array(name)
        return run

    subjects["npshm.read_shared_array (npio)"] = np_(npio)
    subjects["npshm.read_shared_array (.npy)"] = np_(npy)
    try:
        from cdxcore import npshm as cdx

        def run_cdx(name: str) -> None:
            a = cdx.read_shared_array(npio, name, track=False)
            del a
            cdx.delete_shared_array(name)

        subjects["cdxcore.npshm.read_shared_array (npio)"] = run_cdx
    except ImportError:
        pass

    def run_cp(name: str) -> None:
        subprocess.run(["cp", npio, f"{SHM}/{name}"], check=True)
        os.unlink(f"{SHM}/{name}")

    subjects["cp FILE /dev/shm/ (the floor)"] = run_cp

    def run_load(name: str) -> None:
        a = np.load(npy)
        del a

    subjects["np.load (private memory)"] = run_load
    times: dict[str, list[float]] = {k: [] for k in subjects}
    for r in range(FILE_ROUNDS + 1):  # round 0 warms up
        for k, fn in subjects.items():
            t0 = _now()
            fn(f"{base}-f")
            if r:
                times[k].append(_now() - t0)
    return {k: {"load": statistics.median(v)} for k, v in times.items()}


# Hand-off: each worker reads its eighth of the array (one value per page), from a handle that
# travels through the pool's pipe.


def _handoff_npshm(args: tuple[Any, int]) -> float:
    a, i = args
    k = a.shape[0] // HANDOFF_WORKERS
    return _touch_pages(a[i * k:(i + 1) * k])


def _handoff_block(a: np.ndarray) -> float:
    return _touch_pages(a)


def _handoff_name(args: tuple[str, str, int, int]) -> float:
    kind, name, n, i = args
    k = n // HANDOFF_WORKERS
    if kind == "SharedArray":
        import SharedArray

        return _touch_pages(SharedArray.attach(name)[i * k:(i + 1) * k])
    if kind == "cdxcore":
        from cdxcore import npshm as cdx

        return _touch_pages(cdx.attach_shared_array(name, track=False)[i * k:(i + 1) * k])
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(name)
    a = np.ndarray((n,), np.float64, buffer=shm.buf)
    v = _touch_pages(a[i * k:(i + 1) * k])
    del a
    shm.close()
    return v


def sec_handoff(libs: list[Lib]) -> dict[str, dict[str, float]]:
    """One pool.map of 8 tasks over an array of HANDOFF bytes (seconds, median): how long it takes
    until every worker has read its block, the array travelling by reference (npshm), by name
    (the others) or, for a plain ndarray, each worker's block pickled into its task."""
    import multiprocessing as mp

    n = HANDOFF // 8
    base = _tag()
    times: dict[str, list[float]] = {}
    with mp.get_context("fork").Pool(HANDOFF_WORKERS) as pool:
        pool.map(abs, range(HANDOFF_WORKERS * 4))  # the workers are up
        for r in range(HANDOFF_ROUNDS + 1):
            for lib in libs:
                if lib.label in ("raw syscalls", "npshm reserve=False"):
                    continue  # no hand-off of its own (reserve=False travels as npshm does)
                name = f"{base}-h"
                h = lib.create(name, (n,))
                lib.array(h)[:] = 1.0
                t0 = _now()
                if lib.label == "npshm":
                    pool.map(_handoff_npshm, [(h, i) for i in range(HANDOFF_WORKERS)])
                else:
                    pool.map(_handoff_name, [(lib.label, name, n, i) for i in range(HANDOFF_WORKERS)])
                t = _now() - t0
                lib.release(h)
                del h
                lib.delete(name)
                if r:
                    times.setdefault(lib.label, []).append(t)
            a = np.ones(n)
            k = n // HANDOFF_WORKERS
            t0 = _now()
            pool.map(_handoff_block, [a[i * k:(i + 1) * k] for i in range(HANDOFF_WORKERS)])
            if r:
                times.setdefault("plain ndarray (each block pickled)", []).append(_now() - t0)
            del a
    return {k: {"hand-off": statistics.median(v)} for k, v in times.items()}


def sec_size(libs: list[Lib]) -> dict[str, dict[str, dict[str, float]]]:
    """Create (zeroed), attach + release, first full write (through the creator's mapping) and
    delete, by size: {label: {op: {size: seconds}}} (median of a number of repeats that shrinks
    with the size)."""
    base = _tag()
    out: dict[str, dict[str, dict[str, float]]] = {lib.label: {} for lib in libs}
    for size in SIZES:
        if not _free_enough(size, 2):
            print(f"report: size {size >> 20} MiB skipped: not enough free memory", file=sys.stderr)
            continue
        reps = max(1, min(100, (64 * MiB) // size)) if size < GiB else 1
        if size >= 256 * MiB and not QUICK:
            reps = max(reps, 2 if size < 4 * GiB else 1)
        n = size // 8
        for lib in libs:
            ts: dict[str, list[float]] = {"create": [], "attach": [], "fill": [], "delete": []}
            for _ in range(reps):
                name = f"{base}-z"
                t0 = _now()
                h = lib.create(name, (n,))
                t1 = _now()
                lib.array(h)[:] = 1.0
                t2 = _now()
                att = []
                for _ in range(ATTACHES):
                    ta = _now()
                    lib.release(lib.attach(name))
                    att.append(_now() - ta)
                t3 = _now()
                lib.release(h)
                del h
                t4 = _now()
                lib.delete(name)
                t5 = _now()
                ts["create"].append(t1 - t0)
                ts["fill"].append(t2 - t1)
                ts["attach"].append(statistics.median(att))
                ts["delete"].append(t5 - t4)
            for op, v in ts.items():
                out[lib.label].setdefault(op, {})[str(size)] = statistics.median(v)
    return out


def sec_count(libs: list[Lib]) -> dict[str, dict[str, dict[str, float]]]:
    """With COUNT arrays of 8 float64 each: create per array, list() once, delete per array
    (median of repeats: up to 20 for small counts). {label: {op: {count: seconds}}}."""
    base = _tag()
    out: dict[str, dict[str, dict[str, float]]] = {lib.label: {} for lib in libs}
    for count in COUNTS:
        reps = max(1, min(20, 1000 // count)) if not QUICK else 1
        for lib in libs:
            ts: dict[str, list[float]] = {}
            for _ in range(reps):
                names = [f"{base}-n{j}" for j in range(count)]
                t0 = _now()
                for nm in names:
                    lib.release(lib.create(nm, (8,)))
                t1 = _now()
                listed = lib.list()
                t2 = _now()
                for nm in names:
                    lib.delete(nm)
                t3 = _now()
                ts.setdefault("create (per array)", []).append((t1 - t0) / count)
                if listed is not None:
                    ts.setdefault("list", []).append(t2 - t1)
                ts.setdefault("delete (per array)", []).append((t3 - t2) / count)
            for op, v in ts.items():
                out[lib.label].setdefault(op, {})[str(count)] = statistics.median(v)
    return out


_IMPORT_PROBE = r"""
import time, numpy
t0 = time.perf_counter()
import {mod}
t1 = time.perf_counter()
{first}
t2 = time.perf_counter()
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
print((t1 - t0), (t2 - t0), rss())
"""

_IMPORT_SUBJECTS = {
    "npshm": ("npshm", "try:\n    npshm.attach_shared_array('npshm-report-none')\nexcept FileNotFoundError:\n    pass"),
    "SharedArray": ("SharedArray", ""),
    "cdxcore": ("cdxcore.npshm", ""),
    "shared_memory": ("multiprocessing.shared_memory", ""),
    "numpy alone": ("sys", ""),
}


def sec_imports() -> dict[str, dict[str, float]]:
    """What importing each library adds over numpy, median of fresh interpreters: in the
    interpreter (seconds; with npshm's first call, which waits for the Go runtime), as process
    wall time (`python -c "import numpy, X"` against `python -c "import numpy"`), and resident
    memory (bytes)."""
    out: dict[str, dict[str, float]] = {}
    raw: dict[str, dict[str, list[float]]] = {}
    for _ in range(IMPORT_RUNS):
        for label, (mod, first) in _IMPORT_SUBJECTS.items():
            try:
                __import__(mod)
            except ImportError:
                continue
            t0 = _now()
            r = subprocess.run([sys.executable, "-c", _IMPORT_PROBE.format(mod=mod, first=first)],
                               capture_output=True, text=True, check=True)
            wall = _now() - t0
            imp, firstcall, rss = (float(x) for x in r.stdout.split())
            d = raw.setdefault(label, {})
            d.setdefault("import", []).append(imp)
            d.setdefault("import + first call", []).append(firstcall)
            d.setdefault("process wall", []).append(wall)
            d.setdefault("rss", []).append(rss)
    base = {k: statistics.median(v) for k, v in raw["numpy alone"].items()}
    for label, d in raw.items():
        if label == "numpy alone":
            continue
        m = {k: statistics.median(v) for k, v in d.items()}
        out[label] = {
            "import": m["import"],
            "import + first call": m["import + first call"],
            "process wall over numpy": m["process wall"] - base["process wall"],
            "memory over numpy": m["rss"] - base["rss"],
        }
    out["numpy alone"] = {"process wall": base["process wall"], "rss": base["rss"]}
    return out


# The seed's job: N fresh worker processes that all need the same dataset file. Each worker
# (this file, run with --seed-worker) gets the array its way, reads every page, and prints its
# anonymous (private) memory.

def _anon_bytes() -> int:
    for line in _read("/proc/self/smaps_rollup", "").splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) * KiB
    return 0


def _seed_worker(kind: str, path: str, name: str) -> None:
    warnings.simplefilter("ignore")
    before = _anon_bytes()
    if kind == "npshm":
        import npshm

        a = npshm.read_shared_array(path, name)
    elif kind == "cdxcore":
        from cdxcore import npshm as cdx

        a = None
        for _ in range(50):  # cdxcore's read_shared_array races its own creation
            try:
                a = cdx.read_shared_array(path, name, track=False)
                break
            except Exception:
                time.sleep(0.01)
        if a is None:
            raise RuntimeError("cdxcore.read_shared_array failed 50 times")
    elif kind == "np.load":
        a = np.load(path)
    elif kind == "np.load(mmap_mode='r')":
        a = np.load(path, mmap_mode="r")
    else:  # the floor: start an interpreter with numpy, do nothing
        a = np.empty(0)
    if a.size:
        _touch_pages(a)
    print(json.dumps({"anon": _anon_bytes() - before}))


SEED_KINDS = ["npshm", "cdxcore", "np.load", "np.load(mmap_mode='r')", "start only (the floor)"]


def sec_seed(npy: str, npio: str, kinds: list[str] = SEED_KINDS) -> dict[str, dict[str, float]]:
    """SEED_WORKERS fresh processes started at once, each needing the SEED-byte dataset: wall
    time from the start to the last exit (seconds, median of SEED_ROUNDS), and the memory the
    job added (bytes: the workers' private memory plus the shared array, if one is made)."""
    base = _tag()
    out: dict[str, dict[str, list[float]]] = {}
    for r in range(SEED_ROUNDS):
        for kind in _turn(kinds, r):
            if kind == "cdxcore" and _version("cdxcore") == "not installed":
                continue
            path = npio if kind in ("npshm", "cdxcore") else npy
            name = f"{base}-seed{r}"
            cmd = [sys.executable, os.path.abspath(__file__), "--seed-worker", kind, path, name]
            t0 = _now()
            # PYTHONWARNINGS: the resource trackers of cdxcore's workers warn about its segments
            env = dict(os.environ, PYTHONWARNINGS="ignore")
            procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
                     for _ in range(SEED_WORKERS)]
            outs = [p.communicate()[0] for p in procs]
            t = _now() - t0
            if any(p.returncode for p in procs):
                raise RuntimeError(f"seed worker {kind} failed: {outs}")
            anon = sum(json.loads(o.strip().splitlines()[-1])["anon"] for o in outs)
            shared = 0
            if kind == "npshm":
                import npshm

                shared = npshm.attach_shared_array(name).nbytes
                npshm.delete_shared_array(name)
            elif kind == "cdxcore":
                from cdxcore import npshm as cdx

                try:
                    shared = cdx.attach_shared_array(name, track=False).nbytes
                    cdx.delete_shared_array(name)
                except FileNotFoundError:
                    # Python's resource tracker of an exited worker unlinked it (before 3.13,
                    # shared_memory registers every segment a process opens); one copy existed
                    out.setdefault(kind, {}).setdefault("gone after the job", []).append(1.0)
                    shared = SEED
            d = out.setdefault(kind, {})
            d.setdefault("time", []).append(t)
            d.setdefault("memory", []).append(anon + shared)
    return {k: {op: statistics.median(v) for op, v in d.items()} for k, d in out.items()}


# ---- huge pages, in a private mount namespace ----------------------------------------------------


def huge_child(out_json: str, npy: str, npio: str, where: str) -> None:
    """Run inside the namespace. where "over": a huge=within_size tmpfs is mounted over /dev/shm
    and every library measured; else it is a directory with such a tmpfs that NPSHM_DIR names
    (the way npshm offers, /dev/shm untouched): npshm alone, if it honours NPSHM_DIR."""
    if where == "over":
        res = {"mount": _mount_of(SHM), "big": sec_big(libraries(), None),
               "seed": sec_seed(npy, npio, ["npshm", "cdxcore"])}
    else:
        import npshm

        probe = f"{_tag()}-probe"
        npshm.create_shared_array(probe, (1,), np.float64)
        honoured = os.path.exists(os.path.join(where, probe))
        npshm.delete_shared_array(probe)
        if not honoured:
            res = {"skipped": "this npshm does not honour NPSHM_DIR"}
        else:
            res = {"mount": _mount_of(where), "big": sec_big([Npshm()], None),
                   "seed": sec_seed(npy, npio, ["npshm"])}
    with open(out_json, "w") as f:
        json.dump(res, f)


def _in_namespace(npy: str, npio: str, dir_variant: bool) -> dict[str, Any]:
    size = max(4 * BIG, 4 * GiB if not QUICK else 64 * MiB)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "huge.json")
        where = os.path.join(d, "huge") if dir_variant else SHM
        if dir_variant:
            os.mkdir(where)
        env = dict(os.environ, NPSHM_DIR=where) if dir_variant else None
        script = (f"mount -t tmpfs -o huge=within_size,size={size},mode=1777 tmpfs {where} && "
                  f"exec \"$0\" \"$@\"")
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, sys.executable,
               os.path.abspath(__file__), "--huge-child", out, npy, npio, where if dir_variant else "over"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            return {"skipped": f"the namespace run failed: {r.stderr.strip()[-500:]}"}
        with open(out) as f:
            return json.load(f)


def sec_huge(npy: str, npio: str) -> dict[str, Any]:
    """big and seed on a huge=within_size tmpfs in a private mount namespace: mounted over
    /dev/shm (every library), and as the directory NPSHM_DIR names (npshm, if it offers that)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return {"skipped": "needs root and unshare(1)"}
    res = _in_namespace(npy, npio, False)
    res["NPSHM_DIR"] = _in_namespace(npy, npio, True)
    return res


# ---- main ------------------------------------------------------------------------------------------


def run_all(no_huge: bool) -> dict[str, Any]:
    warnings.simplefilter("ignore")  # the resource tracker's warnings about shared_memory
    sys.path.insert(0, HERE)
    import report_speed

    libs = libraries()
    t_start = _now()
    res: dict[str, Any] = {"quick": QUICK, "machine": machine(), "load before": os.getloadavg()}
    d = _dataset_dir()
    npy = os.path.join(d, f"npshm-report-{max(BIG, SEED) >> 20}MiB.npy")
    npio = os.path.join(d, f"npshm-report-{max(BIG, SEED) >> 20}MiB.npio")
    try:
        _npy_file(npy, max(BIG, SEED))
        if not os.path.exists(npio):
            import npshm

            npshm.to_file(npio, np.load(npy, mmap_mode="r"))
        _warm(npio)

        def step(key: str, fn: Callable[[], Any]) -> None:
            t0 = _now()
            print(f"report: {key} ...", file=sys.stderr, flush=True)
            res[key] = fn()
            res.setdefault("section seconds", {})[key] = _now() - t0

        step("small", lambda: sec_small(libs))
        step("big", lambda: sec_big(libs, npy))
        step("files", lambda: sec_files(npy, npio))
        step("handoff", lambda: sec_handoff(libs))
        step("size", lambda: sec_size(libs))
        step("count", lambda: sec_count(libs))
        step("imports", sec_imports)
        step("seed", lambda: sec_seed(npy, npio))
        step("speed", lambda: report_speed.sec_speed(QUICK))
        step("huge", (lambda: {"skipped": "--no-huge"}) if no_huge else (lambda: sec_huge(npy, npio)))
    finally:
        for p in (npy, npio):
            if os.path.exists(p):
                os.unlink(p)
        for f in os.listdir(SHM):
            if f.startswith(_tag()):
                os.unlink(os.path.join(SHM, f))
    res["load after"] = os.getloadavg()
    res["seconds"] = _now() - t_start
    return res


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--seed-worker":
        _seed_worker(*sys.argv[2:5])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--huge-child":
        huge_child(*sys.argv[2:6])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--date", default=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"))
    ap.add_argument("--no-huge", action="store_true", help="skip the huge-page namespace run")
    ap.add_argument("--from-json", help="write the report from an earlier run's JSON")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            res = json.load(f)
    else:
        res = run_all(args.no_huge)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = os.path.join(args.out_dir, args.date)
    if not args.from_json:
        with open(stem + ".json", "w") as f:
            json.dump(res, f, indent=1)
    sys.path.insert(0, HERE)
    import report_text

    charts = report_text.charts(res, stem)
    with open(stem + ".md", "w") as f:
        f.write(report_text.markdown(res, os.path.basename(stem), charts))
    print(f"report: wrote {stem}.md ({res['seconds']:.0f} s of measuring)")
    if not res.get("quick") and os.path.abspath(args.out_dir) == os.path.join(HERE, "results"):
        readme = os.path.join(os.path.dirname(HERE), "README.md")
        section = report_text.readme_section(res, args.date, charts, "bench/results")
        if report_text.update_readme(readme, section):
            print("report: README.md's headline table and chart now show this run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
