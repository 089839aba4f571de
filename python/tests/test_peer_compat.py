"""The Python surface matches the installed peers, cdxcore 0.1.96 and SharedArray 3.2.4 (issue 9,
"Match the installed peers"): cdxcore's keywords (track, unlink, verbose; buffering,
cont_block_size_mb), its read_into, the errors both camps catch (FormatError), and signatures
compared with cdxcore's own. docs/PYTHON.md, "Keywords of cdxcore", says what each keyword means
here."""

from __future__ import annotations

import errno
import gc
import inspect
import logging
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import npshm


def _exists(name: str) -> bool:
    return os.path.exists("/dev/shm/" + name)


# ---- signatures, against the installed cdxcore -------------------------------------------------


def _cdxcore(module: str):
    try:
        return __import__(f"cdxcore.{module}", fromlist=["_"])
    except ImportError as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"cdxcore is not installed ({e}); build.sh installs it")


@pytest.mark.parametrize("module, fn", [
    ("npshm", "create_shared_array"), ("npshm", "attach_shared_array"), ("npshm", "read_shared_array"),
    ("npshm", "delete_shared_array"), ("npio", "to_file"), ("npio", "from_file"), ("npio", "read_into"),
])
def test_every_cdxcore_parameter_is_accepted_alike(module, fn):
    theirs = inspect.signature(getattr(_cdxcore(module), fn)).parameters
    ours = inspect.signature(getattr(npshm, fn)).parameters
    positional = [p.name for p in theirs.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in ours.values() if p.kind is p.POSITIONAL_OR_KEYWORD][:len(positional)] == positional
    for name, p in theirs.items():
        assert name in ours, f"{fn}: cdxcore's {name!r} is missing"
        q = ours[name]
        assert q.kind == p.kind, (fn, name, q.kind, p.kind)
        assert q.default == p.default or (q.default is None and p.default is None), (fn, name, q.default, p.default)


# ---- track, unlink, verbose --------------------------------------------------------------------


def test_unlink_deletes_the_name_when_the_array_goes(names):
    n = names("unlink")
    a = npshm.create_shared_array(n, (4,), np.int32, unlink=True)
    v = a[1:]  # a view keeps the array (and the name) alive, as in cdxcore
    del a
    gc.collect()
    assert _exists(n)
    del v
    gc.collect()
    assert not _exists(n)
    # on attach too
    m = names("unlink-attach")
    npshm.create(m, 3)
    b = npshm.attach_shared_array(m, unlink=True)
    assert _exists(m)
    del b
    gc.collect()
    assert not _exists(m)


def test_unlink_never_deletes_a_replacement(names):
    n = names("unlink-replaced")
    a = npshm.create_shared_array(n, (4,), np.int32, unlink=True)
    b = npshm.create_shared_array(n, (2,), np.int8, force=True)  # another array under the name
    del a
    gc.collect()
    assert npshm.attach_shared_array(n, validate_shape=(2,)) is not None
    del b


def test_unlink_of_read_shared_array(names, tmp_path):
    n = names("unlink-read")
    npshm.to_file(tmp_path / "a.npio", np.arange(3))
    a = npshm.read_shared_array(tmp_path / "a.npio", n, unlink=True)
    assert a.tolist() == [0, 1, 2] and _exists(n)
    del a
    gc.collect()
    assert not _exists(n)


TRACK_CHILD = textwrap.dedent(
    """
    import sys, numpy as np, npshm
    mine, theirs = sys.argv[1], sys.argv[2]
    npshm.create_shared_array(mine, 3, np.int8, track=True)
    npshm.attach_shared_array(theirs, track=True)  # not created here: never deleted by this process
    print(npshm._scratch._reaper.pid, flush=True)
    """
)


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    pytest.fail(f"the reaper {pid} did not finish")


def test_track_deletes_at_exit_what_this_process_created(names):
    mine, theirs = names("track-mine"), names("track-theirs")
    npshm.create(theirs, 2)
    r = subprocess.run([sys.executable, "-c", TRACK_CHILD, mine, theirs], capture_output=True, text=True, check=True)
    _wait_gone(int(r.stdout))
    assert not _exists(mine)  # created with track=True: gone when its creator exited
    assert _exists(theirs)  # attached with track=True: not that process's to delete


TRACK_PEER_CHILD = textwrap.dedent(
    """
    import os, signal, subprocess, sys, numpy as np, npshm
    fmt, mine, replaced, how = sys.argv[1:5]
    npshm.create_shared_array(mine, 3, np.int16, track=True, format=fmt)
    npshm.create_shared_array(replaced, 3, np.int16, track=True, format=fmt)
    # another process puts another file under the name: not the one made here
    subprocess.run([sys.executable, "-c", "import sys, npshm; npshm.create_shared_array(sys.argv[1], 2, "
                    "'i1', force=True, format=sys.argv[2])", replaced, fmt], check=True)
    print(npshm._scratch._reaper.pid, flush=True)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("fmt", ["sharedarray", "cdxcore"])
@pytest.mark.parametrize("how", ["exit", "kill"])
def test_track_deletes_at_exit_what_this_process_created_in_a_peer_format(names, fmt, how):
    # A peer's segment records no creator: the reaper deletes the very file the create made, and
    # never a file made under the name afterwards.
    mine, replaced = names(f"track-{fmt}"), names(f"track-{fmt}-replaced")
    r = subprocess.run([sys.executable, "-c", TRACK_PEER_CHILD, fmt, mine, replaced, how],
                       capture_output=True, text=True)
    assert r.returncode == (-9 if how == "kill" else 0), r.stderr
    _wait_gone(int(r.stdout))
    assert not _exists(mine)
    assert _exists(replaced)


def test_reaper_never_deletes_an_npshm_array_another_process_made_on_a_reused_inode(names):
    # A peer's segment is registered by (st_dev, st_ino). On a disk filesystem (a file:// path,
    # NPSHM_DIR on ext4) a deleted file's inode number goes to the next new file at once: the
    # registration may then name an npshm array another process made, whose header says so.
    n = names("reaper-reused-ino")
    npshm.create(n, 3)  # its creator is this process
    path = npshm._scratch._path_of(n)
    st = os.stat(path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # the registering process, exited
    gone.wait()
    reaper = os.path.join(os.path.dirname(os.path.abspath(npshm.__file__)), "_reaper.py")
    line = b"%s %d %d\n" % (path.hex().encode("ascii"), st.st_dev, st.st_ino)
    subprocess.run([sys.executable, "-I", "-S", reaper, str(gone.pid)], input=line, check=True, timeout=60)
    assert _exists(n)


def test_lifetime_keywords_are_checked_before_anything_is_made(names):
    n = names("bad-track")
    for kw in ({"track": "yes"}, {"track": 1}, {"unlink": None}, {"unlink": "no"}):
        with pytest.raises(TypeError, match=next(iter(kw))):
            npshm.create_shared_array(n, 3, np.int8, **kw)
        assert not _exists(n)
    npshm.create(n, 3)
    with pytest.raises(TypeError, match="unlink"):
        npshm.attach_shared_array(n, unlink=1)
    assert npshm.create_shared_array(names("np-bool"), 1, np.int8, unlink=np.bool_(False)) is not None


class _Context:
    """cdxcore.verbose.Context's part that cdxcore.npshm uses: write()."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, message: str) -> None:
        self.lines.append(message)


def test_verbose_reports_to_a_context_or_the_log(names, caplog, tmp_path):
    ctx = _Context()
    n = names("verbose")
    npshm.create_shared_array(n, 3, np.int8, verbose=ctx)
    npshm.attach_shared_array(n, verbose=ctx)
    npshm.to_file(tmp_path / "v.npio", np.arange(2))
    npshm.read_shared_array(tmp_path / "v.npio", names("verbose-read"), verbose=ctx)
    npshm.delete_shared_array(n, verbose=ctx)
    assert [line.split()[0] for line in ctx.lines] == [
        "create_shared_array", "attach_shared_array", "read_shared_array", "delete_shared_array"]
    assert all(repr(n) in line for line in (ctx.lines[0], ctx.lines[1], ctx.lines[3]))
    with caplog.at_level(logging.INFO, logger="npshm"):
        m = names("verbose-log")
        npshm.create_shared_array(m, 3, np.int8, verbose=True)
        npshm.create_shared_array(names("silent"), 3, np.int8, verbose=False)
    assert [r.getMessage() for r in caplog.records if r.name == "npshm"] == [f"create_shared_array {m!r}"]


# ---- buffering, cont_block_size_mb, read_into -------------------------------------------------


def test_buffering_and_block_size_are_validated(tmp_path):
    p = tmp_path / "x.npio"
    a = np.arange(6.0)
    for fn, args in ((npshm.to_file, (p, a)), (npshm.from_file, (p,))):
        if fn is npshm.from_file:
            npshm.to_file(p, a)
        for bad, exc in (("big", TypeError), (1.5, TypeError), (True, TypeError), (-2, ValueError)):
            with pytest.raises(exc, match="buffering"):
                fn(*args, buffering=bad)
        for bad, exc in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)):
            with pytest.raises(exc, match="cont_block_size_mb"):
                fn(*args, cont_block_size_mb=bad)
        for ok in (-1, 0, 1, 8192):
            fn(*args, buffering=ok, cont_block_size_mb=1)
    with pytest.raises(ValueError, match="buffering"):
        npshm.read_shared_array(p, "never-made-buffering", buffering=-7)


def test_non_contiguous_array_written_in_pieces(tmp_path):
    # 3 MiB in pieces of 1 MiB: the same bytes as a whole write, C order
    a = np.arange(3 * (1 << 18) * 2, dtype=np.float32).reshape(-1, 2)[:, 0]
    assert not a.flags.c_contiguous
    with open(tmp_path / "p.npio", "wb") as f:
        npshm.to_file(f, a, cont_block_size_mb=1)
        npshm.to_file(f, a.reshape(-1, 4).T)  # default pieces
    with open(tmp_path / "p.npio", "rb") as f:
        assert np.array_equal(npshm.from_file(f), a)
        assert np.array_equal(npshm.from_file(f), a.reshape(-1, 4).T)
    npshm.to_file(tmp_path / "q.npio", a, cont_block_size_mb=1)  # a path: cdxcore's keyword accepted
    assert np.array_equal(npshm.from_file(tmp_path / "q.npio"), a)


def test_read_into(tmp_path, names):
    src = np.arange(12, dtype=np.int32).reshape(3, 4)
    p = tmp_path / "r.npio"
    npshm.to_file(p, src)
    out = np.zeros((3, 4), np.int32)
    assert npshm.read_into(p, out) is out and np.array_equal(out, src)
    # into a non-contiguous view: only the view changes
    big = np.zeros((3, 8), np.int32)
    npshm.read_into(p, big[:, ::2])
    assert np.array_equal(big[:, ::2], src) and not big[:, 1::2].any()
    # a Fortran-order .npy into a C-order array, and into a shared array
    np.save(tmp_path / "f.npy", np.asfortranarray(src))
    c = np.zeros((3, 4), np.int32)
    npshm.read_into(tmp_path / "f.npy", c)
    assert np.array_equal(c, src)
    shared = npshm.create_shared_array(names("into"), (3, 4), np.int32)
    npshm.read_into(p, shared, read_only=True)
    assert np.array_equal(shared, src) and not shared.flags.writeable
    # a mismatch leaves the array as it was: FormatError, cdxcore's OSError
    keep = np.full((4, 3), 7, np.int32)
    with pytest.raises(OSError) as e:
        npshm.read_into(p, keep)
    assert isinstance(e.value, npshm.FormatError) and e.value.filename == str(p)
    assert (keep == 7).all()
    with pytest.raises(npshm.FormatError, match="int64"):
        npshm.read_into(p, np.zeros((3, 4), np.int64))
    frozen = np.zeros((3, 4), np.int32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        npshm.read_into(p, frozen)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        npshm.read_into(p, [0] * 12)  # type: ignore[arg-type]


# ---- errors both camps catch -------------------------------------------------------------------


def test_format_error_is_both_and_exported():
    assert issubclass(npshm.FormatError, ValueError) and issubclass(npshm.FormatError, OSError)
    assert "FormatError" in npshm.__all__ and npshm.FormatError.__module__ == "npshm"
    e = npshm.FormatError(errno.EBADMSG, "not an npshm array: bad magic", "x")
    assert str(e) == "not an npshm array: bad magic: 'x'" and e.errno == errno.EBADMSG


def test_validation_errors_catch_as_either(tmp_path, names):
    n = names("validate")
    npshm.create_shared_array(n, (2, 3), np.int32)
    for kw in ({"validate_shape": (3, 2)}, {"validate_dtype": np.float32}):
        for exc in (ValueError, OSError):  # cdxcore's attach: ValueError; its from_file: OSError
            with pytest.raises(exc):
                npshm.attach_shared_array(n, **kw)
    p = tmp_path / "v.npio"
    npshm.to_file(p, np.zeros((2, 3), np.int32))
    for exc in (ValueError, OSError):
        with pytest.raises(exc):
            npshm.from_file(p, validate_shape=(3, 2))
        with pytest.raises(exc):
            npshm.read_shared_array(p, n, validate_dtype=np.float32)


def test_bad_file_header_is_a_format_error(tmp_path):
    p = tmp_path / "junk.npio"
    p.write_bytes(b"\xff" * 64)
    with pytest.raises(npshm.FormatError) as e:
        npshm.from_file(p)
    assert e.value.filename == str(p)


# ---- against the installed SharedArray ---------------------------------------------------------


def _sharedarray():
    try:
        import SharedArray
    except ImportError as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"SharedArray is not installed ({e}); build.sh installs it")
    return SharedArray


def test_sharedarray_and_npshm_agree(names):
    SharedArray = _sharedarray()
    theirs, ours = names("sa-theirs"), names("sa-ours")
    for lib, n in ((SharedArray, theirs), (npshm, ours)):
        a = lib.create("shm://" + n, (2, 3), np.float32)
        assert a.base.name == "shm://" + n, lib  # the name as passed
        assert lib.attach(n).base.name == n
    t = next(d for d in SharedArray.list() if d[0] == theirs.encode())
    o = next(d for d in npshm.list() if d[0] == ours.encode())
    assert (t[1], t[2]) == (o[1], o[2]) == (np.float32, (2, 3))
    assert type(t[1]) is type(o[1]) and t[1] is o[1]  # the scalar type itself
    # a segment that is not its own: SharedArray's OSError, which npshm's FormatError is
    junk = names("sa-junk")
    with open("/dev/shm/" + junk, "wb") as f:
        f.write(b"\x02" * 4096)
    with pytest.raises(OSError) as e_theirs:
        SharedArray.attach(junk)
    with pytest.raises(OSError) as e_ours:
        npshm.attach(junk)
    assert type(e_theirs.value) is OSError and isinstance(e_ours.value, npshm.FormatError)
    SharedArray.delete(theirs)
