"""The peers' own tests, run on npshm (issue 9, "Their own tests").

cdxcore's tests of ``cdxcore.npshm`` and ``cdxcore.npio`` (tests/test_npshm.py, tests/test_npio.py of
its 0.1.96 sdist, downloaded from PyPI at test time into the build directory's cache, never
committed) run twice, each in its own pytest process: as they are, on cdxcore, and with only the
import switched to npshm. Every test that passes on cdxcore must pass on npshm, except those that
KNOWN_DIFFERENCES lists, which must fail exactly as it says (docs/PYTHON.md, "The peers' own tests",
says why each one).

"Only the import switched": ``from cdxcore.npshm import ...`` and ``from cdxcore.npio import ...``
take every public name from ``npshm`` instead (the test fails if npshm lacks one); cdxcore's
private tables (``_DTYPE_TO_CODE``, the list of dtypes the npio test walks) and its test helper
``cdxcore.subdir.SubDir`` (temporary directories) still come from cdxcore, which build.sh installs.

The suites use fixed names in /dev/shm (seeded random numbers, and "test_reading_files"), and
cdxcore leaves most of its arrays behind: the runs hold a lock file, so that two runs on one machine
do not meet, and delete the arrays of those names (only those) before and after.

SharedArray's sdist ships no tests: test_sharedarray_readme below checks its README's statements.
Without the network (or cdxcore) the cdxcore suites skip, except under CI (``CI=true``), which has
both.
"""

from __future__ import annotations

import fcntl
import gc
import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import npshm

CDXCORE = "cdxcore==0.1.96"
SUITES = ("test_npshm.py", "test_npio.py")

# (file, test) -> the text its failure on npshm contains. docs/PYTHON.md says why each one.
KNOWN_DIFFERENCES = {
    ("test_npio.py", "test_npi"): "RuntimeError not raised",
}

# The fixed names cdxcore's suites use in /dev/shm (see the module's docstring).
_SUITE_NAMES = re.compile(
    r"(npshm test \d+|test_(1d|3d|validate|readonly|float32|int32|uint32|float64)_\d+|test_reading_files)")

_LOCK = "/tmp/npshm-peer-suites.lock"


def _need(what: str, why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: {why} (CI must have it)")
    pytest.skip(f"{what}: {why}")


def _cache() -> Path:
    d = os.environ.get("NPSHM_PEER_CACHE")
    return Path(d) if d else Path(__file__).resolve().parents[2] / "build" / "peers"


def _sdist() -> Path:
    """cdxcore's sdist, downloaded once into the cache."""
    cache = _cache()
    found = sorted(cache.glob("cdxcore-0.1.96.tar.gz"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                        "--no-deps", "--no-binary", ":all:", "-d", str(cache), CDXCORE],
                       capture_output=True, text=True, timeout=300)
    found = sorted(cache.glob("cdxcore-0.1.96.tar.gz"))
    if r.returncode != 0 or not found:
        _need("cdxcore's sdist", f"pip download {CDXCORE} failed (no network?): {r.stderr.strip()[-300:]}")
    return found[0]


def _switch(source: str) -> str:
    """The suite with its cdxcore.npshm / cdxcore.npio imports taken from npshm: public names from
    npshm (which must have them all), private ones (cdxcore's tables) from cdxcore."""
    def repl(m: re.Match[str]) -> str:
        module, names = m.group(1), [n.strip() for n in m.group(2).split(",") if n.strip()]
        public = [n for n in names if not n.startswith("_")]
        private = [n for n in names if n.startswith("_")]
        missing = [n for n in public if not hasattr(npshm, n)]
        assert not missing, f"npshm lacks {missing} of cdxcore.{module}"
        lines = []
        if public:
            lines.append(f"from npshm import {', '.join(public)}")
        if private:
            lines.append(f"from cdxcore.{module} import {', '.join(private)}")
        return "; ".join(lines)

    out, n = re.subn(r"^from cdxcore\.(npshm|npio) import ([^\n]+)$", repl, source, flags=re.M)
    assert n > 0, "the suite imports nothing from cdxcore.npshm or cdxcore.npio"
    assert "cdxcore.npshm" not in out and "import cdxcore.npio" not in out
    return out


def _clean_suite_names() -> None:
    for entry in os.listdir("/dev/shm"):
        if _SUITE_NAMES.fullmatch(entry):
            try:
                os.unlink("/dev/shm/" + entry)
            except FileNotFoundError:
                pass


def _run(directory: Path, tag: str) -> dict[tuple[str, str], str]:
    """Run the suites in directory with pytest; (file, test) -> "" if passed, else the failure."""
    xml = directory / f"{tag}.xml"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
                        *SUITES], cwd=directory, capture_output=True, text=True, env=env, timeout=600)
    assert xml.exists(), r.stdout + r.stderr
    out = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        file = case.get("classname", "").split(".")[0] + ".py"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped") is not None
        out[(file, case.get("name", ""))] = (
            "skipped" if skipped else "" if problem is None else (problem.get("message") or "") + (problem.text or ""))
    assert out, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    try:
        import cdxcore.npio  # noqa: F401  (its tables)
        import cdxcore.subdir  # noqa: F401  (the suites' temporary directories)
    except ImportError as e:
        _need("cdxcore", f"not installed ({e}); build.sh installs it")
    sdist = _sdist()
    base = tmp_path_factory.mktemp("peer-suites")
    with tarfile.open(sdist) as t:
        sources = {s: t.extractfile(f"cdxcore-0.1.96/tests/{s}").read().decode() for s in SUITES}  # type: ignore[union-attr]
    results = {}
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for tag, convert in (("cdxcore", lambda s: s), ("npshm", _switch)):
                d = base / tag
                d.mkdir()
                for s, text in sources.items():
                    (d / s).write_text(convert(text))
                _clean_suite_names()
                results[tag] = _run(d, tag)
        finally:
            _clean_suite_names()
            fcntl.flock(lock, fcntl.LOCK_UN)
    return results


def test_cdxcore_suites_run_on_npshm(suites):
    on_cdxcore, on_npshm = suites["cdxcore"], suites["npshm"]
    assert set(on_npshm) == set(on_cdxcore) and len(on_npshm) >= 4, (on_cdxcore, on_npshm)
    for test, problem in on_cdxcore.items():
        if problem:
            continue  # what fails on cdxcore itself is not a promise
        if test in KNOWN_DIFFERENCES:
            assert KNOWN_DIFFERENCES[test] in on_npshm[test], (test, on_npshm[test][-2000:])
        else:
            assert on_npshm[test] == "", (test, on_npshm[test][-2000:])


def test_cdxcore_suites_pass_on_cdxcore(suites):
    # The reference run is a real one: if cdxcore fails its own tests here, the comparison above
    # proves little.
    failed = {t: p[-500:] for t, p in suites["cdxcore"].items() if p}
    assert not failed, failed


def test_switched_suite_imports_npshm():
    text = "from cdxcore.npio import _DTYPE_TO_CODE, _CODE_TO_DTYPE, to_file, read_into, from_file\n"
    assert _switch(text) == ("from npshm import to_file, read_into, from_file; "
                             "from cdxcore.npio import _DTYPE_TO_CODE, _CODE_TO_DTYPE\n")
    with pytest.raises(AssertionError, match="lacks"):
        _switch("from cdxcore.npio import read_from_file_that_npshm_lacks\n")


# ---- SharedArray's README, statement by statement ---------------------------------------------
# SharedArray 3.2.4's sdist has no tests; its README's example and its function, constant and
# base-object sections make these promises, run here on npshm with ``import npshm as sa``.


def test_sharedarray_readme_example(names):
    sa = npshm
    name = names("readme")
    # "Create an array in shared memory."
    a = sa.create("shm://" + name, 10)
    # "Attach it as a different array."
    b = sa.attach("shm://" + name)
    # "See how they are actually sharing the same memory."
    a[0] = 42
    assert b[0] == 42
    # "Destroying a does not affect b."
    del a
    gc.collect()
    assert b[0] == 42
    # "test" is still present in shared memory even though we destroyed the array a
    assert name.encode() in [d[0] for d in sa.list()]
    # "Now destroy the array "test" from memory."
    sa.delete(name)
    assert name.encode() not in [d[0] for d in sa.list()]
    # "The array b is still there"
    assert b[0] == 42


def test_sharedarray_readme_create(names, tmp_path):
    sa = npshm
    # "shape and dtype ... identical to those of numpy.zeros(), and the returned array is indeed
    # initialized to zeros"; dtype defaults to float
    for shape, dtype in [(5, None), ((2, 3), np.int16), ([4], "f4"), ((), np.complex64)]:
        n = names("create")
        a = sa.create(n, shape) if dtype is None else sa.create(n, shape, dtype)
        z = np.zeros(shape) if dtype is None else np.zeros(shape, dtype)
        assert a.shape == z.shape and a.dtype == z.dtype and not a.any()
    # "file://" backs it with a file, "shm://" (or no prefix) with POSIX shared memory
    n = names("prefix")
    sa.create(n, 3)
    assert os.path.exists("/dev/shm/" + n)
    path = tmp_path / "backing"
    f = sa.create(f"file://{path}", 3)
    f[:] = 7
    assert path.exists() and sa.attach(f"file://{path}").tolist() == [7, 7, 7]
    # "won't be lost when the numpy array is deleted, nor when the python interpreter exits"
    n = names("survives")
    subprocess.run([sys.executable, "-c", f"import npshm as sa; sa.create({n!r}, 4)[:] = 3"], check=True)
    assert sa.attach(n).tolist() == [3, 3, 3, 3]
    sa.delete(f"file://{path}")


def test_sharedarray_readme_attach_and_delete(names):
    sa = npshm
    n = names("attach")
    a = sa.create(n, 3, np.int32)
    # "The optional parameter ro indicates that the array shall be attached read-only."
    r = sa.attach(n, ro=True)
    assert not r.flags.writeable
    with pytest.raises(ValueError):
        r[0] = 1
    # "An array may be simultaneously attached from multiple different processes"
    code = f"import npshm as sa; a = sa.attach({n!r}); a[1] = 5"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert a[1] == 5 and r[1] == 5
    # delete: "the array will not be attachable anymore, but existing attachments will remain
    # valid"
    sa.delete(n)
    with pytest.raises(OSError):  # SharedArray raises OSError; npshm FileNotFoundError, one
        sa.attach(n)
    a[2] = 9
    assert r[2] == 9


def test_sharedarray_readme_base_object(names, tmp_path):
    sa = npshm
    n = names("base")
    a = sa.create("shm://" + n, (4, 4), np.float64)
    base = a.base
    # "name: ... the name of the array as passed to SharedArray.create() or SharedArray.attach().
    # It may be passed to SharedArray.delete()."
    assert base.name == "shm://" + n
    assert sa.attach(n).base.name == n
    # "addr: Base address of the array in memory"; "size: Size of the array in memory"
    assert base.addr == a.__array_interface__["data"][0]
    assert base.size >= a.nbytes
    # msync(flags), mlock(), munlock() methods, and the module's MS_* constants
    for flags in (sa.MS_SYNC, sa.MS_ASYNC, sa.MS_SYNC | sa.MS_INVALIDATE):
        base.msync(flags)
    try:
        base.mlock()
        base.munlock()
    except OSError as e:  # a limit of the machine (RLIMIT_MEMLOCK), not of the API
        assert e.errno in (12, 1), e
    sa.delete(base.name)
    assert not os.path.exists("/dev/shm/" + n)


def test_sharedarray_readme_list(names):
    sa = npshm
    n = names("list")
    sa.create(n, (2, 5), np.float32)
    # "returns a list of previously created arrays ... along with their name, data type and
    # dimensions"
    entry = next(d for d in sa.list() if d.name == n.encode())
    name, dtype, dims = entry
    assert (name, dtype, dims) == (n.encode(), np.float32, (2, 5))
    assert dtype is np.float32  # the scalar type, as SharedArray gives it


def test_sharedarray_foreign_segment_is_oserror(names):
    # SharedArray raises OSError ("No SharedArray at this address") for a segment that is not
    # its own; npshm's FormatError is that OSError, and the ValueError npshm raised before.
    n = names("foreign")
    with open("/dev/shm/" + n, "wb") as f:
        f.write(b"\x01" * 4096)
    for attach in (npshm.attach, npshm.attach_shared_array):
        with pytest.raises(OSError) as e:
            attach(n)
        assert isinstance(e.value, npshm.FormatError) and isinstance(e.value, ValueError)
        assert e.value.filename == n and e.value.errno is not None
    assert os.path.exists("/dev/shm/" + n)  # and never deleted
