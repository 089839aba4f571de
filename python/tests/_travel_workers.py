"""Tasks for the workers of test_travel.py and test_dask.py (importable by every start method)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import npshm

SLICE = 1 << 20  # bytes each task writes


def write_slice(args: tuple[np.ndarray, int]) -> tuple[int, bool, str, int]:
    """Write task i's slice of an array that arrived by pickling; report what arrived."""
    a, i = args
    a[i * SLICE : (i + 1) * SLICE] = i + 1
    return os.getpid(), npshm.is_shared_array(a), npshm.name_of(a) or "", npshm._travel._cache.attaches


def write_at(a: np.ndarray, i: int) -> tuple[int, bool, str]:
    """joblib's and Dask's form of write_slice."""
    pid, shared, name, _ = write_slice((a, i))
    return pid, shared, name


def attaches(args: Any) -> tuple[int, int]:
    """(pid, attaches made for references so far) after touching the array that arrived."""
    a, i = args
    a[i] = 1
    return os.getpid(), npshm._travel._cache.attaches


def receive(conn: Any, out: Any) -> None:
    """Receive one object from a Pipe; send back what happened."""
    try:
        a = conn.recv()
        out.send(("ok", int(a.sum())))
    except BaseException as e:  # the test wants whatever happened
        out.send(("error", type(e).__name__, isinstance(e, FileNotFoundError), str(e)))


def describe(a: np.ndarray) -> tuple[bool, str, tuple[int, ...], bool, int]:
    """What a worker sees of an array it received."""
    return npshm.is_shared_array(a), npshm.name_of(a) or "", a.shape, bool(a.flags.writeable), int(a.sum())


def head(a: np.ndarray, n: int) -> np.ndarray:
    """A view of the first n elements: an npshm array in, an npshm array out."""
    return a[:n]


def attach_head(name: str, n: int) -> np.ndarray:
    """A view of the first n rows of the array name, attached where this runs."""
    return npshm.attach(name)[:n]
