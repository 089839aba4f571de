"""Benchmark: a 1 GiB npio file already in the page cache, loaded into a new shared array.

    python bench/bench_files.py [--size-mib N] [--rounds N] [--out FILE]

Subjects, interleaved round by round so that they share the machine's conditions:
  npshm     npshm.read_shared_array(file, name)   (libnpshm: C threads pread into the new segment)
  cdxcore   cdxcore.npshm.read_shared_array(file, name)
  cp        `cp file /dev/shm/...`, the machine's plain copy of the file into shared memory
Each load makes a new array (the name is deleted after each round) from a file on disk whose pages
are in the page cache. Throughput is file bytes per second of wall time. The bar of the issue:
npshm at least 1.5 times cdxcore (median of the rounds). Results go to bench/results/files-throughput.txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import npshm

try:
    import cdxcore
    import cdxcore.npio as cdx_npio
    import cdxcore.npshm as cdx_npshm
except ImportError:  # pragma: no cover
    sys.exit("bench_files.py needs cdxcore (pip install cdxcore)")

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--dir", default=os.environ.get("NPSHM_BENCH_DIR", tempfile.gettempdir()),
                    help="where the file lives (a disk file system, not tmpfs)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "files-throughput.txt"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # multiprocessing's resource tracker, used by cdxcore

    n = args.size_mib * (1 << 20) // 8
    path = os.path.join(args.dir, f"npshm-bench-{os.getpid()}.npio")
    cdx_npio.to_file(path, np.arange(n, dtype=np.float64))
    size = os.path.getsize(path)
    with open(path, "rb") as f:  # into the page cache
        while f.read(64 << 20):
            pass
    load_before = os.getloadavg()[0]
    tag = f"npshm-bench-files-{os.getpid()}"
    times: dict[str, list[float]] = {"npshm": [], "cdxcore": [], "cp": []}

    def run_npshm(i: int) -> float:
        name = f"{tag}-n{i}"
        t = time.perf_counter()
        a = npshm.read_shared_array(path, name)
        t = time.perf_counter() - t
        assert a[-1] == n - 1
        del a
        npshm.delete_shared_array(name)
        return t

    def run_cdx(i: int) -> float:
        name = f"{tag}-c{i}"
        t = time.perf_counter()
        a = cdx_npshm.read_shared_array(path, name)
        t = time.perf_counter() - t
        assert a[-1] == n - 1
        del a
        cdx_npshm.delete_shared_array(name)
        return t

    def run_cp(i: int) -> float:
        dest = f"/dev/shm/{tag}-cp{i}"
        t = time.perf_counter()
        subprocess.run(["cp", path, dest], check=True)
        t = time.perf_counter() - t
        os.unlink(dest)
        return t

    try:
        for fn in (run_npshm, run_cdx, run_cp):  # warm-up
            fn(-1)
        for i in range(args.rounds):
            times["npshm"].append(run_npshm(i))
            times["cdxcore"].append(run_cdx(i))
            times["cp"].append(run_cp(i))
    finally:
        os.unlink(path)

    def gbps(t: float) -> float:
        return size / t / 1e9

    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        "# npshm file-load benchmark (bench/bench_files.py)",
        "",
        f"cpu: {cpu_model()}",
        f"cores: {os.cpu_count()}",
        f"kernel: {platform.system()} {platform.release()}",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
        f"numpy: {np.__version__}",
        f"npshm: {npshm.__version__} (libnpshm {npshm.lib_version})",
        f"cdxcore: {cdxcore.__version__}",
        "",
        f"file: {size / (1 << 30):.3f} GiB npio (cdxcore.npio.to_file), float64, in the page cache, on "
        f"{args.dir}",
        f"{args.rounds} rounds, subjects interleaved; each load makes a new shared array",
        f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
        "(other work on the machine slows every subject)",
        "",
        f"{'subject':<44}{'GB/s: min':>10}{'median':>9}{'max':>9}",
    ]
    label = {"npshm": "npshm.read_shared_array", "cdxcore": "cdxcore.npshm.read_shared_array",
             "cp": "cp FILE /dev/shm/ (plain copy)"}
    for k, v in times.items():
        lines.append(f"{label[k]:<44}{gbps(max(v)):>10.2f}{gbps(med[k]):>9.2f}{gbps(min(v)):>9.2f}")
    r_cdx = med["cdxcore"] / med["npshm"]
    r_cp = med["cp"] / med["npshm"]
    best_cdx = min(times["cdxcore"]) / min(times["npshm"])
    lines += [
        "",
        "throughput ratios (median of rounds; best-of-rounds in brackets):",
        f"  npshm / cdxcore.npshm.read_shared_array   {r_cdx:.2f}x   [{best_cdx:.2f}x]",
        f"  npshm / cp into /dev/shm                  {r_cp:.2f}x   [{min(times['cp']) / min(times['npshm']):.2f}x]",
        "",
        "bar:",
        f"  {'PASS' if r_cdx >= 1.5 else 'FAIL'}  npshm >= 1.5 x cdxcore: {r_cdx:.2f}x",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
