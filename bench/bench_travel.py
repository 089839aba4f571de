"""What travelling by name costs and saves (issue 11); results in bench/results/travel.txt.

1. The ForkingPickler reducer npshm registers for numpy.ndarray: the time it adds to pickling a
   plain (non-npshm) array for multiprocessing, against the same pickler without it.
2. Bytes multiprocessing sends per task for a 1 GiB npshm array.
3. Bytes through Dask's comms (the loopback interface) for scatter, a task and a gather of a
   1 GiB npshm array: by reference (npshm's default) and by value (npshm.set_pickling("value")).
"""

from __future__ import annotations

import io
import os
import sys
import time
import timeit
from multiprocessing.reduction import ForkingPickler

import numpy as np

import npshm


def dumps_without_npshm(x: object) -> bytes:
    buf = io.BytesIO()
    p = ForkingPickler(buf, None)
    p.dispatch_table.pop(np.ndarray, None)
    p.dump(x)
    return buf.getvalue()


def per_call(fn, x, n: int) -> float:
    return min(timeit.repeat(lambda: fn(x), number=n, repeat=7)) / n * 1e6


def lo_bytes() -> int:
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                return int(line.split(":")[1].split()[0])
    return 0


def touch(a: np.ndarray) -> int:
    a[:8] = 1
    return int(a[:8].sum())


def main() -> None:
    print(f"numpy {np.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("\n1. ForkingPickler.dumps of a plain array, microseconds per call (best of 7):")
    for label, x, n in [("1000 float64", np.arange(1000.0), 20000), ("8 MB float64", np.zeros(1 << 20), 200)]:
        for _ in range(2):  # interleaved, twice
            with_ = per_call(ForkingPickler.dumps, x, n)
            without = per_call(dumps_without_npshm, x, n)
            print(f"   {label:14} with npshm's reducer {with_:8.2f}   without {without:8.2f}   "
                  f"difference {with_ - without:+.2f}")
    name = f"bench-travel-{os.getpid()}"
    a = npshm.create_shared_array(name, (1 << 30,), np.uint8)
    try:
        print(f"\n2. multiprocessing sends {len(ForkingPickler.dumps(a))} bytes per task for a 1 GiB npshm array")
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as client:
            print("\n3. bytes through Dask's comms (loopback, whole machine) for scatter + task + gather:")
            for mode in ("auto", "value"):
                with npshm.set_pickling(mode):
                    b0, t0 = lo_bytes(), time.perf_counter()
                    f = client.scatter(a, hash=False)
                    r = client.submit(touch, f).result()
                    v = client.gather(f)
                    dt = time.perf_counter() - t0
                    moved = lo_bytes() - b0
                    del f, v
                print(f"   {'by reference' if mode == 'auto' else 'by value':13} {moved:>14,} bytes  {dt:6.2f} s  (task saw {r})")
    finally:
        del a
        npshm.delete_shared_array(name)


if __name__ == "__main__":
    main()
