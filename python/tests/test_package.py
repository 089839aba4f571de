"""The package itself: public names, docstrings, typing files, doctests, import cost."""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import shutil
import subprocess
import sys

import pytest

import npshm

CDXCORE = ["create_shared_array", "attach_shared_array", "delete_shared_array", "is_shared_array"]
SHAREDARRAY = ["create", "attach", "delete", "list", "msync", "mlock", "munlock",
               "MS_ASYNC", "MS_SYNC", "MS_INVALIDATE"]


def test_all_lists_both_apis():
    for n in CDXCORE + SHAREDARRAY:
        assert n in npshm.__all__, n
        assert hasattr(npshm, n), n
    for n in npshm.__all__:
        assert hasattr(npshm, n), n


@pytest.mark.parametrize("fn", CDXCORE + SHAREDARRAY[:7])
def test_numpy_style_docstrings(fn):
    doc = inspect.getdoc(getattr(npshm, fn))
    assert doc and len(doc.splitlines()) > 2
    params = [p for p in inspect.signature(getattr(npshm, fn)).parameters]
    if params and fn not in ("delete", "mlock", "munlock"):
        assert "Parameters\n----------" in doc, fn
    for p in params:
        if "Parameters\n----------" in doc:
            assert p in doc, (fn, p)


def test_signatures_match_the_replaced_libraries():
    sig = inspect.signature
    p = sig(npshm.create_shared_array).parameters
    assert list(p)[:3] == ["name", "shape", "dtype"]
    assert p["raise_on_error"].default is True and p["force"].default is False
    assert p["full"].default is None and p["force"].kind is p["force"].KEYWORD_ONLY
    p = sig(npshm.attach_shared_array).parameters
    assert [(k, v.default) for k, v in p.items()][1:5] == [
        ("validate_shape", None), ("validate_dtype", None), ("raise_on_error", True),
        ("read_only", False)]
    assert list(sig(npshm.delete_shared_array).parameters) == ["name", "raise_on_error", "verbose"]
    assert sig(npshm.create).parameters["dtype"].default is float
    assert sig(npshm.attach).parameters["ro"].default is False


def test_typing_files_are_installed():
    d = os.path.dirname(npshm.__file__)
    assert os.path.exists(os.path.join(d, "py.typed"))
    assert os.path.exists(os.path.join(d, "_native.pyi"))


def test_doctests():
    for mod in ("npshm", "npshm._api"):
        r = doctest.testmod(importlib.import_module(mod), optionflags=doctest.ELLIPSIS)
        assert r.failed == 0 and r.attempted > 0, mod


def test_import_loads_nothing_unwanted():
    # Nor what only some calls or type checkers need, which would make every `import npshm` slower
    # (measured after numpy, Python 3.11: importlib.abc 13 ms, subprocess 6 ms, numpy.typing 0.6 ms).
    code = ("import sys, npshm; bad = [m for m in ('multiprocessing.shared_memory', "
            "'multiprocessing.resource_tracker', 'cffi', 'importlib.abc', 'subprocess', 'numpy.typing', "
            "'typing_extensions') if m in sys.modules]; "
            "print(bad)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]" and r.stderr == ""


def test_library_sits_next_to_the_extension():
    # under its SONAME, the name the extension's NEEDED entry asks the loader for
    d = os.path.dirname(npshm.__file__)
    assert os.path.exists(os.path.join(d, "libnpshm.so.0"))
    maps = open("/proc/self/maps").read()
    assert os.path.join(os.path.realpath(d), "libnpshm.so.0") in maps
    if shutil.which("readelf"):
        ext = npshm._native.__file__
        out = subprocess.run(["readelf", "-d", ext], capture_output=True, text=True).stdout
        assert "$ORIGIN" in out


def test_one_version_everywhere():
    # NPSHM_VERSION_MAJOR/MINOR/PATCH in include/npshm.h are written once: the library reports it, and the build
    # (CMake, pyproject.toml's regex) gave it to the installed distribution.
    import importlib.metadata

    assert npshm.__version__ == npshm.lib_version
    assert importlib.metadata.version("npshm") == npshm.lib_version
