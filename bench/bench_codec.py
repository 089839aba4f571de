"""Benchmark: npshm.to_file and npshm.from_file of a 1 GiB array, this build against another.

    python bench/bench_codec.py [--baseline DIR] [--size-mib N] [--rounds N] [--dir DIR]

DIR of --baseline holds another build of the package (a directory with an ``npshm/`` in it, e.g. a
copy of an older site-packages/npshm): each round runs one write and one read with each build, in
fresh processes, interleaved, so that both share the machine's conditions. Without --baseline only
the installed build runs. Subjects:

  to_file    npshm.to_file(path, a) of a float64 array (npio), into a file of DIR's file system
  from_file  npshm.from_file(path) of that file, whose pages are in the page cache

Throughput is array bytes per second of wall time, median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import os, sys, time
import numpy as np
import npshm
what, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if what == "write":
    a = np.arange(n, dtype=np.float64)
    t = time.perf_counter()
    npshm.to_file(path, a)
    t = time.perf_counter() - t
else:
    t = time.perf_counter()
    a = npshm.from_file(path)
    t = time.perf_counter() - t
    assert a.shape == (n,) and a[-1] == n - 1
print(t, npshm.__file__)
"""


def run(pythonpath: str | None, what: str, path: str, n: int) -> float:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", CHILD, what, path, str(n)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", help="directory holding another build's npshm/ package")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dir", default=os.environ.get("NPSHM_BENCH_DIR", tempfile.gettempdir()))
    args = ap.parse_args()
    n = args.size_mib * (1 << 20) // 8
    builds = {"this build": None}
    if args.baseline:
        builds["baseline"] = os.path.abspath(args.baseline)
    times: dict[tuple[str, str], list[float]] = {(b, w): [] for b in builds for w in ("write", "read")}
    path = os.path.join(args.dir, f"npshm-bench-codec-{os.getpid()}.npio")
    try:
        for _ in range(args.rounds):
            for b, pp in builds.items():
                times[(b, "write")].append(run(pp, "write", path, n))
                times[(b, "read")].append(run(pp, "read", path, n))
    finally:
        if os.path.exists(path):
            os.unlink(path)
    size = n * 8
    print(f"{args.size_mib} MiB float64, {args.rounds} rounds, file in {args.dir}; GB/s min / median / max")
    for (b, w), v in times.items():
        g = [size / t / 1e9 for t in v]
        subject = "to_file" if w == "write" else "from_file"
        print(f"  {subject:<10} {b:<11} {min(g):6.2f} {statistics.median(g):6.2f} {max(g):6.2f}")


if __name__ == "__main__":
    main()
