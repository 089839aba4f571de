"""A user's script that uses every public name of npshm, written as a user of ``mypy --strict`` or
pyright (strict) writes it. ``test_typing.py`` type-checks it with both, which must accept it and
infer the types that ``assert_type`` states, and runs it: every call here really works."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

import npshm

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type


def cdxcore_api(base: str) -> None:
    a = npshm.create_shared_array(base, (10, 3), np.float64, full=1.5)
    assert_type(a, NDArray[np.float64])
    b = npshm.attach_shared_array(base, validate_shape=(10, 3), validate_dtype=np.float64, read_only=True)
    assert_type(b, NDArray[Any])  # the default raise_on_error=True never returns None
    assert b[9, 2] == 1.5
    c = npshm.create_shared_array(base + "-c", [2], "f4", force=True, mode=0o600)
    assert_type(c, NDArray[Any])
    taken = npshm.create_shared_array(base, 3, np.int8, raise_on_error=False)
    assert_type(taken, Optional[NDArray[np.int8]])
    assert taken is None
    missing = npshm.attach_shared_array(base + "-missing", raise_on_error=False)
    assert_type(missing, Optional[NDArray[Any]])
    if missing is not None:
        missing[0] = 1
    view: object = a[1:, 0]
    if npshm.is_shared_array(view):
        assert_type(view, NDArray[Any])
        assert view.shape == (9,)
    kept = npshm.attach_shared_array(base + "-c", track=None, unlink=False, verbose=None)
    assert_type(kept, NDArray[Any])
    ok: bool = npshm.delete_shared_array(base + "-c", verbose=None)
    assert ok


def files(base: str, d: str) -> None:
    data = np.arange(12.0).reshape(3, 4)
    npshm.to_file(os.path.join(d, "a.npy"), data)
    npshm.to_file(Path(d) / "a.npio", [[1, 2], [3, 4]])
    with open(os.path.join(d, "two.npio"), "wb") as out:
        npshm.to_file(out, data)
        npshm.to_file(out, data[:1])
    r = npshm.from_file(os.path.join(d, "a.npy"), validate_dtype=np.float64, validate_shape=(3, 4))
    assert_type(r, NDArray[Any])
    with open(os.path.join(d, "two.npio"), "rb") as f:
        first, second = npshm.from_file(f), npshm.from_file(f, read_only=True)
    assert first.shape == (3, 4) and second.shape == (1, 4)
    npshm.to_file(os.path.join(d, "t.npio"), data.T, buffering=0, cont_block_size_mb=1)
    into = npshm.read_into(os.path.join(d, "t.npio"), np.empty((4, 3)), cont_block_size_mb=None)
    assert_type(into, NDArray[Any])
    try:
        npshm.from_file(os.path.join(d, "t.npio"), validate_shape=(3, 4), buffering=-1)
    except npshm.FormatError as e:  # a ValueError and an OSError
        err: OSError = e
        bad: ValueError = e
        assert err.filename is not None and bad is e
    loaded = npshm.read_shared_array(os.path.join(d, "a.npy"), base + "-file", read_only=True)
    assert_type(loaded, NDArray[Any])
    again, attached = npshm.read_shared_array(Path(d) / "a.npy", base + "-file", return_status=True)
    assert_type(attached, bool)
    assert attached and again.shape == loaded.shape
    gone = npshm.read_shared_array(os.path.join(d, "missing.npy"), base + "-gone", raise_on_error=False)
    assert_type(gone, Optional[NDArray[Any]])
    status = npshm.read_shared_array(os.path.join(d, "missing.npy"), base + "-gone", raise_on_error=False,
                                     return_status=True)
    assert_type(status, Optional[tuple[NDArray[Any], bool]])
    assert gone is None and status is None
    npshm.delete(base + "-file")


def sharedarray_api(base: str) -> None:
    s = npshm.create(base + "-sa", 4)
    assert_type(s, NDArray[np.float64])
    t = npshm.create(base + "-sa2", (2, 2), np.int32, mode=0o640)
    assert_type(t, NDArray[np.int32])
    u = npshm.attach(base + "-sa", ro=True)
    assert_type(u, NDArray[Any])
    entries: list[npshm.ArrayDesc] = npshm.list()
    for e in entries:
        name, dtype, dims = e
        assert_type(name, bytes)
        assert_type(dtype, type[np.generic])
        assert_type(e.full_dtype, np.dtype[Any])
        assert_type(dims, tuple[int, ...])
        if name == (base + "-sa2").encode():
            assert (e.mode, e.nbytes, e.itemsize, e.fortran) == (0o640, 16, 4, False)
            assert e.uid == os.getuid() and e.creator_pid == os.getpid() and e.created_ns > 0
            alive: bool = e.creator_alive
            age: float = e.age
            assert alive and age >= 0
    npshm.msync(s, npshm.MS_SYNC | npshm.MS_INVALIDATE)
    m = s.base
    assert isinstance(m, npshm.Mapping)
    m.msync(npshm.MS_ASYNC)
    size: int = m.size
    assert size == 32
    try:
        npshm.mlock(s)
        npshm.munlock(s)
    except PermissionError:  # no privilege to lock memory here
        pass
    removed: int = npshm.clean_temporaries()
    assert removed >= 0
    npshm.delete(base + "-sa")
    npshm.delete(base + "-sa2")


def travel_and_orphans(base: str) -> None:
    a = npshm.create_shared_array(base + "-t", (4, 4), np.float64, full=2.0)
    assert npshm.name_of(a[1:]) == base + "-t" and npshm.name_of(np.zeros(1)) is None
    ref: npshm.Reference = npshm.reference(a[1:, ::2])
    b = npshm.from_reference(ref)
    assert b.shape == (3, 2) and b[0, 0] == 2.0
    before = npshm.get_pickling()
    with npshm.set_pickling("value"):
        assert npshm.get_pickling() == "value"
    assert npshm.get_pickling() == before
    npshm.delete(base + "-t")
    try:
        npshm.from_reference(ref)
        raise AssertionError("a reference to a deleted array attached")
    except npshm.StaleReferenceError as e:
        assert isinstance(e, FileNotFoundError)
    found: list[npshm.ArrayDesc] = npshm.delete_orphans(base + "-*")  # a dry run
    assert found == []
    npshm.create(base + "-scratch", 1)
    npshm.delete_on_exit(base + "-scratch")


def main() -> None:
    base = f"npshm-typing-user-{os.getpid()}"
    version: str = npshm.lib_version
    assert version == npshm.__version__
    try:
        cdxcore_api(base)
        with tempfile.TemporaryDirectory() as d:
            files(base, d)
        sharedarray_api(base)
        travel_and_orphans(base)
    finally:
        npshm.delete_shared_array(base)
    print("ok")


if __name__ == "__main__":
    main()
