"""Mistakes a type checker must catch: ``test_typing.py`` checks that mypy --strict and pyright
report an error on every line marked expect-error, and on no other line. Never run."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

import npshm

name, path = "prices", "prices.npy"

npshm.attach_shared_array(name, raise_on_error=False)[0] = 1  # expect-error: it may be None
arr, attached = npshm.read_shared_array(path, name, raise_on_error=False, return_status=True)  # expect-error
whole: NDArray[Any] = npshm.read_shared_array(path, name, return_status=True)  # expect-error: a tuple
npshm.msync(npshm.create_shared_array(name, 3, np.int8, raise_on_error=False))  # expect-error: may be None
npshm.create_shared_array(name, (2, 2), np.float64, mode="0660")  # expect-error: mode is an int
npshm.create_shared_array(name, "10", np.float64)  # expect-error: a str is no shape
npshm.to_file(np.zeros(3), path)  # expect-error: arguments swapped
npshm.attach(name, read_only=True)  # expect-error: SharedArray's keyword is ro
text: str = npshm.list()[0].name  # expect-error: names are bytes
npshm.from_file(path, validate_shape=3.0)  # expect-error: not a shape
npshm.set_pickling("by-reference")  # expect-error: "auto", "reference" or "value"
