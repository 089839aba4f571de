"""joblib: its default backend, loky, sends npshm arrays by reference.

joblib hands loky a reducer for every ``numpy.ndarray`` (its memmapping reducer, which copies a
large array into a temporary file), and loky lets those reducers override its own registry, so a
registration there would never be seen. What loky lets a user choose is the pickler class
(``loky.set_loky_pickler``, also the ``LOKY_PICKLER`` variable): :func:`register` sets a subclass
of the pickler loky was using (cloudpickle's, unless the user chose another) whose
``reducer_override``, which a pickler consults before any reducer, makes a reference of an npshm
array and leaves every other object to the pickler it extends. This is what joblib already does
for arrays that are ``numpy.memmap`` views: they travel as a file name and an offset, whatever
their size, writable if they are. Choosing another loky pickler afterwards turns this off.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ._travel import reduce_by_reference

Pickler: Any = None
"""The pickler loky uses, once :func:`register` ran (``loky.set_loky_pickler`` reads it)."""


def register(reduction: ModuleType) -> None:
    """Make loky (``joblib.externals.loky.backend.reduction``, the module given) pickle npshm
    arrays by reference."""
    global Pickler
    base = reduction.get_loky_pickler()._loky_pickler_cls
    if getattr(base, "_npshm", False):
        return

    class NpshmPickler(base):  # type: ignore[misc, valid-type]
        _npshm = True

        def reducer_override(self, obj: Any) -> Any:
            if type(obj) is np.ndarray:
                r = reduce_by_reference(obj)
                if r is not None:
                    return r
            parent = getattr(super(), "reducer_override", None)
            return NotImplemented if parent is None else parent(obj)

    NpshmPickler.__qualname__ = NpshmPickler.__name__ = f"Npshm{base.__name__}"
    Pickler = NpshmPickler
    reduction.set_loky_pickler(__name__)
