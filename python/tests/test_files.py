"""read_shared_array, to_file and from_file: the shared file vectors (tests/vectors/files, written
by the real cdxcore.npio.to_file and numpy.save), interoperation with cdxcore and numpy, errors,
many processes loading one name at once, a loader killed half-way, and Ctrl+C during a load."""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

import npshm

sys.path.insert(0, os.path.dirname(__file__))
from _timing import seconds  # noqa: E402

FILES = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "files"


def manifest():
    out = []
    for line in (FILES / "MANIFEST").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split(" ", 9)
        if f[1] == "ERR":
            out.append(dict(file=f[0], ok=False, eof=f[3] == "EOF"))
        else:
            shape = () if f[4] == "-" else tuple(int(d) for d in f[4].split(","))
            out.append(dict(file=f[0], ok=True, fmt=f[2], shape=shape, itemsize=int(f[5]), nbytes=int(f[6]),
                            fortran=f[7] == "1", crc=int(f[8], 16), descr=f[9]))
    return out


VECTORS = manifest()


def nothing_left(name):
    assert not os.path.exists("/dev/shm/" + name)
    assert not os.path.exists("/dev/shm/.npshm-lock-" + name)


@pytest.mark.parametrize("v", VECTORS, ids=[v["file"] for v in VECTORS])
def test_vectors(v, names):
    name = names("vec")
    path = FILES / v["file"]
    if not v["ok"]:
        with pytest.raises(EOFError if v["eof"] else ValueError):
            npshm.read_shared_array(path, name)
        with pytest.raises(EOFError if v["eof"] else ValueError):  # the same parser
            npshm.from_file(path)
        assert npshm.read_shared_array(path, name, raise_on_error=False) is None
        nothing_left(name)
        return
    a, attached = npshm.read_shared_array(path, name, return_status=True)
    assert attached is False and npshm.is_shared_array(a)
    assert a.shape == v["shape"] and a.itemsize == v["itemsize"] and a.nbytes == v["nbytes"]
    assert bool(a.flags.f_contiguous and not a.flags.c_contiguous) == v["fortran"]
    raw = bytes(a.base) if a.ndim else a.tobytes()
    assert zlib.crc32(raw) == v["crc"]
    if v["fmt"] == "npy":
        ref = np.load(path, allow_pickle=False)
        assert a.dtype == ref.dtype
        np.testing.assert_array_equal(a.view(np.uint8) if a.dtype.names else a, ref.view(np.uint8) if a.dtype.names else ref)
    b, attached = npshm.read_shared_array(path, name, return_status=True, read_only=True)
    assert attached is True and not b.flags.writeable
    # In-process reading gives the same array.
    c = npshm.from_file(path)
    assert c.dtype == a.dtype and c.shape == a.shape and c.tobytes() == a.tobytes()
    assert not os.path.exists("/dev/shm/.npshm-lock-" + name)


def test_open_file_and_several_records(tmp_path, names):
    path = tmp_path / "two.npio"
    x, y = np.arange(10, dtype=np.int32), np.linspace(0, 1, 7)
    with open(path, "wb") as f:
        npshm.to_file(f, x)
        npshm.to_file(f, y)
    with open(path, "rb") as f:
        a = npshm.read_shared_array(f, names("a"))
        b = npshm.read_shared_array(f, names("b"))
        assert f.read() == b""
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, y)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(npshm.from_file(f), x)
        np.testing.assert_array_equal(npshm.from_file(f), y)


def test_errors(tmp_path, names):
    name = names("err")
    path = tmp_path / "a.npio"
    npshm.to_file(path, np.arange(6.0).reshape(2, 3))
    with pytest.raises(FileNotFoundError):
        npshm.read_shared_array(tmp_path / "missing.npio", name)
    with pytest.raises(ValueError):
        npshm.read_shared_array(path, name, validate_shape=(3, 2))
    with pytest.raises(ValueError):
        npshm.read_shared_array(path, name, validate_dtype=np.float32)
    nothing_left(name)
    a = npshm.read_shared_array(path, name, validate_shape=(2, 3), validate_dtype=np.float64)
    with pytest.raises(FileExistsError):
        npshm.read_shared_array(path, name, accept_existing=False)
    assert npshm.read_shared_array(path, name, accept_existing=False, raise_on_error=False) is None
    # an existing array must match the file
    other = tmp_path / "b.npio"
    npshm.to_file(other, np.arange(5))
    with pytest.raises(ValueError):
        npshm.read_shared_array(other, name)
    # with both validations the file is not needed to attach
    b = npshm.read_shared_array(tmp_path / "gone", name, validate_shape=(2, 3), validate_dtype="float64")
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError):
        npshm.read_shared_array(3.5, name)


def test_to_file_refusals(tmp_path):
    for dt in ["uint8", ">i4", "datetime64[ns]", "S3", [("a", "f8")]]:
        with pytest.raises(ValueError):
            npshm.to_file(tmp_path / "x.npio", np.zeros(3, dtype=dt))
    assert not list(tmp_path.iterdir())


def test_to_file_layouts(tmp_path):
    a = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    npshm.to_file(tmp_path / "f.npio", a)
    np.testing.assert_array_equal(npshm.from_file(tmp_path / "f.npio"), a)
    s = np.arange(20.0)[::3]
    npshm.to_file(tmp_path / "s.npio", s)
    np.testing.assert_array_equal(npshm.from_file(tmp_path / "s.npio"), s)
    g = np.zeros(4, dtype="M8")
    npshm.to_file(tmp_path / "g.npio", g)
    assert npshm.from_file(tmp_path / "g.npio").dtype == np.dtype("<M8")


def test_cdxcore_interop(tmp_path, names):
    npio = pytest.importorskip("cdxcore.npio")
    for dt in ["bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64", "float16",
               "float32", "float64", "complex64", "complex128"]:
        a = (np.arange(24) % 7).astype(dt).reshape(2, 3, 4)
        npshm.to_file(tmp_path / "ours.npio", a)
        b = npio.from_file(str(tmp_path / "ours.npio"))
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(a, b)
        assert (tmp_path / "ours.npio").read_bytes() == _cdx_bytes(npio, tmp_path, a)
        npio.to_file(str(tmp_path / "theirs.npio"), a)
        c = npshm.read_shared_array(tmp_path / "theirs.npio", names("cdx"))
        np.testing.assert_array_equal(a, c)


def _cdx_bytes(npio, tmp_path, a):
    npio.to_file(str(tmp_path / "ref.npio"), a)
    return (tmp_path / "ref.npio").read_bytes()


def test_numpy_save_interop(tmp_path, names):
    for a in [np.arange(12.0).reshape(3, 4), np.asfortranarray(np.ones((3, 5), "f4")),
              np.array([b"ab", b"c"], "S2"), np.arange(4).astype(">i8")]:
        buf = io.BytesIO()
        np.save(buf, a)
        (tmp_path / "a.npy").write_bytes(buf.getvalue())
        b = npshm.read_shared_array(tmp_path / "a.npy", names("npy"))
        assert b.dtype == a.dtype and b.flags.f_contiguous == a.flags.f_contiguous
        np.testing.assert_array_equal(a, b)


# ---- one codec: libnpshm's, for every entry point ---------------------------------------------


@pytest.mark.parametrize("a", [
    np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(15, dtype=np.int16).reshape(3, 5)),
    np.arange(7, dtype=np.uint8), np.array(3.5), np.zeros((0, 3), ">i4"), np.array([b"ab", b"c"], "S2"),
    np.zeros(3, [("x", "<f4"), ("y", "u1", (2,))]), np.arange(20.0)[::3],
], ids=["f8", "fortran", "u1", "0-d", "empty", "S2", "struct", "strided"])
def test_to_file_writes_npy_by_suffix(tmp_path, a):
    # .npy by the path's suffix, as C and Go decide it (libnpshm's npshm_file_format): the bytes
    # numpy.save writes.
    npshm.to_file(tmp_path / "ours.npy", a)
    np.save(tmp_path / "numpy.npy", a)
    assert (tmp_path / "ours.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()
    b, ref = npshm.from_file(tmp_path / "ours.npy"), np.load(tmp_path / "numpy.npy")
    assert b.dtype == a.dtype and b.shape == a.shape and b.tobytes() == a.tobytes()
    assert (b.flags.c_contiguous, b.flags.f_contiguous) == (ref.flags.c_contiguous, ref.flags.f_contiguous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numpy.npy", "ours.npy"]


def _npy(tmp_path, dict_text: str, data: bytes = b"\0" * 24, version: int = 1) -> Path:
    text = dict_text.encode("latin1") + b"\n"
    pre = b"\x93NUMPY" + bytes([version, 0]) + len(text).to_bytes(2 if version == 1 else 4, "little")
    p = tmp_path / f"case-{abs(hash(dict_text))}.npy"
    p.write_bytes(pre + text + data)
    return p


def _both_refuse(path, names, exc) -> None:
    """from_file and read_shared_array give the same refusal: one parser serves both."""
    with pytest.raises(exc) as e1:
        npshm.from_file(path)
    name = names("parser")
    with pytest.raises(exc) as e2:
        npshm.read_shared_array(path, name)
    nothing_left(name)
    msg1, msg2 = str(e1.value).split(": ", 1)[1], str(e2.value).split(": ", 1)[1]
    # read_shared_array's message names the file too (the library's names only the array)
    # (a FormatError, an OSError too, names them as OSError does: file -> array)
    assert msg2 in (msg1, f"{msg1} (file {str(path)!r})", f"{msg1} -> {name!r}"), (msg1, msg2)
    assert str(path) in msg2


def test_one_parser_for_every_entry_point(tmp_path, names):
    # Issue 8, item 10. An npio header claiming 1 TiB in a tiny file: truncated (EOFError), and
    # no memory asked for (it was a MemoryError).
    huge = tmp_path / "huge.npio"
    huge.write_bytes((16).to_bytes(4, "big") + bytes([1]) + (1).to_bytes(3, "big") + (1 << 40).to_bytes(8, "big") + b"x")
    _both_refuse(huge, names, EOFError)
    # Corrupt .npy dicts are ValueError (a float dimension was a TypeError).
    for text in ["{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,), }",
                 "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (3,), }",
                 "{'descr': '<f8', 'fortran_order': False, 'fortran_order': False, 'shape': (3,), }",
                 "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 0), }"]:
        _both_refuse(_npy(tmp_path, text), names, ValueError)
    # A header of 200 MB: refused as too long, not read into memory (a sparse file).
    big = tmp_path / "bighead.npy"
    with open(big, "wb") as f:
        f.write(b"\x93NUMPY\x02\x00" + (200 << 20).to_bytes(4, "little") + b"{'descr': '<f8', ")
        f.truncate(12 + (200 << 20) + 64)
    _both_refuse(big, names, ValueError)
    # The same claim in a short file is a truncated file.
    short = tmp_path / "shorthead.npy"
    short.write_bytes(b"\x93NUMPY\x02\x00" + (200 << 20).to_bytes(4, "little") + b"{'descr': '<f8', ")
    _both_refuse(short, names, EOFError)


def test_from_file_validates_before_reading(tmp_path):
    path = tmp_path / "a.npy"
    npshm.to_file(path, np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="dtype"):
        npshm.from_file(path, validate_dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        npshm.from_file(path, validate_shape=(3, 2))
    a = npshm.from_file(path, validate_dtype="f8", validate_shape=(2, 3), read_only=True)
    assert not a.flags.writeable and a.sum() == 15
    with pytest.raises(TypeError, match="fileno"):
        npshm.from_file(io.BytesIO(path.read_bytes()))
    with pytest.raises(FileNotFoundError):
        npshm.from_file(tmp_path / "missing.npy")


def test_open_files_interoperate_with_cdxcore(tmp_path, names):
    # cdxcore's to_file and from_file on an open file, several arrays one after another, both ways.
    npio = pytest.importorskip("cdxcore.npio")
    arrays = [np.arange(10, dtype=np.int32), np.linspace(0, 1, 7), np.asfortranarray(np.ones((2, 3), "f4")),
              np.arange(20.0)[::4], np.array(7, dtype=np.int64), np.zeros((0, 2), np.uint16)]
    ours, theirs = tmp_path / "ours.npio", tmp_path / "theirs.npio"
    with open(ours, "wb") as f:
        for a in arrays:
            npshm.to_file(f, a)
    with open(theirs, "wb") as f:
        for a in arrays:
            npio.to_file(f, np.ascontiguousarray(a) if a.ndim else a)  # it refuses other layouts
    assert ours.read_bytes() == theirs.read_bytes()
    with open(ours, "rb") as f:
        for a in arrays:
            b = npio.from_file(f)
            assert b.dtype == a.dtype and np.array_equal(a, b)
    with open(theirs, "rb") as f:
        for i, a in enumerate(arrays):
            b = npshm.from_file(f) if i % 2 else npshm.read_shared_array(f, names("cdxrec"))
            assert b.dtype == a.dtype and np.array_equal(a, b)
        assert f.read() == b""
    with open(theirs, "rb") as f:  # a file descriptor works as a file object does
        fd = f.fileno()
        for a in arrays:
            assert np.array_equal(npshm.from_file(fd), a)


WRITER = textwrap.dedent("""
    import os, sys
    import numpy as np, npshm
    path, forked = sys.argv[1], sys.argv[2] == "1"
    a = np.arange(1 << 21, dtype=np.int64)
    npshm.list()  # the library is in use before any fork
    if forked:
        pid = os.fork()
        if pid == 0:  # the library's C path
            npshm.to_file(path, a)
            os._exit(0)
        print(pid, flush=True)
        os.waitpid(pid, 0)
    else:
        print(os.getpid(), flush=True)
        npshm.to_file(path, a)
""")


def _stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("forked", [False, True], ids=["go-core", "c-path"])
@pytest.mark.parametrize("point", ["write", "replace-rename"])
def test_killed_to_file_leaves_only_what_clean_temporaries_removes(tmp_path, point, forked):
    # Issue 8, item 9: a SIGKILLed to_file left a mkstemp name nobody removed. Now half written it
    # has no name at all (O_TMPFILE; else .npshm-tmp-<pid>-...), and named before its rename it is
    # .npshm-tmp-<pid>-..., which clean_temporaries removes once the writer is dead.
    path = tmp_path / "big.npio"
    env = dict(os.environ, NPSHM_TEST_PAUSE=point)
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "1" if forked else "0"], env=env,
                         stdout=subprocess.PIPE, text=True)
    try:
        writer = int(p.stdout.readline())
        deadline = time.monotonic() + seconds(30)
        while not _stopped(writer):
            assert time.monotonic() < deadline, "the writer never paused"
            time.sleep(0.005)
        assert not path.exists()
        left = [f.name for f in tmp_path.iterdir()]
        assert all(f.startswith(f".npshm-tmp-{writer}-") for f in left), left
        if point == "replace-rename":
            assert len(left) == 1
        assert npshm.clean_temporaries(tmp_path) == 0, "removed a live writer's file"
        os.kill(writer, signal.SIGKILL)
    finally:
        p.kill()
        p.wait(seconds(30))
    while os.path.exists(f"/proc/{writer}"):
        time.sleep(0.002)
    assert npshm.clean_temporaries(tmp_path) == len(left)
    assert list(tmp_path.iterdir()) == []


# ---- many processes at once ---------------------------------------------------------------


def _race_worker(path, name, barrier, out):
    barrier.wait()
    a, attached = npshm.read_shared_array(path, name, return_status=True, read_only=True)
    ok = a.shape == (1 << 21,) and a[0] == 0 and a[-1] == (1 << 21) - 1 and a[::4099].tolist() == list(range(0, 1 << 21, 4099))
    out.put((attached, bool(ok)))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_many_processes_one_loader(tmp_path, names, method):
    path = tmp_path / "big.npio"
    npshm.to_file(path, np.arange(1 << 21, dtype=np.int64))
    ctx = mp.get_context(method)
    for _ in range(2):
        name = names("race")
        n = 8
        barrier, out = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_race_worker, args=(str(path), name, barrier, out)) for _ in range(n)]
        for p in procs:
            p.start()
        results = [out.get(timeout=seconds(60)) for _ in range(n)]
        for p in procs:
            p.join(seconds(30))
            assert p.exitcode == 0
        assert all(ok for _, ok in results), "a process saw a partly filled array"
        assert sorted(att for att, _ in results) == [False] + [True] * (n - 1)
        assert not os.path.exists("/dev/shm/.npshm-lock-" + name)
        npshm.delete_shared_array(name)


# ---- crash and Ctrl+C -----------------------------------------------------------------------

LOADER = textwrap.dedent("""
    import signal, sys, npshm
    # Ctrl+C raises KeyboardInterrupt even if this process was started with SIGINT ignored (as a
    # background job of a non-interactive shell is, a CI runner's for one).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("start", flush=True)
    try:
        npshm.read_shared_array(sys.argv[1], sys.argv[2])
        print("loaded", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(7)
""")


def _sparse(path, size):
    with open(path, "wb") as f:
        f.write((16).to_bytes(4, "big") + bytes([1]) + (1).to_bytes(3, "big") + (size).to_bytes(8, "big"))
        f.truncate(16 + size)


def test_killed_loader_leaves_nothing(tmp_path, names):
    path = tmp_path / "big.npio"
    npshm.to_file(path, np.arange(1 << 22, dtype=np.int64))
    name = names("killed")
    env = dict(os.environ, NPSHM_TEST_PAUSE="load")
    p = subprocess.Popen([sys.executable, "-c", LOADER, str(path), name], env=env, stdout=subprocess.PIPE)
    deadline = time.monotonic() + seconds(30)
    while time.monotonic() < deadline:  # stopped at the pause point, half filled
        state = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            break
        time.sleep(0.01)
    assert state == "T"
    assert not os.path.exists("/dev/shm/" + name)
    with pytest.raises(FileNotFoundError):
        npshm.attach_shared_array(name)
    p.kill()
    p.wait()
    t = time.monotonic()
    a, attached = npshm.read_shared_array(path, name, return_status=True)
    assert not attached and a[-1] == (1 << 22) - 1
    assert time.monotonic() - t < seconds(20)
    assert not os.path.exists("/dev/shm/.npshm-lock-" + name)


def test_ctrl_c_stops_the_load(tmp_path, names):
    path = tmp_path / "sparse.npio"
    _sparse(path, 1 << 30)  # 1 GiB of zeros
    for attempt in range(3):
        name = names("sigint")
        p = subprocess.Popen([sys.executable, "-c", LOADER, str(path), name], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "start"
        lock = "/dev/shm/.npshm-lock-" + name
        deadline = time.monotonic() + seconds(20)
        while not os.path.exists(lock) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        p.send_signal(signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=seconds(20))
        except subprocess.TimeoutExpired:
            p.kill()
            pytest.fail("Ctrl+C did not stop the load: the process hangs")
        if out.strip() == "loaded":  # the load finished before the signal: try again
            npshm.delete_shared_array(name)
            continue
        assert out.strip() == "interrupted" and p.returncode == 7
        if os.path.exists("/dev/shm/" + name):
            # The signal came once the load was complete (published, then interrupted on its way
            # back to the caller): too late to cancel, like a Ctrl+C after any finished call. The
            # array is whole (only a complete one is published); try again. Slow machines (qemu)
            # land here often.
            assert npshm.attach_shared_array(name, validate_shape=(1 << 30,)).dtype == np.int8
            npshm.delete_shared_array(name)
            continue
        nothing_left(name)
        leftovers = [f for f in os.listdir("/dev/shm") if f.startswith(".npshm-tmp-")]
        assert not any(f.startswith(f".npshm-tmp-{p.pid}-") for f in leftovers)
        return
    pytest.fail("every load finished before SIGINT arrived")


def test_gil_released_while_loading(tmp_path, names):
    path = tmp_path / "sparse.npio"
    _sparse(path, 1 << 29)
    ticks = 0
    done = threading.Event()

    def spin():
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        start = time.perf_counter()
        npshm.read_shared_array(path, names("gil"))
        elapsed = time.perf_counter() - start
    finally:
        done.set()
        t.join()
    assert ticks > 1000 * max(elapsed, 0.01), (ticks, elapsed)


def test_existing_array_attached_without_a_loader_thread(tmp_path, names, monkeypatch):
    # Issue 13: an existing array is attached in the calling thread (the loader thread's start
    # cost ~0.3 ms); the checks of a load still apply (the file's geometry, the owner).
    import _thread

    from npshm import _files

    name = names("attach-first")
    path = tmp_path / "a.npy"
    np.save(path, np.arange(6, dtype=np.int32).reshape(2, 3))
    a, attached = npshm.read_shared_array(path, name, return_status=True)
    assert not attached
    started = []
    real = _thread.start_new_thread
    monkeypatch.setattr(_files._thread, "start_new_thread", lambda f, args: started.append(f) or real(f, args))
    b, attached = npshm.read_shared_array(path, name, return_status=True)
    assert attached and not started
    b[0, 0] = 7
    assert a[0, 0] == 7
    np.save(path, np.zeros(5))
    with pytest.raises(ValueError):  # the file says shape (5,): the existing array does not match
        npshm.read_shared_array(path, name)
    assert not started
