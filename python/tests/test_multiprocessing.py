"""npshm in processes made by every multiprocessing start method, and the fork stress test:
a parent that used npshm (and so runs the Go runtime) hands work to forked workers that use
npshm too."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import npshm

sys.path.insert(0, os.path.dirname(__file__))
import _mp_workers  # noqa: E402
from _timing import seconds  # noqa: E402

ROUND_TIMEOUT = seconds(60.0)


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


# Spellings handed to the library as they are (npshm._native.create), so that the core's dtype
# normaliser (parent) and the C path's (forked child) both see them.
RAW_DTYPES = [
    "<f8", ">f8", "=f8", "|u1", "|b1", "<c16", "<f2", "<f16", "|S7", "<U3", "|V16", "<M8[ns]",
    "<M8", "<m8[10s]", ">M8[Y]", "float64", "int8", "uint64", "bool", "complex128",
    "datetime64[ns]", "timedelta64[s]", "S7", "U3", "V16", "?", "b", "B", "h", "H", "i", "I",
    "l", "L", "q", "Q", "e", "f", "d", "F", "D", "f8", "u1", "b1", "int", "float", "complex",
    "bytes7", "str3",
    "[('x', '<f4'), ('y', '<i8', (3,))]",
    "[('x', '<f4'), ('', '|V4'), ('z', [('a', '|u1'), ('b', '>f8')], (2, 2))]",
    # refused ones
    "", "<f3", "|O", "O", "<M8[xs]", "bogus", "[('x', '<f4'),", "[('x', '|O')]", "<U0", "S0",
    "[('x', '<f4'), ('x', '<f4')]", "[]",
]
RAW_NAMES = ["", ".", "..", "a/b", "x" * 256, "shm://", "file://", "/PREFIX-slash"]


def _battery(prefix: str) -> list[tuple]:
    """Run one fixed sequence of operations; return what happened, with prefix masked."""
    out: list[tuple] = []

    def err(e: BaseException) -> tuple:
        return ("error", type(e).__name__, getattr(e, "errno", None), str(e).replace(prefix, "PREFIX"))

    for i, spec in enumerate(RAW_DTYPES):
        n = f"{prefix}-d{i}"
        try:
            a = npshm._native.create(n, (2, 3), spec, 0, None)
        except Exception as e:
            out.append((spec, err(e)))
            continue
        raw = np.ndarray((a.nbytes,), np.uint8, a.base)
        raw[:] = np.arange(a.nbytes) % 251
        b = npshm.attach(n, ro=True)
        out.append((spec, b.base.descr, b.shape, b.base.itemsize, b.nbytes, str(b.dtype),
                    b.base.fortran, np.frombuffer(b.base, np.uint8).tobytes().hex()))
        del a, b
        npshm.delete(n)
    for i, shape in enumerate([(), (0,), (3, 0), (1,) * 64, (2**62, 4), (-1,)]):
        try:
            a = npshm._native.create(f"{prefix}-s{i}", shape, "<i2", npshm._native.FORTRAN, None)
            out.append((shape, a.shape, a.flags.f_contiguous, a.nbytes))
            del a
            npshm.delete(f"{prefix}-s{i}")
        except Exception as e:
            out.append((shape, err(e)))
    for bad in RAW_NAMES:
        for op in (lambda n: npshm.create(n, 1), npshm.attach, npshm.delete):
            try:
                op(bad.replace("PREFIX", prefix))
                out.append((bad, "no error"))
            except Exception as e:
                out.append((bad, err(e)))
    n = f"{prefix}-e"
    npshm.create(n, 1)
    for op in (lambda: npshm.create(n, 1), lambda: npshm.attach(n + "-missing"),
               lambda: npshm.delete(n + "-missing"),
               lambda: npshm._native.create(n, 1, "<f8", 0x4000, None),
               lambda: npshm._native.attach(n, npshm._native.REPLACE)):
        try:
            op()
            out.append(("no error",))
        except Exception as e:
            out.append(err(e))
    m = npshm._native.create(n, (4,), "<f8", npshm._native.REPLACE | npshm._native.HAS_MODE | (0o640 << 16), None)
    out.append((os.stat("/dev/shm/" + n).st_mode & 0o7777, m.shape, m.base.descr))
    with open("/dev/shm/" + n, "r+b") as f:
        f.seek(64)
        f.write(b"\x09")
    try:
        npshm.attach(n)
    except Exception as e:
        out.append(err(e))
    npshm.delete(n)
    return out


def _without_messages(results: list[tuple]) -> list[tuple]:
    def strip(x):
        if isinstance(x, tuple) and x and x[0] == "error":
            return x[:3]
        if isinstance(x, tuple):
            return tuple(strip(y) for y in x)
        return x

    return [strip(r) for r in results]


_BATTERIES: dict[str, tuple[list[tuple], list[tuple]]] = {}


def _parent_and_child(names) -> tuple[list[tuple], list[tuple]]:
    """The battery's results in this process (Go core) and in a forked child (C path)."""
    if "r" in _BATTERIES:
        return _BATTERIES["r"]
    parent_prefix, child_prefix = names("p"), names("c")
    mine = _battery(parent_prefix)
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            data = pickle.dumps(_battery(child_prefix))
            with os.fdopen(w, "wb") as f:
                f.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        theirs = pickle.loads(f.read())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(theirs) == len(mine)
    _BATTERIES["r"] = (mine, theirs)
    return mine, theirs


def _diffs(mine: list[tuple], theirs: list[tuple]) -> str:
    d = [f"parent (Go core): {a!r}\nchild  (C path):  {b!r}" for a, b in zip(mine, theirs) if a != b]
    return f"{len(d)} differences:\n" + "\n".join(d) if d else ""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_forked_child_behaves_like_parent(names):
    """A forked child runs the library's C path, the parent its Go core: the same dtypes,
    shapes, data, exception types and errnos."""
    mine, theirs = _parent_and_child(names)
    d = _diffs(_without_messages(mine), _without_messages(theirs))
    assert not d, d


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_forked_child_gives_the_same_messages(names):
    mine, theirs = _parent_and_child(names)
    d = _diffs(mine, theirs)
    assert not d, d
