"""Tasks run by multiprocessing workers in test_multiprocessing.py (importable by every start
method)."""

from __future__ import annotations

import os

import numpy as np

import npshm


def use_npshm(args: tuple[str, int]) -> int:
    """Attach to the parent's array and write a slot; make, use and delete an array of its own."""
    name, i = args
    a = npshm.attach(name)
    a[i] = i + 1
    own = f"{name}-w{os.getpid()}-{i}"
    b = npshm.create_shared_array(own, (100,), np.int64, full=i)
    c = npshm.attach_shared_array(own, validate_shape=(100,), validate_dtype=np.int64)
    assert int(c.sum()) == 100 * i
    del b, c
    assert npshm.delete_shared_array(own)
    r = npshm.attach(name, ro=True)
    assert r[i] == i + 1
    assert any(d.name == name.encode() for d in npshm.list())
    return os.getpid()
