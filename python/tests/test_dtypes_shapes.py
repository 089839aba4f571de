"""Every fixed-size dtype, 0-d / zero-size / many-dimensional shapes, and argument checking."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npshm

# numpy's most dimensions: 64 since numpy 2, 32 before.
MAX_NDIM = 64 if int(np.__version__.split(".")[0]) >= 2 else 32

SIMPLE = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
    "datetime64[ns]", "datetime64[D]", "datetime64[10s]", "datetime64", "timedelta64[us]",
    "timedelta64[Y]", "S1", "S7", "U1", "U3", "V16",
    ">i2", ">i4", ">u8", ">f4", ">f8", ">c16", ">M8[ms]", ">m8[s]", ">U2", "<i8", "=f8",
]
STRUCTURED = [
    [("x", "<f4"), ("y", "<i8", (3,))],
    [("a", "u1"), ("b", ">f8"), ("c", "S3"), ("d", "<U2")],
    [("pos", [("x", "f8"), ("y", "f8")]), ("t", "M8[ns]"), ("m", "i2", (2, 2))],
    np.dtype([("a", "u1"), ("b", "f8")], align=True),  # with padding
    np.dtype({"names": ["a", "b"], "formats": ["i4", "i4"], "offsets": [0, 8], "itemsize": 16}),
]


def _fill(a: np.ndarray) -> None:
    """Write a byte pattern through the array's own mapping (works for every dtype)."""
    raw = np.ndarray((a.nbytes,), np.uint8, a.base)
    raw[:] = np.arange(a.nbytes) % 251


@pytest.mark.parametrize("spec", SIMPLE + STRUCTURED, ids=str)
def test_round_trip(names, spec):
    dt = np.dtype(spec)
    for shape in [(), (0,), (3,), (2, 3), (2, 0, 4)]:
        n = names()
        a = npshm.create(n, shape, spec)
        assert a.dtype == dt and a.shape == shape and a.dtype.itemsize == dt.itemsize
        assert a.tobytes() == bytes(a.nbytes)  # zero-filled
        _fill(a)
        b = npshm.attach(n)
        assert b.dtype == dt and b.shape == shape
        assert b.tobytes() == a.tobytes()
        c = npshm.attach_shared_array(n, validate_shape=shape, validate_dtype=spec)
        assert c.dtype == dt


def test_round_trip_in_another_process(names):
    specs = SIMPLE[:-5] + [str(np.dtype(s).descr) for s in STRUCTURED[:3]]
    made = []
    for spec in specs:
        n = names()
        a = npshm.create(n, (3,), spec if not spec.startswith("[") else eval(spec))
        _fill(a)
        made.append((n, a.dtype.descr, a.tobytes().hex()))
    code = textwrap.dedent(
        f"""
        import numpy as np, npshm
        for n, descr, hexdata in {made!r}:
            b = npshm.attach(n)
            assert b.dtype.descr == descr, (n, b.dtype.descr, descr)
            assert b.tobytes().hex() == hexdata, n
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_subarray_dtype_becomes_dimensions(name):
    a = npshm.create(name, (4,), ("f8", (2, 3)))
    assert a.shape == (4, 2, 3) and a.dtype == np.float64
    assert npshm.attach(name).shape == (4, 2, 3)


def test_datetime_values(name):
    a = npshm.create(name, 2, "datetime64[ms]")
    a[:] = np.array(["2024-01-02T03:04:05.006", "NaT"], dtype="datetime64[ms]")
    b = npshm.attach(name)
    assert b.dtype == np.dtype("datetime64[ms]")
    assert str(b[0]) == "2024-01-02T03:04:05.006" and np.isnat(b[1])


def test_big_endian_values(name):
    a = npshm.create(name, 3, ">i4")
    a[:] = [1, 256, -2]
    b = npshm.attach(name)
    assert b.dtype.byteorder == ">" and b.tolist() == [1, 256, -2]
    assert b.tobytes()[:4] == b"\x00\x00\x00\x01"


@pytest.mark.parametrize("ndim", [1, 32, MAX_NDIM])
def test_many_dimensions(name, ndim):
    shape = (1,) * (ndim - 1) + (3,)
    a = npshm.create(name, shape, "i2")
    assert a.shape == shape
    assert npshm.attach(name).shape == shape


def test_too_many_dimensions(name):
    with pytest.raises(ValueError, match="dimensions"):
        npshm.create(name, (1,) * 65, "i1")
    if MAX_NDIM < 64:  # numpy 1.x: numpy refuses, before anything is created
        with pytest.raises(ValueError, match="dimension"):
            npshm.create(name, (1,) * (MAX_NDIM + 1), "i1")
    assert not os.path.exists("/dev/shm/" + name)


def test_fortran_array_from_c(name):
    a = npshm._native.create(name, (3, 4), "<i4", npshm._native.FORTRAN, None)
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    a[:] = np.arange(12).reshape(3, 4)
    b = npshm.attach(name)
    assert b.flags.f_contiguous and b.base.fortran
    assert b.tolist() == np.arange(12).reshape(3, 4).tolist()
    assert b.base.size == 48


@pytest.mark.parametrize(
    "dtype",
    [object, "O", [("a", "i4"), ("b", "O")], [("a", [("c", "O")])], ("O", (2,))],
    ids=str,
)
def test_object_dtypes_refused(name, dtype):
    with pytest.raises(TypeError, match="object"):
        npshm.create(name, 3, dtype)
    with pytest.raises(TypeError, match="object"):
        npshm.create_shared_array(name, 3, dtype)
    assert not os.path.exists("/dev/shm/" + name)


@pytest.mark.parametrize(
    "dtype, exc",
    [("nonsense", TypeError), (3.5, TypeError), ("S0", ValueError), ("U", ValueError), ("V", ValueError)],
    ids=str,
)
def test_bad_dtypes(name, dtype, exc):
    with pytest.raises(exc, match="dtype"):
        npshm.create(name, 3, dtype)


@pytest.mark.parametrize(
    "shape, exc, words",
    [
        (-1, ValueError, "-1"),
        ((2, -3), ValueError, "-3"),
        (2.5, TypeError, "float"),
        ((2, 2.0), TypeError, r"shape\[1\]"),
        ("12", TypeError, "str"),
        (None, TypeError, "NoneType"),
        ((1,) * 65, ValueError, "65"),
        ((2**63,), ValueError, "dimension"),
        ((2**40, 2**40), ValueError, "large"),
    ],
    ids=str,
)
def test_bad_shapes(name, shape, exc, words):
    with pytest.raises(exc, match=words):
        npshm.create(name, shape, "u1")
    with pytest.raises(exc):
        npshm.create_shared_array(name, shape, "u1", full=0)
    assert not os.path.exists("/dev/shm/" + name)


def test_shape_spellings(names):
    assert npshm.create(names(), 3).shape == (3,)
    assert npshm.create(names(), [2, 3]).shape == (2, 3)
    assert npshm.create(names(), np.array([2, 3])).shape == (2, 3)
    assert npshm.create(names(), (np.int64(2), np.uint8(3))).shape == (2, 3)
    assert npshm.create(names(), np.int32(4)).shape == (4,)
    assert npshm.create(names(), ()).shape == ()


@pytest.mark.parametrize(
    "bad, exc",
    [
        ("", ValueError),
        (".", ValueError),
        ("..", ValueError),
        ("a/b", ValueError),
        ("x" * 256, ValueError),
        ("a\0b", ValueError),
        ("shm://", ValueError),
        ("file://", ValueError),
        (3, TypeError),
        (None, TypeError),
        (["x"], TypeError),
    ],
    ids=repr,
)
def test_bad_names(bad, exc):
    with pytest.raises(exc, match="name|NUL|empty|long|'/'|\\."):
        npshm.create(bad, 1)
    with pytest.raises(exc):
        npshm.attach(bad)
    with pytest.raises(exc):
        npshm.delete(bad)


def test_name_spellings(names):
    n = names()
    npshm.create(n.encode(), 1)
    assert npshm.attach(n).shape == (1,)
    longest = "y" * 255
    names.made.append(longest)
    npshm.create(longest, 1)
    npshm.delete(longest)
    spaced = names() + " with space"
    names.made.append(spaced)
    npshm.create_shared_array(spaced, 1, float)
    assert npshm.attach_shared_array(spaced).shape == (1,)
