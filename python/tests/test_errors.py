"""Errors are Python's built-in exceptions, of the type Python's own functions raise for the same
failure, and OSErrors carry errno and filename: the name or path the caller passed (for
read_shared_array, the file as filename and the array as filename2). The type of every raise path
of the package: docs/PYTHON.md, "Errors"."""

from __future__ import annotations

import errno
import os
import re

import numpy as np
import pytest

import npshm


def _raises(exc: type[BaseException], fn, *args, **kwargs) -> BaseException:
    with pytest.raises(exc) as e:
        fn(*args, **kwargs)
    assert type(e.value) is exc, f"{type(e.value).__name__}, not {exc.__name__}: {e.value}"
    return e.value


@pytest.mark.parametrize("spell", [str, lambda n: n.encode(), lambda n: "shm://" + n, lambda n: "/" + n])
def test_missing_array_names_what_was_passed(name, spell):
    given = spell(name)
    for fn in (npshm.attach, npshm.attach_shared_array, npshm.delete):
        e = _raises(FileNotFoundError, fn, given)
        assert (e.errno, e.filename, e.filename2) == (errno.ENOENT, given, None)
        assert repr(given) in str(e)  # Python's own "[Errno 2] ...: 'x'"


def test_taken_name_is_file_exists_error_with_the_name(name):
    npshm.create(name, 3)
    for fn in (npshm.create, npshm.create_shared_array):
        e = _raises(FileExistsError, fn, name, 3, np.float64)
        assert (e.errno, e.filename) == (errno.EEXIST, name)


def test_file_array_in_missing_directory(tmp_path):
    given = f"file://{tmp_path}/no/such/dir/a"
    e = _raises(FileNotFoundError, npshm.create, given, 3)
    assert e.filename == given
    e = _raises(FileNotFoundError, npshm.clean_temporaries, tmp_path / "nowhere")
    assert e.filename == str(tmp_path / "nowhere")


def test_read_shared_array_names_the_file_and_the_array(tmp_path, name):
    path = str(tmp_path / "missing.npy")
    e = _raises(FileNotFoundError, npshm.read_shared_array, path, name)
    assert (e.errno, e.filename, e.filename2) == (errno.ENOENT, path, name)
    assert repr(path) in str(e) and repr(name) in str(e)

    e = _raises(IsADirectoryError, npshm.read_shared_array, str(tmp_path), name)
    assert (e.errno, e.filename, e.filename2) == (errno.EISDIR, str(tmp_path), name)

    short = tmp_path / "short.npy"
    np.save(short, np.arange(100.0))
    short.write_bytes(short.read_bytes()[:200])
    e = _raises(EOFError, npshm.read_shared_array, short, name)
    assert str(short) in str(e) and name in str(e)

    good = tmp_path / "good.npy"
    np.save(good, np.arange(3.0))
    npshm.create(name, 4)
    # a mismatch is a FormatError: a ValueError (npshm, cdxcore) and an OSError, with the file
    # and the array as filename and filename2
    e = _raises(npshm.FormatError, npshm.read_shared_array, good, name)
    assert isinstance(e, ValueError) and isinstance(e, OSError)
    assert str(good) in str(e) and name in str(e) and not str(e).startswith("[Errno")
    assert (e.errno, e.filename, e.filename2) == (errno.EINVAL, str(good), name)
    e = _raises(FileExistsError, npshm.read_shared_array, good, name, accept_existing=False)
    assert (e.filename, e.filename2) == (str(good), name)
    assert not os.path.exists("/dev/shm/.npshm-lock-" + name)


def test_file_functions_name_the_path(tmp_path):
    missing = str(tmp_path / "missing.npio")
    e = _raises(FileNotFoundError, npshm.from_file, missing)
    assert (e.errno, e.filename) == (errno.ENOENT, missing)
    e = _raises(IsADirectoryError, npshm.from_file, tmp_path)
    assert e.filename == str(tmp_path)
    nodir = str(tmp_path / "no" / "a.npy")
    e = _raises(FileNotFoundError, npshm.to_file, nodir, np.zeros(3))
    assert e.filename == nodir
    e = _raises(IsADirectoryError, npshm.to_file, tmp_path, np.zeros(3))
    assert e.filename == str(tmp_path)

    short = tmp_path / "short.npio"
    npshm.to_file(short, np.arange(100.0))
    short.write_bytes(short.read_bytes()[:100])
    assert str(short) in str(_raises(EOFError, npshm.from_file, short))
    ok = tmp_path / "ok.npio"
    npshm.to_file(ok, np.arange(3.0))
    # cdxcore's from_file raises OSError (IOError) on a failed validation, npshm's ValueError:
    # FormatError is both, and carries the path
    for kw in ({"validate_dtype": np.int32}, {"validate_shape": (4,)}):
        e = _raises(npshm.FormatError, npshm.from_file, ok, **kw)
        assert isinstance(e, ValueError) and isinstance(e, OSError)
        assert str(ok) in str(e) and e.filename == str(ok) and e.errno == errno.EINVAL
        e = _raises(npshm.FormatError, npshm.read_into, ok, np.empty(4, np.int32))
        assert e.filename == str(ok) and "(4,)" in str(e)
    assert "npio" in str(_raises(ValueError, npshm.to_file, tmp_path / "u8.npio", np.zeros(3, np.uint8)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.npio", "short.npio"]


def _closed_file():
    f = open(__file__, "rb")
    f.close()
    return f


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda n: npshm.create(42, 3), TypeError, "name must be str or bytes, not int"),
    (lambda n: npshm.attach(n + "\0x"), ValueError, "NUL"),
    (lambda n: npshm.create(n + "/x", 3), ValueError, "/"),
    (lambda n: npshm.create(n, "10"), TypeError, "shape"),
    (lambda n: npshm.create(n, (2, -1)), ValueError, "-1"),
    (lambda n: npshm.create(n, 3, object), TypeError, "objects"),
    (lambda n: npshm.create(n, 3, "flaot64"), TypeError, "flaot64"),
    (lambda n: npshm.create(n, 3, mode=0o10000), ValueError, "0o10000"),
    (lambda n: npshm.create(n, 3, mode="0600"), TypeError, ""),
    (lambda n: npshm.create_shared_array(n, 3, np.int8, full=1000), OverflowError, "1000"),
    (lambda n: npshm.create_shared_array(n, (2, 3), float, full=np.zeros(4)), ValueError, "broadcast"),
    (lambda n: npshm.create_shared_array(n, 3, "U3", full=b"\xff"), ValueError, "full=b'\\xff'"),
    (lambda n: npshm.msync(np.zeros(3)), TypeError, "npshm array"),
    (lambda n: npshm.msync(npshm.create(n, 3), 99), ValueError, "flags"),
    (lambda n: npshm.from_file(__import__("io").BytesIO(b"")), TypeError, "BytesIO"),
    (lambda n: npshm.to_file(object(), np.zeros(3)), TypeError, "object"),
    (lambda n: npshm.from_file(_closed_file()), ValueError, "closed file"),
    (lambda n: npshm.clean_temporaries(3.5), TypeError, "float"),
], ids=["name-type", "name-nul", "name-slash", "shape-str", "shape-negative", "dtype-object",
        "dtype-typo", "mode-range", "mode-str", "fill-overflow", "fill-shape", "fill-decode", "msync-not-npshm",
        "msync-flags", "from-bytesio", "to-file-object", "closed-file", "clean-type"])
def test_bad_arguments(name, call, exc, pattern):
    e = _raises(exc, call, name)
    assert re.search(re.escape(pattern), str(e)), str(e)
    # nothing left behind (but the array that msync-flags made on purpose; the fixture deletes it)
    assert pattern == "flags" or not os.path.exists("/dev/shm/" + name)
