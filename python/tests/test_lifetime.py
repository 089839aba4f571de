"""Lifetimes: collection releases the mapping and never the array; views keep mappings alive;
arrays outlive their creator."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npshm


def _mapped(ino: int) -> int:
    """How many mappings of the file with inode ino this process has (creation maps an unnamed
    file that is linked to the name afterwards, so the path in /proc/self/maps may differ)."""
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if len(line.split()) >= 5 and line.split()[4] == str(ino))


def _ino(name: str) -> int:
    return os.stat("/dev/shm/" + name).st_ino


def test_collection_unmaps_but_keeps_array(name):
    a = npshm.create(name, 1000, np.int64)
    a[:] = 9
    ino = _ino(name)
    assert _mapped(ino) == 1
    del a
    gc.collect()
    assert _mapped(ino) == 0
    assert os.path.exists("/dev/shm/" + name)
    assert npshm.attach(name)[999] == 9


def test_views_keep_mapping_alive(name):
    a = npshm.create(name, (100, 10), np.float64)
    ino = _ino(name)
    v = a[10:20, 3]
    t = a.T[1::2]  # t[1] is column 3
    m = memoryview(a)
    w = a.view(np.uint8)
    del a
    gc.collect()
    npshm.delete(name)  # even a deleted array lives while it is mapped
    assert _mapped(ino) == 1
    v[:] = 4.0
    assert t[1, 10:20].tolist() == [4.0] * 10
    del v, t, w
    gc.collect()
    assert _mapped(ino) == 1  # the memoryview still holds it
    assert np.frombuffer(m, np.float64)[103] == 4.0
    m.release()
    del m
    gc.collect()
    assert _mapped(ino) == 0


def test_many_attachments_are_released(name):
    npshm.create(name, 10)
    ino = _ino(name)
    for _ in range(2000):
        b = npshm.attach(name)
        b[0] += 1
    del b
    gc.collect()
    assert _mapped(ino) == 0
    assert npshm.attach(name)[0] == 2000


def test_array_outlives_creator(name):
    code = textwrap.dedent(
        f"""
        import numpy as np, npshm
        a = npshm.create_shared_array({name!r}, (3, 3), np.float32, full=np.eye(3))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    b = npshm.attach_shared_array(name, validate_shape=(3, 3), validate_dtype=np.float32)
    assert b.tolist() == np.eye(3).tolist()


def test_array_survives_killed_creator(name):
    code = textwrap.dedent(
        f"""
        import os, signal, numpy as np, npshm
        a = npshm.create({name!r}, 4, np.int32)
        a[:] = 5
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    r = subprocess.run([sys.executable, "-c", code])
    assert r.returncode == -9
    assert npshm.attach(name).tolist() == [5] * 4


def test_readonly_attach_cannot_write(name):
    a = npshm.create(name, 4, np.int32)
    r = npshm.attach(name, ro=True)
    assert r.base.readonly
    with pytest.raises(ValueError):
        r[...] = 1
    with pytest.raises(ValueError):
        np.add(r, 1, out=r)
    with pytest.raises(TypeError):
        memoryview(r.base).cast("B")[0] = 1  # the buffer itself is read-only
    with pytest.raises(ValueError):
        np.frombuffer(r.base, np.uint8).setflags(write=True)
    a[0] = 8
    assert r[0] == 8
