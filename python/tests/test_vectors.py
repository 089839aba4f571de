"""The shared test vectors (tests/vectors/, see its README.md): segments written to
docs/FORMAT.md that Go, C and Python must read identically."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import npshm
from npshm._dtypes import dtype_from_descr

# numpy's most dimensions: 64 since numpy 2, 32 before.
MAX_NDIM = 64 if int(np.__version__.split(".")[0]) >= 2 else 32

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "vectors")


def _manifest() -> list[list[str]]:
    path = os.path.join(VECTORS, "MANIFEST")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                rows.append(line.split(" ", 7))
    return rows


ROWS = _manifest()
OK = [r for r in ROWS if r[1] == "OK"]
ERR = [r for r in ROWS if r[1] == "ERR"]


def _expected_data(nbytes: int) -> np.ndarray:
    return ((7 * np.arange(nbytes, dtype=np.int64) + 3) % 251).astype(np.uint8)


def _check(arr: np.ndarray, row: list[str]) -> None:
    _, _, ndim, shape, itemsize, nbytes, fortran, descr = row
    want_shape = () if shape == "-" else tuple(int(x) for x in shape.split(","))
    assert arr.ndim == int(ndim) and arr.shape == want_shape
    assert arr.dtype.itemsize == int(itemsize) and arr.nbytes == int(nbytes)
    assert arr.base.descr == descr
    assert arr.dtype == dtype_from_descr(descr)
    assert bool(arr.base.fortran) == (fortran == "1")
    if fortran == "1" and arr.ndim > 1:
        assert arr.flags.f_contiguous
    raw = np.frombuffer(arr.base, np.uint8)
    assert np.array_equal(raw, _expected_data(int(nbytes)))


@pytest.mark.skipif(not OK, reason="no test vectors")
@pytest.mark.parametrize("row", OK, ids=[r[0] for r in OK])
def test_valid_vector(row, name):
    if int(row[2]) > MAX_NDIM:
        pytest.skip(f"numpy {np.__version__} has at most {MAX_NDIM} dimensions")
    path = os.path.abspath(os.path.join(VECTORS, row[0]))
    _check(npshm.attach(f"file://{path}", ro=True), row)  # read in place, never written
    shutil.copyfile(path, "/dev/shm/" + name)
    os.chmod("/dev/shm/" + name, 0o600)
    _check(npshm.attach(name), row)
    entry = {d.name: d for d in npshm.list()}[name.encode()]
    assert entry.creator_pid == 4242 and entry.created_ns == 1700000000123456789
    assert entry.nbytes == int(row[5]) and entry.itemsize == int(row[4])
    assert entry.fortran == (row[6] == "1")


@pytest.mark.skipif(not ERR, reason="no test vectors")
@pytest.mark.parametrize("row", ERR, ids=[r[0] for r in ERR])
def test_invalid_vector(row, name):
    assert row[2] == "FORMAT"
    path = os.path.abspath(os.path.join(VECTORS, row[0]))
    with pytest.raises(ValueError):
        npshm.attach(f"file://{path}", ro=True)
    shutil.copyfile(path, "/dev/shm/" + name)
    with pytest.raises(ValueError, match=name):
        npshm.attach(name)
    with pytest.raises(ValueError):
        npshm.attach_shared_array(name, raise_on_error=False)
    assert name.encode() not in {d.name for d in npshm.list()}
