"""Run a function when a module is imported, without importing it.

npshm registers how its arrays travel with libraries it does not import (multiprocessing, joblib's
loky, Dask's distributed): importing multiprocessing alone would add 6 ms to ``import npshm``, and
Dask far more. :func:`when_imported` runs the registration at once if the module is loaded, and
otherwise just after its first import, from a finder at the front of ``sys.meta_path`` that wraps
the module's loader. The module keeps its own loader, spec and attributes; only ``exec_module`` of
that one loader instance is wrapped, and the finder removes itself once nothing is pending.
"""

import importlib.machinery
import sys
import _thread
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Optional

__all__ = ["when_imported"]

_lock = _thread.RLock()
_pending: "dict[str, list[Callable[[ModuleType], None]]]" = {}


def when_imported(name: str, hook: "Callable[[ModuleType], None]") -> None:
    """Call ``hook(module)`` once the module ``name`` is imported (at once if it already is).

    A hook that raises is reported as a warning and does not break the import. A module caught in
    the middle of its own import (a circular import through npshm) is not hooked.
    """
    with _lock:
        module = sys.modules.get(name)
        if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
            _pending.setdefault(name, []).append(hook)
            if _finder not in sys.meta_path:
                sys.meta_path.insert(0, _finder)
            return
    _run(hook, module)


def _run(hook: "Callable[[ModuleType], None]", module: ModuleType) -> None:
    try:
        hook(module)
    except Exception as e:  # a registration must never break the user's import
        import warnings

        warnings.warn(
            f"npshm could not register with {module.__name__}: {type(e).__name__}: {e}",
            RuntimeWarning,
            stacklevel=2,
        )


class _Finder:
    """Finds nothing itself: for a pending module it asks the other finders, and wraps the
    ``exec_module`` of the loader they return so that the hooks run after the module's code.

    A meta path finder needs only ``find_spec``: it does not derive from
    ``importlib.abc.MetaPathFinder``, whose import (importlib.resources, pathlib, tempfile, ...)
    cost ``import npshm`` about 13 ms on Python 3.11."""

    def find_spec(
        self, fullname: str, path: "Optional[Sequence[str]]", target: "Optional[ModuleType]" = None
    ) -> "Optional[importlib.machinery.ModuleSpec]":
        if fullname not in _pending:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if not isinstance(loader, _PER_MODULE_LOADERS):
            return spec  # a loader shared by several modules (zipimport, built-ins) stays as it is
        exec_module = loader.exec_module

        def exec_then_hooks(module: ModuleType, _exec: Any = exec_module) -> None:
            _exec(module)
            with _lock:
                hooks = _pending.pop(fullname, [])
                if not _pending and _finder in sys.meta_path:
                    sys.meta_path.remove(_finder)
            for hook in hooks:
                _run(hook, module)

        setattr(loader, "exec_module", exec_then_hooks)  # this loader instance serves this module only
        return spec


# Loaders of which the import system makes one instance per module.
_PER_MODULE_LOADERS = (
    importlib.machinery.SourceFileLoader,
    importlib.machinery.SourcelessFileLoader,
    importlib.machinery.ExtensionFileLoader,
)

_finder = _Finder()
