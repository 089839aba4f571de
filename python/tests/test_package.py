"""The package itself: public names, docstrings, typing files, doctests, import cost."""

from __future__ import annotations

import ast
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


# What `import npshm` may add to what `import numpy` loaded (issue 13: at most 2 ms over numpy).
# Each module costs about 0.06 ms to find and load, the extension 0.2 ms; `from __future__ import
# annotations` alone imports __future__ (0.12 ms), which numpy does not: the modules below write
# their annotations as strings instead. The standard modules are listed in case a numpy does not
# load them; errno, __future__ and npshm's other modules are not, and load where they are needed.
_IMPORT_MAY_ADD = {"npshm", "npshm._api", "npshm._native", "npshm._compat", "npshm._dtypes",
                   "npshm._hooks", "ast", "re", "weakref", "typing", "collections.abc", "types",
                   "importlib", "importlib.machinery", "operator", "time"}


def test_import_adds_only_its_own_modules():
    code = ("import sys, numpy; before = set(sys.modules); import npshm; "
            "print(sorted(set(sys.modules) - before))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    added = set(ast.literal_eval(r.stdout))
    assert added - _IMPORT_MAY_ADD == set(), r.stdout
    assert {"npshm", "npshm._api", "npshm._native"} <= added


def test_library_sits_next_to_the_extension():
    # under its SONAME, which the extension loads from its own directory on first use
    d = os.path.dirname(npshm.__file__)
    assert os.path.exists(os.path.join(d, "libnpshm.so.0"))
    npshm.get_dir()  # a call that needs the library
    maps = open("/proc/self/maps").read()
    assert os.path.join(os.path.realpath(d), "libnpshm.so.0") in maps
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-d", npshm._native.__file__], capture_output=True, text=True).stdout
        assert "libnpshm" not in out  # not linked: loaded on first use


_LAZY_LIBRARY = """
import os, sys, numpy as np, npshm
def loaded():
    return "libnpshm.so" in open("/proc/self/maps").read()
def wait(pid):
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
threads = len(os.listdir("/proc/self/task"))
assert not loaded(), "import npshm loaded libnpshm"
assert npshm.__version__ and npshm.MS_SYNC and npshm.FormatError  # none of these needs it
assert not loaded(), "the package's constants loaded libnpshm"
name = "lazy-%d" % os.getpid()
# A child forked before the first use loads the library itself, and works.
pid = os.fork()
if pid == 0:
    b = npshm.create_shared_array(name, (2,), np.uint8, full=7)
    ok = loaded() and npshm.attach_shared_array(name).tolist() == [7, 7] and npshm.delete_shared_array(name)
    os._exit(0 if ok else 1)
wait(pid)
assert not loaded()
a = npshm.create_shared_array(name, (3,), np.int16, full=5)
assert loaded() and len(os.listdir("/proc/self/task")) > threads  # the Go runtime's threads
assert npshm.lib_version == npshm.__version__
# One forked after it runs the C twin.
pid = os.fork()
if pid == 0:
    os._exit(0 if npshm.attach_shared_array(name).tolist() == [5, 5, 5] else 1)
wait(pid)
npshm.delete_shared_array(name)
print("ok")
"""


def test_import_does_not_load_the_library():
    """issue 13: libnpshm (the Go runtime, its threads) loads at the first call that needs it, not
    at `import npshm`; a child forked before that loads it itself."""
    r = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", _LAZY_LIBRARY],
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "ok\n", "")


def test_one_version_everywhere():
    # NPSHM_VERSION_MAJOR/MINOR/PATCH in include/npshm.h are written once: the library reports it, and the build
    # (CMake, pyproject.toml's regex) gave it to the installed distribution.
    import importlib.metadata

    assert npshm.__version__ == npshm.lib_version
    assert importlib.metadata.version("npshm") == npshm.lib_version
