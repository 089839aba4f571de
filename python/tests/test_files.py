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
        results = [out.get(timeout=60) for _ in range(n)]
        for p in procs:
            p.join(30)
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
    deadline = time.monotonic() + 30
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
    assert time.monotonic() - t < 20
    assert not os.path.exists("/dev/shm/.npshm-lock-" + name)


def test_ctrl_c_stops_the_load(tmp_path, names):
    path = tmp_path / "sparse.npio"
    _sparse(path, 1 << 30)  # 1 GiB of zeros
    for attempt in range(3):
        name = names("sigint")
        p = subprocess.Popen([sys.executable, "-c", LOADER, str(path), name], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "start"
        lock = "/dev/shm/.npshm-lock-" + name
        deadline = time.monotonic() + 20
        while not os.path.exists(lock) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        p.send_signal(signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            pytest.fail("Ctrl+C did not stop the load: the process hangs")
        if out.strip() == "loaded":  # the load finished before the signal: try again
            npshm.delete_shared_array(name)
            continue
        assert out.strip() == "interrupted" and p.returncode == 7
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
