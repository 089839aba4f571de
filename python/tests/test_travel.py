"""Arrays that travel by name (issue 11): references, their generation check, the per-process
cache, pickling modes, and multiprocessing (every start method), concurrent.futures and joblib
handing a 1 GiB npshm array to workers by reference."""

from __future__ import annotations

import concurrent.futures
import copyreg
import errno
import io
import multiprocessing as mp
import os
import pickle
import shutil
import subprocess
import sys
import time
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

import npshm
from npshm import _travel

sys.path.insert(0, os.path.dirname(__file__))
import _travel_workers as W  # noqa: E402
from conftest import unique_name  # noqa: E402

GiB = 1 << 30


# ---- references by hand --------------------------------------------------------------------

VIEWS = {
    "whole": lambda a: a,
    "slice": lambda a: a[3:7],
    "step": lambda a: a[1::3, ::2],
    "reversed": lambda a: a[::-1, ::-1],
    "transpose": lambda a: a.T,
    "column": lambda a: a[:, 2],
    "scalar-0d": lambda a: a[4, 5, ...],
    "empty": lambda a: a[5:5],
    "dtype-view": lambda a: a.view(np.uint8)[2:, 8:40],
    "read-only": lambda a: _readonly(a[2:]),
}


def _readonly(v: np.ndarray) -> np.ndarray:
    v.flags.writeable = False
    return v


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_reference_round_trip_of_views(name, view):
    a = npshm.create_shared_array(name, (10, 12), np.float64, full=np.arange(120.0).reshape(10, 12))
    v = VIEWS[view](a)
    ref = npshm.reference(v)
    data = pickle.dumps(ref)
    assert len(data) < 1024
    b = npshm.from_reference(pickle.loads(data))
    assert type(b) is np.ndarray
    assert b.shape == v.shape and b.strides == v.strides and b.dtype == v.dtype
    assert np.array_equal(b, v)
    assert b.flags.writeable == v.flags.writeable
    assert npshm.name_of(b) == name and npshm.is_shared_array(b)
    if b.size and b.flags.writeable:
        first = (0,) * b.ndim
        b[first] = 100 if b[first] != 100 else 101  # a write through the reference...
        assert v[first] == b[first]  # ...is a write to the sender's memory


def test_reference_of_fortran_structured_and_readonly_attach(name):
    dt = np.dtype([("x", "<f4"), ("y", "<i8", (3,))])
    a = npshm.create_shared_array(name, (4, 5), dt)
    a["x"] = np.arange(20).reshape(4, 5)
    f = a["y"][:, ::2, 1]  # a field view with strides
    b = npshm.from_reference(npshm.reference(f))
    assert np.array_equal(b, f)
    b[0, 0] = 42
    assert a["y"][0, 0, 1] == 42
    ro = npshm.attach_shared_array(name, read_only=True)
    r = npshm.from_reference(npshm.reference(ro["x"].T))
    assert not r.flags.writeable
    with pytest.raises(ValueError):
        r[0, 0] = 1
    assert np.array_equal(r, a["x"].T)


def test_name_of(name):
    a = npshm.create_shared_array(name, (6, 6), np.int32)
    assert npshm.name_of(a) == name
    assert npshm.name_of(a[::2, 1:].T) == name
    assert npshm.name_of(memoryview(a)) is None  # only arrays
    assert npshm.name_of(np.zeros(3)) is None
    assert npshm.name_of(np.array(a)) is None  # a copy
    assert npshm.name_of("x") is None


def test_reference_of_other_things_is_a_type_error():
    with pytest.raises(TypeError, match="not backed by npshm"):
        npshm.reference(np.zeros(3))
    with pytest.raises(TypeError, match="got list"):
        npshm.reference([1, 2])


def test_file_name_references_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = npshm.create_shared_array("file://arr.bin", (5,), np.int16, full=3)
    try:
        ref = npshm.reference(a)
        assert ref.name == f"file://{tmp_path}/arr.bin"
        assert npshm.name_of(a) == ref.name
        monkeypatch.chdir("/")
        b = npshm.from_reference(ref)
        b[0] = 9
        assert a[0] == 9
    finally:
        os.unlink(tmp_path / "arr.bin")


# ---- the generation check -------------------------------------------------------------------


def test_deleted_or_replaced_array_is_a_clear_error(names):
    name = names()
    a = npshm.create_shared_array(name, (8,), np.int64, full=1)
    ref = npshm.reference(a)
    npshm.delete_shared_array(name)
    with pytest.raises(npshm.StaleReferenceError, match="deleted") as e:
        npshm.from_reference(ref)
    assert isinstance(e.value, FileNotFoundError) and e.value.errno == errno.ENOENT
    assert f'npshm.from_reference("{name}")' in str(e.value)
    # A new array of the same name, shape and dtype is someone else's: refused.
    b = npshm.create_shared_array(name, (8,), np.int64, full=2)
    with pytest.raises(npshm.StaleReferenceError, match="replaced"):
        npshm.from_reference(ref)
    # The sender cannot make a reference to an array its name no longer leads to.
    with pytest.raises(npshm.StaleReferenceError, match="replaced.*cannot travel by reference"):
        npshm.reference(a)
    # Errors pickle (they travel back from workers).
    try:
        npshm.from_reference(ref)
    except npshm.StaleReferenceError as err:
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is npshm.StaleReferenceError and str(again) == str(err)
    del b


def test_replaced_after_a_cached_attach(name):
    a = npshm.create_shared_array(name, (8,), np.int64, full=1)
    ref = npshm.reference(a)
    assert int(npshm.from_reference(ref).sum()) == 8  # now cached
    npshm.create_shared_array(name, (8,), np.int64, full=5, force=True)
    with pytest.raises(npshm.StaleReferenceError, match="replaced"):
        npshm.from_reference(ref)
    assert all(k[0] != "/dev/shm/" + name for k in _travel._cache.entries)


def test_a_copy_of_the_segment_under_the_name_is_refused(name):
    """A file with the very header of the array (creator, creation time) but another inode, as a
    careless copy or another user could put under the name, is not the referenced array."""
    a = npshm.create_shared_array(name, (8,), np.int64, full=1)
    ref = npshm.reference(a)
    path = "/dev/shm/" + name
    shutil.copyfile(path, path + ".copy")
    os.rename(path + ".copy", path)
    with pytest.raises(npshm.StaleReferenceError, match="replaced"):
        npshm.from_reference(ref)


def test_reference_from_another_machine(name):
    a = npshm.create_shared_array(name, (8,), np.int64)
    ref = npshm.reference(a)._replace(boot_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(npshm.StaleReferenceError, match="another machine"):
        npshm.from_reference(ref)


@pytest.mark.parametrize(
    "change",
    [
        {"offset": 1 << 40},
        {"offset": -8},
        {"shape": (100,)},
        {"strides": (1 << 20,)},
    ],
)
def test_forged_reference_is_a_value_error_not_a_crash(name, change):
    a = npshm.create_shared_array(name, (8,), np.int64)
    ref = npshm.reference(a)._replace(**change)
    with pytest.raises(ValueError):
        npshm.from_reference(ref)


# ---- the cache ------------------------------------------------------------------------------


def _maps_inode(ino: int) -> bool:
    with open("/proc/self/maps") as f:
        return any(line.split()[4] == str(ino) for line in f if len(line.split()) > 4)


def test_cache_maps_once_and_lets_a_deleted_array_go(name, monkeypatch):
    monkeypatch.setattr(_travel._Cache, "sweep_seconds", 0.05)
    _travel._cache.clear()
    a = npshm.create_shared_array(name, (100,), np.int64)
    ref = npshm.reference(a[10:20])
    ino = ref.inode
    before = _travel._cache.attaches
    views = [npshm.from_reference(ref) for _ in range(100)]
    assert _travel._cache.attaches == before + 1
    del views, a
    assert _maps_inode(ino)  # the cache holds it
    npshm.delete_shared_array(name)
    deadline = time.monotonic() + 60
    while _maps_inode(ino) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _maps_inode(ino), "the cache kept a deleted array mapped"


# ---- by value or by reference ---------------------------------------------------------------


class _Sub(np.ndarray):
    """An ndarray subclass: ForkingPickler's registry goes by exact type, so it is not ours."""


def _plain_forking_pickle(x: object) -> bytes:
    """What ForkingPickler made of x before npshm registered its reducer."""
    buf = io.BytesIO()
    p = ForkingPickler(buf, None)
    p.dispatch_table.pop(np.ndarray, None)
    p.dump(x)
    return buf.getvalue()


def test_other_arrays_pickle_exactly_as_before():
    dt = np.dtype([("x", "<f4"), ("y", "<i8", (3,))])
    for x in [
        np.arange(1000.0),
        np.zeros((3, 4), order="F"),
        np.arange(24).reshape(2, 3, 4)[:, ::2].T,
        np.zeros(5, dt),
        np.array(3.5),
        np.array(["a", None], dtype=object),
        np.ma.masked_array([1, 2], mask=[0, 1]),
        np.arange(4).view(_Sub),
    ]:
        assert ForkingPickler.dumps(x) == _plain_forking_pickle(x), repr(x)


def test_pickle_dumps_stores_the_data(name):
    a = npshm.create_shared_array(name, (1000,), np.float64, full=2.5)
    data = pickle.dumps(a[::2])
    assert len(data) > 500 * 8
    npshm.delete_shared_array(name)
    b = pickle.loads(data)
    assert not npshm.is_shared_array(b) and b.tolist() == [2.5] * 500


def test_pickling_modes(name):
    a = npshm.create_shared_array(name, (10000,), np.float64)
    assert npshm.get_pickling() == "auto"
    assert len(ForkingPickler.dumps(a)) < 1024 and len(pickle.dumps(a)) > 80000
    with npshm.set_pickling("value") as mode:
        assert npshm.get_pickling() == "value" and repr(mode) == "npshm.set_pickling('value')"
        assert len(ForkingPickler.dumps(a)) > 80000
    assert npshm.get_pickling() == "auto"
    with npshm.set_pickling("reference"):
        small = pickle.dumps(a[5:])
        assert len(small) < 1024
        b = pickle.loads(small)
        b[0] = 4.0
        assert a[5] == 4.0
        plain = np.arange(5.0)
        assert np.array_equal(pickle.loads(pickle.dumps(plain, protocol=2)), plain)
        assert np.array_equal(pickle.loads(pickle.dumps(plain, protocol=5)), plain)
    assert np.ndarray not in copyreg.dispatch_table
    assert len(pickle.dumps(a)) > 80000
    with pytest.raises(ValueError, match="mode must be"):
        npshm.set_pickling("shared")


def test_import_npshm_imports_none_of_the_libraries_it_hooks():
    code = (
        "import sys, npshm; "
        "print(sorted(m for m in ('multiprocessing', 'joblib', 'dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("first", ["npshm", "libraries"])
def test_hooks_register_in_either_import_order(first):
    pytest.importorskip("joblib")
    pytest.importorskip("distributed")
    libs = "import multiprocessing.reduction, joblib, distributed"
    code = "\n".join(
        [
            "import npshm" if first == "npshm" else libs,
            libs if first == "npshm" else "import npshm",
            "import numpy as np",
            "from multiprocessing.reduction import ForkingPickler",
            "from joblib.externals.loky.backend.reduction import get_loky_pickler_name",
            "from distributed.protocol import dask_serialize",
            "print(getattr(ForkingPickler._extra_reducers.get(np.ndarray), '_npshm', False),",
            "      get_loky_pickler_name(), getattr(dask_serialize.dispatch(np.ndarray), '_npshm', False))",
        ]
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "npshm._joblib", "True"]


# ---- a 1 GiB array through the process pools -------------------------------------------------


@pytest.fixture(scope="module")
def big():
    """One 1 GiB npshm array for every pool test of this module (by reference, it costs nothing
    more per test)."""
    n = unique_name("big")
    a = npshm.create_shared_array(n, (GiB,), np.uint8)
    yield n, a
    del a
    npshm.delete_shared_array(n)


class _Sizes:
    """Records the size of every message ForkingPickler makes in this process."""

    def __init__(self, monkeypatch) -> None:
        self.sizes: list[int] = []
        orig = ForkingPickler.dumps

        def dumps(obj, protocol=None):
            out = orig(obj, protocol)
            self.sizes.append(len(out))
            return out

        monkeypatch.setattr(ForkingPickler, "dumps", dumps)


def _check_big(a: np.ndarray, tasks: int) -> None:
    for i in range(tasks):
        s = slice(i * W.SLICE, (i + 1) * W.SLICE)
        assert a[s].min() == a[s].max() == i + 1, f"task {i}'s writes did not reach the parent"
        a[s] = 0


@pytest.mark.parametrize("method", mp.get_all_start_methods())
def test_pool_of_8_gets_a_1gib_array_by_reference(big, method, monkeypatch):
    name, a = big
    sizes = _Sizes(monkeypatch)
    with mp.get_context(method).Pool(8) as pool:
        out = pool.map(W.write_slice, [(a, i) for i in range(16)], chunksize=1)
    assert len(sizes.sizes) >= 16 and max(sizes.sizes) < 1024, sizes.sizes
    assert all(shared and n == name for _, shared, n, _ in out)
    _check_big(a, 16)


def test_a_thousand_tasks_map_the_array_once_per_worker(big):
    name, a = big
    _travel._cache.clear()
    base = _travel._cache.attaches  # where forked workers' counts start
    with mp.get_context("fork").Pool(2) as pool:
        out = pool.map(W.attaches, [(a[: 1 << 20], i) for i in range(1000)], chunksize=1)
    per_worker: dict[int, int] = {}
    for pid, n in out:
        per_worker[pid] = max(per_worker.get(pid, 0), n - base)
    assert per_worker and all(n == 1 for n in per_worker.values()), per_worker
    a[:1000] = 0


def test_process_pool_executor_gets_a_1gib_array_by_reference(big, monkeypatch):
    name, a = big
    sizes = _Sizes(monkeypatch)
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=mp.get_context("spawn")) as ex:
        out = list(ex.map(W.write_slice, [(a, i) for i in range(8)]))
    assert len(sizes.sizes) >= 8 and max(sizes.sizes) < 1024, sizes.sizes
    assert all(shared and n == name for _, shared, n, _ in out)
    _check_big(a, 8)


def test_joblib_gets_a_1gib_array_by_reference(big, tmp_path, monkeypatch):
    joblib = pytest.importorskip("joblib")
    from joblib.externals.loky.backend import queues

    name, a = big
    sizes: list[int] = []
    orig = queues.dumps

    def dumps(obj, reducers=None, protocol=None):
        out = orig(obj, reducers=reducers, protocol=protocol)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(queues, "dumps", dumps)
    out = joblib.Parallel(n_jobs=2, temp_folder=str(tmp_path))(joblib.delayed(W.write_at)(a, i) for i in range(8))
    assert all(shared and n == name for _, shared, n in out)
    _check_big(a, 8)
    assert sizes and max(sizes) < 1024, sizes  # joblib would have sent a memmapped temporary file
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "joblib copied the array to disk"


def test_pipe_receiver_gets_a_clear_error_for_a_replaced_array(name):
    ctx = mp.get_context("spawn")
    a = npshm.create_shared_array(name, (16,), np.int64, full=1)
    recv_end, send_end = ctx.Pipe(duplex=False)
    out_r, out_w = ctx.Pipe(duplex=False)
    send_end.send(a)  # pickled now, by reference to this generation
    npshm.create_shared_array(name, (16,), np.int64, full=7, force=True)
    p = ctx.Process(target=W.receive, args=(recv_end, out_w))
    p.start()
    try:
        result = out_r.recv()
    finally:
        p.join(60)
    assert result[0] == "error", result
    assert result[1] == "StaleReferenceError" and result[2] and "replaced" in result[3], result
