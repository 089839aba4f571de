"""SharedArray's API at the top level of npshm (`import npshm as sa`)."""

from __future__ import annotations

import gc
import os
import pickle
import re

import numpy as np
import pytest

import npshm as sa


def test_documented_example(name, capsys):
    # SharedArray's README example, with its name made unique.
    a = sa.create(name, 10)
    b = sa.attach(name)
    a[0] = 42
    print(b[0])
    del a
    print(b[0])
    assert name.encode() in [d.name for d in sa.list()]
    sa.delete(name)
    print(b[0])
    assert capsys.readouterr().out.split() == ["42.0"] * 3


def test_create_defaults_zero_float(name):
    a = sa.create(name, (3, 2))
    assert a.dtype == np.float64 and a.shape == (3, 2) and not a.any()
    assert sa.create(name + "x", 4, dtype=np.uint16).dtype == np.uint16
    sa.delete(name + "x")


def test_errors(name):
    sa.create(name, 1)
    with pytest.raises(FileExistsError):
        sa.create(name, 1)
    sa.delete(name)
    with pytest.raises(FileNotFoundError):
        sa.delete(name)
    with pytest.raises(FileNotFoundError):
        sa.attach(name)


def test_prefixes(name, tmp_path):
    a = sa.create("shm://" + name, 3, np.int8)
    a[:] = 5
    assert sa.attach(name).tolist() == [5, 5, 5]
    assert sa.attach("/" + name).tolist() == [5, 5, 5]
    # the base's name is the name as passed, as SharedArray's is; array_name is the library's
    assert sa.attach("shm://" + name).base.name == "shm://" + name
    assert sa.attach("/" + name).base.name == "/" + name
    assert sa.attach(name.encode()).base.name == name
    assert sa.attach("shm://" + name).base.array_name == name
    sa.delete("shm://" + name)
    assert not os.path.exists("/dev/shm/" + name)

    path = tmp_path / "arr.npshm"
    f = sa.create(f"file://{path}", (2, 2), np.float32)
    f[:] = 1.5
    assert path.exists()
    assert sa.attach(f"file://{path}").tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert not os.path.exists("/dev/shm/" + str(path).lstrip("/"))
    sa.delete(f"file://{path}")
    assert not path.exists()
    with pytest.raises(FileNotFoundError):
        sa.create(f"file://{tmp_path}/no/such/dir/x", 1)


def test_list_entries(name, names):
    s = names()
    sa.create(name, (4, 5), np.int32, mode=0o640)
    sa.create(s, (), [("x", "<f4"), ("y", "<i8", (3,))])
    entries = {d.name: d for d in sa.list()}
    d = entries[name.encode()]
    nm, dt, dims = d  # a tuple of three, like SharedArray's
    assert (nm, dt, dims) == (name.encode(), np.int32, (4, 5))
    assert d.dtype is np.int32  # the scalar type, as SharedArray gives it
    assert d.full_dtype == np.dtype(np.int32) and isinstance(d.full_dtype, np.dtype)
    assert d.nbytes == 80 and d.itemsize == 4 and d.mode == 0o640
    assert d.uid == os.getuid() and d.creator_pid == os.getpid() and d.fortran is False
    assert d.created_ns > 0
    e = entries[s.encode()]
    assert e.dims == () and e.dtype is np.void
    assert e.full_dtype == np.dtype([("x", "<f4"), ("y", "<i8", (3,))])
    assert sa.attach(d.name).shape == (4, 5)  # list() names attach as they are
    sa.delete(d.name)
    assert name.encode() not in {x.name for x in sa.list()}


def test_array_desc_shows_every_field(name):
    sa.create(name, (4, 5), np.int32, mode=0o640)
    d = next(d for d in sa.list() if d.name == name.encode())
    r = repr(d)
    assert r.startswith("ArrayDesc(name=") and "mode=0o640" in r
    for field in d._fields + d._extra_fields:
        assert f"{field}=" in r, field
    assert f"creator_pid={os.getpid()}" in r and f"created_ns={d.created_ns}" in r
    assert d._asdict()["nbytes"] == 80
    # still SharedArray's tuple of three: length, unpacking, indexing, equality, matching
    assert isinstance(d, tuple) and len(d) == 3 and d[2] == (4, 5)
    assert d == (name.encode(), np.int32, (4, 5))
    match d:
        case sa.ArrayDesc(n, dt, dims):
            assert (n, dt, dims) == tuple(d)
    # read-only, and pickles whole
    with pytest.raises(AttributeError):
        d.mode = 0o777  # type: ignore[misc]
    e = pickle.loads(pickle.dumps(d))
    assert type(e) is sa.ArrayDesc and e._asdict() == d._asdict() and repr(e) == r


def test_list_skips_foreign_segments(name):
    with open("/dev/shm/" + name, "wb") as f:
        f.write(b"\0" * 8192)
    assert name.encode() not in {d.name for d in sa.list()}
    with pytest.raises(ValueError, match=re.escape(name)):
        sa.attach(name)


def test_constants():
    assert (sa.MS_ASYNC, sa.MS_INVALIDATE, sa.MS_SYNC) == (1, 2, 4)


def test_msync(tmp_path):
    path = tmp_path / "sync.npshm"
    a = sa.create(f"file://{path}", 1000, np.int64)
    a[:] = np.arange(1000)
    sa.msync(a, sa.MS_SYNC)
    sa.msync(a[10:], sa.MS_ASYNC | sa.MS_INVALIDATE)
    a.base.msync(sa.MS_SYNC)  # SharedArray's spelling: a method of the array's base
    a.base.msync()
    data = path.read_bytes()
    assert np.frombuffer(data[-8000:], np.int64).tolist() == list(range(1000))
    with pytest.raises(ValueError):
        sa.msync(a, sa.MS_SYNC | sa.MS_ASYNC)
    with pytest.raises(TypeError):
        sa.msync(np.zeros(3))


def _locked_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    raise AssertionError("no VmLck")


def test_mlock_munlock(name):
    a = sa.create(name, 64 * 1024, np.uint8)  # 64 KiB
    before = _locked_kib()
    try:
        sa.mlock(a)
    except OSError as e:  # an unprivileged user with a small RLIMIT_MEMLOCK
        pytest.skip(f"mlock not permitted here: {e}")
    assert _locked_kib() >= before + 64
    sa.munlock(a)
    assert _locked_kib() == before
    a.base.mlock()
    a.base.munlock()
    assert _locked_kib() == before
    with pytest.raises(TypeError):
        sa.mlock([1, 2])


def test_map_owner_attributes(name):
    a = sa.create(name, (3, 4), np.float32)
    m = a.base
    assert isinstance(m, sa.Mapping)
    assert m.name == name and m.descr == "<f4" and m.shape == (3, 4)
    assert m.size == 48 and m.itemsize == 4 and m.readonly is False and m.fortran is False
    assert m.addr == a.ctypes.data
    assert m.addr % 4096 == 0  # data starts on a page boundary
    del a
    gc.collect()
    with pytest.raises(TypeError):
        sa.Mapping()  # only npshm makes them
