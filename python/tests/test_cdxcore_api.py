"""cdxcore.npshm's API: create_shared_array, attach_shared_array, delete_shared_array,
is_shared_array, with the documented return values and exceptions and without its defects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npshm
from npshm import attach_shared_array, create_shared_array, delete_shared_array, is_shared_array


def test_documented_example_across_processes(name):
    # cdxcore's documented example, with process 2 in another interpreter.
    test = create_shared_array(name, shape=(10, 3), dtype=np.int32, force=True, full=0)
    test[:, 1] = 1
    code = textwrap.dedent(
        f"""
        from npshm import attach_shared_array
        import numpy as np
        test = attach_shared_array({name!r}, validate_shape=(10, 3), validate_dtype=np.int32)
        assert np.all(test[:, 1] == 1)
        test[:, 2] = 2
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert np.all(test[:, 2] == 2)
    assert np.all(test[:, 0] == 0)


def test_create_returns_zeroed_array_of_shape_and_dtype(name):
    a = create_shared_array(name, (5, 2), "float32")
    assert a.shape == (5, 2) and a.dtype == np.float32
    assert not a.any()
    assert a.flags.c_contiguous and a.flags.writeable


def test_create_existing_raises_or_returns_none(name):
    a = create_shared_array(name, 3, float, full=1.5)
    with pytest.raises(FileExistsError):
        create_shared_array(name, 3, float)
    assert create_shared_array(name, 3, float, raise_on_error=False) is None
    assert np.all(a == 1.5)  # the existing array is untouched


def test_force_replaces_and_old_attachments_survive(name):
    old = create_shared_array(name, 4, np.int64, full=7)
    new = create_shared_array(name, (2, 2), np.uint8, force=True)
    assert new.shape == (2, 2) and new.dtype == np.uint8 and not new.any()
    assert np.all(old == 7)  # the old mapping stays valid
    again = attach_shared_array(name)
    assert again.shape == (2, 2) and again.dtype == np.uint8


def test_full_scalar_and_array(name, names):
    a = create_shared_array(name, (2, 3), np.float64, full=2.5)
    assert np.all(a == 2.5)
    b = create_shared_array(names(), (2, 3), np.int16, full=np.arange(3))
    assert b.tolist() == [[0, 1, 2], [0, 1, 2]]
    c = create_shared_array(names(), (2,), [("x", "<i4"), ("y", "<f8")], full=(1, 2.5))
    assert c["x"].tolist() == [1, 1] and c["y"].tolist() == [2.5, 2.5]


@pytest.mark.parametrize(
    "full, exc, words",
    [
        ("abc", ValueError, "full"),
        (object(), TypeError, "full"),
        (np.ones(4), ValueError, "broadcast"),
        ([[1, 2], [3]], ValueError, "full"),
    ],
)
def test_bad_full_raises_and_leaves_nothing(name, full, exc, words):
    with pytest.raises(exc, match=words):
        create_shared_array(name, (2, 3), np.float64, full=full)
    assert not os.path.exists("/dev/shm/" + name)


@pytest.mark.skipif(int(np.__version__.split(".")[0]) < 2, reason="numpy 1.x arrays have at most 32 dimensions")
def test_full_broadcasts_beyond_32_dimensions(name, names):
    # numpy.broadcast_shapes stops at 32 dimensions (issue 8, item 11); numpy 2 arrays have 64.
    shape = (1,) * 40 + (2, 3)
    a = create_shared_array(name, shape, np.float64, full=np.arange(3.0))
    assert a.shape == shape and a.reshape(2, 3).tolist() == [[0.0, 1.0, 2.0]] * 2
    b = create_shared_array(names(), (1,) * 62 + (2, 3), np.int8, full=np.array([[1], [2]]))
    assert b.reshape(2, 3).tolist() == [[1, 1, 1], [2, 2, 2]]
    bad = names()
    with pytest.raises(ValueError, match="broadcast"):
        create_shared_array(bad, shape, np.float64, full=np.arange(4.0))
    with pytest.raises(ValueError, match="broadcast"):
        create_shared_array(bad, (3,), np.float64, full=np.zeros((1,) * 40 + (3,)))
    assert not os.path.exists("/dev/shm/" + bad)


def test_attach_missing(name):
    with pytest.raises(FileNotFoundError):
        attach_shared_array(name)
    assert attach_shared_array(name, raise_on_error=False) is None


def test_validation_raises(name):
    create_shared_array(name, (10, 3), np.int32)
    # cdxcore built this ValueError and never raised it: npshm raises it.
    with pytest.raises(ValueError, match="shape"):
        attach_shared_array(name, validate_shape=(3, 10))
    with pytest.raises(ValueError, match="dtype"):
        attach_shared_array(name, validate_dtype=np.int64)
    with pytest.raises(ValueError, match="dtype"):
        attach_shared_array(name, validate_dtype=">i4")  # byte order counts
    assert attach_shared_array(name, validate_shape=(3, 10), raise_on_error=False) is None
    ok = attach_shared_array(name, validate_shape=[10, 3], validate_dtype="int32")
    assert ok.shape == (10, 3)


def test_read_only(name):
    a = create_shared_array(name, 4, float)
    r = attach_shared_array(name, read_only=True)
    assert not r.flags.writeable
    with pytest.raises(ValueError):
        r[0] = 1
    with pytest.raises(ValueError):
        r.flags.writeable = True  # the memory itself is mapped read-only
    a[0] = 3.0
    assert r[0] == 3.0
    assert npshm.attach(name, ro=True).flags.writeable is False


def test_delete(name):
    create_shared_array(name, 2, float)
    assert delete_shared_array(name) is True
    assert not os.path.exists("/dev/shm/" + name)
    assert delete_shared_array(name) is True  # a missing array is no error
    with pytest.raises(ValueError):
        delete_shared_array("a/b")
    assert delete_shared_array("a/b", raise_on_error=False) is False


def test_is_shared_array(name):
    a = create_shared_array(name, (4, 4), float)
    assert is_shared_array(a)
    assert is_shared_array(a[1:3, ::2])
    assert is_shared_array(a.T)
    assert is_shared_array(a.view(np.int64))
    assert is_shared_array(a.reshape(16))
    assert is_shared_array(np.asarray(memoryview(a)))
    assert is_shared_array(attach_shared_array(name))
    assert not is_shared_array(a.copy())
    assert not is_shared_array(a + 1)
    assert not is_shared_array(np.zeros(3))
    assert not is_shared_array(np.frombuffer(bytearray(8)))
    for other in (None, 1, "x", [1, 2], a.base, memoryview(b"ab")):
        assert not is_shared_array(other)


def test_nothing_prints(name):
    code = textwrap.dedent(
        f"""
        import numpy as np, npshm
        a = npshm.create_shared_array({name!r}, 3, float, full=1)
        b = npshm.attach_shared_array({name!r}, validate_shape=(3,))
        del a, b
        import gc; gc.collect()
        npshm.delete_shared_array({name!r})
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout == "" and r.stderr == ""


def test_no_resource_tracker_and_array_survives_exit(name):
    # multiprocessing.shared_memory registers segments with the resource tracker, which may
    # unlink them at exit; npshm must never do that.
    code = textwrap.dedent(
        f"""
        import sys, numpy as np, npshm
        a = npshm.create_shared_array({name!r}, 5, np.int32, full=42)
        b = npshm.create({name!r} + "-sa", 5, np.int32)
        b[:] = 43
        assert "multiprocessing.resource_tracker" not in sys.modules
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        assert attach_shared_array(name).tolist() == [42] * 5
        assert npshm.attach(name + "-sa").tolist() == [43] * 5
    finally:
        delete_shared_array(name + "-sa")


def test_reserve_false_leaves_the_array_sparse(names):
    # Issue 13: the opt-out of the reservation, for arrays used sparsely (SIGBUS risk documented).
    n = 1 << 22
    for make in (lambda nm: npshm.create_shared_array(nm, (n,), np.uint8, reserve=False),
                 lambda nm: npshm.create(nm, (n,), np.uint8, reserve=False)):
        name = names("sparse")
        a = make(name)
        st = os.stat("/dev/shm/" + name)
        assert st.st_blocks * 512 < n // 2
        b = npshm.attach_shared_array(name)
        c = npshm.attach_shared_array(name, read_only=True)
        a[: 1 << 12] = 1
        assert b[0] == 1 and c[4095] == 1 and c[-1] == 0
        assert os.stat("/dev/shm/" + name).st_blocks * 512 < n // 2
        del a, b, c
    name = names("reserved")
    npshm.create_shared_array(name, (n,), np.uint8)
    assert os.stat("/dev/shm/" + name).st_blocks * 512 >= n
    # A fill writes every page, so it is reserved whatever reserve says (on a full /dev/shm:
    # test_hardening.py); a fill of zero bytes writes nothing, and the array stays sparse.
    for full, sparse in ((0, True), (np.zeros(8, np.uint8), True), (1, False)):
        name = names("fill")
        a = npshm.create_shared_array(name, (n // 8, 8), np.uint8, full=full, reserve=False)
        assert (os.stat("/dev/shm/" + name).st_blocks * 512 < n // 2) == sparse, full
        assert (a == full).all()
    # -0.0 is not all zero bytes: it is written.
    a = npshm.create_shared_array(names("negzero"), (4,), np.float64, full=-0.0)
    assert np.signbit(a).all()
