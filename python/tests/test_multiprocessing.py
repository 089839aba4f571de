"""npshm in processes made by every multiprocessing start method, and the fork stress test:
a parent that used npshm (and so runs the Go runtime) hands work to forked workers that use
npshm too."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import npshm

sys.path.insert(0, os.path.dirname(__file__))
import _mp_workers  # noqa: E402

ROUND_TIMEOUT = 60.0


def _stacks(pids: list[int]) -> str:
    """Native and Python stacks of hung processes, for the failure report."""
    out = []
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    gdb = shutil.which("gdb")
    for pid in pids:
        if os.path.exists(spy):
            cmd = [spy, "dump", "--native", "--pid", str(pid)]
        elif gdb:
            cmd = [gdb, "-p", str(pid), "-batch", "-ex", "thread apply all bt"]
        else:
            out.append(f"pid {pid}: no py-spy or gdb to show its stack")
            continue
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        out.append(f"--- pid {pid}: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return "\n".join(out)


def _run_pool(ctx, name: str, tasks: int) -> set[int]:
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process (the Go runtime runs
        # threads) may deadlock; not hanging is exactly what this test checks.
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ctx.Pool(2)
    try:
        res = pool.map_async(_mp_workers.use_npshm, [(name, i) for i in range(tasks)])
        try:
            pids = res.get(timeout=ROUND_TIMEOUT)
        except mp.TimeoutError:
            dump = _stacks([p.pid for p in pool._pool])  # type: ignore[attr-defined]
            pytest.fail(f"workers hung for {ROUND_TIMEOUT}s; their stacks:\n{dump}")
        pool.close()
        pool.join()
        return set(pids)
    finally:
        pool.terminate()


@pytest.mark.parametrize("method", mp.get_all_start_methods())
def test_start_method(name, method):
    ctx = mp.get_context(method)
    a = npshm.create(name, 8, np.int64)
    pids = _run_pool(ctx, name, 8)
    assert os.getpid() not in pids
    assert a.tolist() == list(range(1, 9))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork here")
def test_fork_pool_25_rounds(names):
    """25 rounds of a 2-worker fork pool with 8 tasks each, the parent using npshm in between."""
    ctx = mp.get_context("fork")
    for round_ in range(25):
        name = names(f"r{round_}")
        a = npshm.create_shared_array(name, (8,), np.int64, full=0)
        b = npshm.attach_shared_array(name, validate_shape=(8,))
        _run_pool(ctx, name, 8)
        assert b.tolist() == list(range(1, 9)), f"round {round_}"
        npshm.list()
        del a, b
        assert npshm.delete_shared_array(name)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_bare_fork_child_uses_every_entry_point(name, tmp_path):
    a = npshm.create(name, 4, np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            own = name + "-child"
            c = npshm.create(own, (3,), "f8")
            c.base.msync(npshm.MS_SYNC)
            c.base.mlock()
            c.base.munlock()
            npshm.attach(name)[:] = 7
            npshm.list()
            f = npshm.create(f"file://{tmp_path}/child.arr", 2)
            npshm.delete(f"file://{tmp_path}/child.arr")
            try:
                npshm.attach(name + "-missing")
            except FileNotFoundError:
                pass
            del c, f
            npshm.delete(own)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert a.tolist() == [7] * 4
    assert not os.path.exists(f"/dev/shm/{name}-child")
