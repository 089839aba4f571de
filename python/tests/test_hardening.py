"""Hardening, the Python side: a full /dev/shm, processes killed while publishing, fork with
threads, leaks, foreign and corrupt segments, and other users. (Races: test_hardening_races.py;
the C side: tests/c/test_hardening.c.) NPSHM_HARDENING_ROUNDS and NPSHM_HARDENING_CYCLES scale the
repetitions for the soak run (tests/hardening/soak.py)."""

from __future__ import annotations

import errno
import gc
import os
import random
import shutil
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zlib

import numpy as np
import pytest

import npshm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _forking import exit_code, fork_child  # noqa: E402
from _timing import seconds  # noqa: E402

WORKER = os.path.join(HERE, "_hardening_worker.py")
ROUNDS = int(os.environ.get("NPSHM_HARDENING_ROUNDS", "3"))
CYCLES = int(os.environ.get("NPSHM_HARDENING_CYCLES", "10000"))
ROOT = os.geteuid() == 0


def _temps(pid: int) -> list[str]:
    return [f for f in os.listdir("/dev/shm") if f.startswith(f".npshm-tmp-{pid}-")]


# ---- full /dev/shm -----------------------------------------------------------------------------

NOSPACE_SCRIPT = textwrap.dedent(
    """
    import errno, os, sys
    import numpy as np
    import npshm

    st = os.statvfs("/dev/shm")
    assert st.f_blocks * st.f_frsize <= 4 << 20, "not the private 1 MiB tmpfs"

    def enospc(what, fn):
        try:
            fn()
        except OSError as e:
            assert e.errno == errno.ENOSPC, f"{what}: {e!r}"
        else:
            raise AssertionError(f"{what}: no error")
        assert os.listdir("/dev/shm") == [] or what.startswith("full:"), os.listdir("/dev/shm")

    big = (2 << 20,)
    enospc("create", lambda: npshm.create("big", big, np.uint8))
    enospc("create_shared_array full=", lambda: npshm.create_shared_array("big", (512, 1024), np.float64, full=1.5))
    enospc("create_shared_array force", lambda: npshm.create_shared_array("big", (512, 1024), np.float64, force=True))
    # reserve=False with a fill: the fill writes every page, so the memory is reserved first (a
    # SIGBUS otherwise); so does the command line tool's --fill. A zero fill writes nothing.
    enospc("full= reserve=False", lambda: npshm.create_shared_array("big", big, np.uint8, full=1, reserve=False))
    import subprocess
    r = subprocess.run([sys.executable, "-m", "npshm", "create", "big", str(big[0]), "u1", "--no-reserve",
                        "--fill", "1"], capture_output=True, text=True)
    assert r.returncode == 1 and "no space" in r.stderr.lower() and os.listdir("/dev/shm") == [], (r.returncode, r.stderr)
    z = npshm.create_shared_array("zero", (1 << 30,), np.uint8, full=0, reserve=False)  # 1 GiB: sparse
    assert z.nbytes == 1 << 30 and os.stat("/dev/shm/zero").st_blocks * 512 <= 64 << 10  # the header
    del z
    npshm.delete("zero")
    enospc("file name", lambda: npshm.create("file:///dev/shm/big.arr", big, np.uint8))
    # Loading a file that does not fit (npio: int16, as npio holds no uint8) fails the same way.
    import tempfile
    src = os.path.join(tempfile.mkdtemp(), "big.npio")
    npshm.to_file(src, np.ones((1 << 20,), np.int16))
    enospc("read_shared_array", lambda: npshm.read_shared_array(src, "big"))

    holes = npshm.create_shared_array("holes", (64 << 10,), np.uint8, reserve=False)  # sparse
    # Fill /dev/shm with small arrays until it is full.
    made = []
    while True:
        try:
            made.append(npshm.create_shared_array(f"s{len(made)}", (16384,), np.uint8, full=1))
        except OSError as e:
            assert e.errno == errno.ENOSPC, repr(e)
            break
        assert len(made) < 1000
    assert len(made) >= 20, len(made)
    for a in made:
        a[:] = 2  # every page is reserved: writing never raises SIGBUS
    enospc("full: one more", lambda: npshm.create("one-more", (16384,), np.uint8))
    names = sorted(os.listdir("/dev/shm"))
    assert names == sorted([f"s{i}" for i in range(len(made))] + ["holes"]), names  # nothing half-made

    # Not one page left: an unreserved create still writes its header, whose page it reserves
    # first (it wrote through the mapping and died of SIGBUS). On the C path too, and the tool.
    # Writing an unreserved array's holes to a file, or reading a file into them, fails with a
    # message that says why (it was "bad address").
    fd = os.open("/dev/shm/.filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, bytes(4096))
    except OSError as e:
        assert e.errno == errno.ENOSPC, repr(e)
    os.close(fd)
    enospc("full: reserve=False", lambda: npshm.create_shared_array("sparse", (1 << 20,), np.uint8, reserve=False))

    def unbacked(what, fn):
        try:
            fn()
        except OSError as e:
            assert e.errno == errno.EFAULT and "created unreserved" in str(e), f"{what}: {e!r}"
        else:
            raise AssertionError(f"{what}: no error")

    def holes_to_and_from_files():
        unbacked("to_file", lambda: npshm.to_file(src + ".out.npy", holes))
        np.save(src + ".in.npy", np.ones(holes.shape, np.uint8))
        unbacked("read_into", lambda: npshm.read_into(src + ".in.npy", holes))

    holes_to_and_from_files()
    r = subprocess.run([sys.executable, "-m", "npshm", "create", "sparse", "1048576", "u1", "--no-reserve"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no space" in r.stderr.lower(), (r.returncode, r.stderr)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            enospc("full: forked reserve=False",
                   lambda: npshm.create_shared_array("sparse", (1 << 20,), np.uint8, reserve=False))
            holes_to_and_from_files()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "forked child, reserve=False"
    os.unlink("/dev/shm/.filler")
    assert sorted(os.listdir("/dev/shm")) == names, os.listdir("/dev/shm")  # nothing left

    # Replacing an array when there is no room for the new one keeps the old one.
    enospc("full: replace", lambda: npshm.create_shared_array("s0", (1 << 20,), np.uint8, force=True))
    assert (npshm.attach("s0") == 2).all()

    # A child forked after using the library (the C path) gets ENOSPC too.
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            enospc("full: forked create", lambda: npshm.create("child", big, np.uint8))
            enospc("full: forked create full= reserve=False",
                   lambda: npshm.create_shared_array("child", big, np.uint8, full=1, reserve=False))
            enospc("full: forked load", lambda: npshm.read_shared_array(src, "child"))
            assert sorted(os.listdir("/dev/shm")) == names, os.listdir("/dev/shm")  # no lock, no array
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "forked child"

    # Small arrays still work once there is room.
    del holes
    npshm.delete("holes")
    npshm.delete("s0")
    del made[0]
    c = npshm.create_shared_array("small", (100,), np.int32, full=3)
    assert npshm.attach("small").sum() == 300
    del c
    for i in range(1, len(made) + 1):
        npshm.delete(f"s{i}")
    npshm.delete("small")
    assert os.listdir("/dev/shm") == []
    print("nospace ok", len(made))
    """
)


def test_full_dev_shm_is_enospc_in_a_private_mount_namespace(tmp_path):
    required = os.environ.get("NPSHM_REQUIRE_NOSPACE_TEST") == "1"

    def skip(why: str) -> None:
        if required:
            pytest.fail(f"NPSHM_REQUIRE_NOSPACE_TEST=1 but {why}")
        pytest.skip(why)

    if not ROOT:
        skip("needs root to mount a 1 MiB tmpfs on /dev/shm (unshare -m)")
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        skip("unshare -m is not available here")
    script = tmp_path / "nospace.py"
    script.write_text(NOSPACE_SCRIPT)
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         'mount -t tmpfs -o size=1m,mode=1777 tmpfs /dev/shm || exit 78; exec "$0" "$@"',
         sys.executable, str(script)],
        capture_output=True, text=True, timeout=120,
    )
    if r.returncode == 78:
        skip("cannot mount a tmpfs in a private mount namespace")
    assert r.returncode == 0, f"exit {r.returncode} (-7 is SIGBUS)\n{r.stdout}\n{r.stderr}"
    assert "nospace ok" in r.stdout


# ---- processes killed while publishing ---------------------------------------------------------


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


@pytest.mark.parametrize("forked", [False, True], ids=["go-core", "c-path"])
@pytest.mark.parametrize("point,op", [("create-publish", "create"), ("create-publish", "replace"),
                                      ("replace-rename", "replace")])
def test_killed_while_publishing(name, point, op, forked):
    old = None
    if op == "replace":
        old = npshm.create_shared_array(name, (10,), np.int16, full=-3)
    for _ in range(ROUNDS):
        env = dict(os.environ, NPSHM_TEST_PAUSE=point)
        proc = subprocess.Popen([sys.executable, WORKER, "victim", name, "1" if forked else "0", op],
                                stdout=subprocess.PIPE, text=True, env=env)
        try:
            vpid = int(proc.stdout.readline())
            deadline = time.monotonic() + seconds(30)
            while _state(vpid) != "T":
                assert time.monotonic() < deadline and _state(vpid), "the victim never paused"
                time.sleep(0.005)

            def check(when: str) -> None:
                if old is None:
                    with pytest.raises(FileNotFoundError):
                        npshm.attach(name)
                else:
                    a = npshm.attach_shared_array(name, validate_shape=(10,), validate_dtype=np.int16)
                    assert (a == -3).all(), when
                assert not [d for d in npshm.list() if d.name.startswith(b".npshm-tmp-")]

            check("paused")
            expected = 1 if point == "replace-rename" else 0
            assert len(_temps(vpid)) == expected
            npshm.clean_temporaries()
            assert len(_temps(vpid)) == expected, "removed a live process's temporary file"
            os.kill(vpid, 9)
        finally:
            if proc.poll() is None and not forked:
                proc.kill()
            proc.wait(seconds(30))
        while _state(vpid):
            time.sleep(0.002)
        check("killed")
        # What is left is removable (another process on the machine may have cleaned it already:
        # its pid is dead).
        assert len(_temps(vpid)) <= expected
        npshm.clean_temporaries()
        assert _temps(vpid) == []
    # No lock is held: the name can be used at once.
    npshm.create_shared_array(name, (4,), np.int8, force=True, full=1)
    assert npshm.attach(name).tolist() == [1] * 4


# ---- fork and threads --------------------------------------------------------------------------


def _thread_work(prefix: str, iters: int, errors: list) -> None:
    try:
        for i in range(iters):
            n = f"{prefix}-{i}"
            a = npshm.create_shared_array(n, (1 + i % 5, 100), np.int64, full=i)
            b = npshm.attach_shared_array(n, validate_shape=(1 + i % 5, 100), validate_dtype=np.int64,
                                          read_only=bool(i & 1))
            assert int(b.sum()) == i * 100 * (1 + i % 5)
            with pytest.raises(FileExistsError):
                npshm.create(n, 1)
            if i % 25 == 0:
                assert any(d.name == n.encode() for d in npshm.list())
            npshm.delete(n)
            with pytest.raises(FileNotFoundError):
                npshm.attach(n)
            a[:] = 1  # a deleted array's mapping keeps working
            del a, b
    except BaseException as e:
        errors.append(e)


def _eight_threads(prefix: str, iters: int) -> list:
    errors: list = []
    ts = [threading.Thread(target=_thread_work, args=(f"{prefix}-t{k}", iters, errors)) for k in range(8)]
    for t in ts:
        t.start()
    return [ts, errors]


def test_fork_while_eight_threads_use_npshm(names):
    prefix = names()
    ts, errors = _eight_threads(prefix, 40 * ROUNDS)
    shared = names()
    base = npshm.create_shared_array(shared, (64,), np.int64, full=0)

    def child(k: int):
        def body() -> int:
            # The C path, with threads of its own, and every entry point.
            own = f"{prefix}-c{k}-{os.getpid()}"
            x = npshm.create(own, (3,), "f8")
            x.base.msync(npshm.MS_SYNC)
            x.base.mlock()
            x.base.munlock()
            npshm.attach(shared)[k] = k + 1
            npshm.list()
            npshm.clean_temporaries()
            del x
            npshm.delete(own)
            cts, cerrors = _eight_threads(f"{own}-x", 10)
            for t in cts:
                t.join()
            for e in cerrors:
                os.write(2, f"child thread: {e!r}\n".encode())
            return 0 if not cerrors else 1
        return body

    codes = []
    for r in range(4 * ROUNDS):
        pids = [fork_child(child(2 * (r % 16) + j)) for j in range(2)]
        codes += [exit_code(p) for p in pids]
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    assert codes == [0] * len(codes)
    assert (base[: 2 * min(16, 4 * ROUNDS)] != 0).all()
    assert not [f for f in os.listdir("/dev/shm") if f.startswith(prefix)]


# ---- leaks -------------------------------------------------------------------------------------


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _maps() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _cycle(name: str, i: int) -> None:
    a = npshm.create(name, (1 + (i % 3) * 512,), np.int64)
    a[-1] = i
    b = npshm.attach(name)
    c = npshm.attach_shared_array(name, read_only=True, validate_dtype=np.int64)
    assert c[-1] == i
    try:
        npshm.create(name, 1)
    except FileExistsError:
        pass
    if npshm.attach_shared_array(name, validate_shape=(7, 7), raise_on_error=False) is not None:
        raise AssertionError("validation passed")
    npshm.delete(name)
    del a, b, c


def test_create_attach_release_cycles_leak_nothing(name):
    for i in range(300):
        _cycle(name, i)
    gc.collect()
    fds, maps, rss = _fds(), _maps(), _rss_kib()
    for i in range(CYCLES):
        _cycle(name, i)
    gc.collect()
    print(f"{CYCLES} cycles: fds {fds}->{_fds()}, maps {maps}->{_maps()}, RSS {rss}->{_rss_kib()} KiB")
    assert _fds() == fds
    assert _maps() == maps
    assert _rss_kib() - rss < 8192


# ---- foreign, corrupt and hostile input --------------------------------------------------------


def _write(name: str, data: bytes, mode: int = 0o600) -> None:
    fd = os.open("/dev/shm/" + name, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _header(shape, descr=b"<f8", itemsize=8, data_nbytes=None, data_offset=4096, flags=0) -> bytes:
    ndim = len(shape)
    hlen = 64 + 8 * ndim + len(descr)
    if data_nbytes is None:
        data_nbytes = itemsize * int(np.prod(shape, dtype=object))
    h = struct.pack("<8sHHIQQQIIIIq", b"NPSHMARR", 1, flags, hlen, data_offset, data_nbytes & (2**64 - 1),
                    itemsize, ndim, len(descr), 1, 0, 0)
    h += b"".join(struct.pack("<q", d) for d in shape) + descr
    return h + struct.pack("<I", zlib.crc32(h))


def _expect_refused(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        npshm.attach(name)
    with pytest.raises(ValueError):
        npshm.attach_shared_array(name, raise_on_error=False)
    assert name.encode() not in {d.name for d in npshm.list()}


def test_lying_headers_are_refused(name):
    huge = [
        _header((2**40, 2**40)),                                  # product overflows
        _header((2**62,), itemsize=8),                            # nbytes overflows
        _header((1000,)),                                         # claims more data than the file has
        _header((10,), data_nbytes=1 << 60),                      # nbytes lies
        _header((10,), data_offset=64),                           # data overlaps the header
        _header((10,), data_offset=4097),                         # misaligned data
        _header((-1,)),                                           # negative dimension
        _header((10,), descr=b"|O8"),                             # objects
        _header((10,), descr=b"<f8", itemsize=4),                 # itemsize lies
        _header((10,), flags=4),                                  # unknown flag (bits 0, 1 are known)
        _header(tuple([1] * 65)),                                 # too many dimensions
    ]
    for h in huge:
        _write(name, h + b"\0" * (8192 - len(h)))
        _expect_refused(name)


def test_random_and_mutated_segments_never_crash(name):
    rng = random.Random(1234)
    a = npshm.create(name + "-src", (7, 3), "<i4")
    del a
    with open("/dev/shm/" + name + "-src", "rb") as f:
        good = f.read()
    npshm.delete(name + "-src")
    tries = 300 * ROUNDS
    for i in range(tries):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(0, 200)] = rng.randrange(256)
        if i % 2:  # get past the checksum, so that the later checks are reached
            hlen = struct.unpack_from("<I", data, 12)[0]
            if 64 <= hlen <= len(data) - 4:
                struct.pack_into("<I", data, hlen, zlib.crc32(bytes(data[:hlen])))
        if i % 7 == 0:
            data = data[: rng.randrange(0, len(data))]
        _write(name, bytes(data))
        try:
            x = npshm.attach(name)
        except ValueError:
            continue
        # Accepted: it is whole.
        assert x.nbytes <= len(data) - 64
        x.tobytes()


@pytest.mark.parametrize("content", [b"", b"x", b"NPSHM", b"NPSHMARR", os.urandom(67), os.urandom(70000)])
def test_small_and_random_segments(name, content):
    _write(name, content)
    _expect_refused(name)


def test_a_directory_and_a_fifo_are_not_arrays(name):
    os.mkdir("/dev/shm/" + name)
    try:
        with pytest.raises((ValueError, OSError)):
            npshm.attach(name)
    finally:
        os.rmdir("/dev/shm/" + name)
    os.mkfifo("/dev/shm/" + name)
    try:
        with pytest.raises(ValueError):  # not opened for reading blocked: O_NONBLOCK
            npshm.attach(name)
    finally:
        os.unlink("/dev/shm/" + name)


def test_multiprocessing_shared_memory_segment_is_refused(name):
    from multiprocessing import resource_tracker, shared_memory

    shm = shared_memory.SharedMemory(name=name, create=True, size=1 << 16)
    try:
        resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
        shm.buf[:8] = b"NPSHMARR"  # even with our magic in front
        _expect_refused(name)
    finally:
        shm.close()
        shm.unlink()


def test_sharedarray_segment_is_attached_and_a_lying_one_refused(name):
    # Issue 9: npshm attaches SharedArray's segments (docs/FORMAT.md, "The peers' segments").
    sa = pytest.importorskip("SharedArray")
    x = sa.create("shm://" + name, (100, 10), dtype=np.float64)
    try:
        x[:] = 1.0
        a = npshm.attach(name, ro=True)
        assert a.shape == (100, 10) and a.dtype == np.float64 and (a == 1.0).all()
        assert [d.format for d in npshm.list() if d.name == name.encode()] == ["sharedarray"]
        del a
        # A block whose size field claims more than the segment holds: refused, naming the sizes.
        size = os.stat("/dev/shm/" + name).st_size
        with open("/dev/shm/" + name, "r+b") as f:
            f.seek(size - 548 + 16)
            f.write(struct.pack("<Q", 100 * 10 * 8 + 8))
        with pytest.raises(ValueError, match="size field disagrees"):
            npshm.attach(name)
        # and the other way round: SharedArray does not take npshm's own arrays for its own
        other = name + "-npshm"
        npshm.create(other, (10,), np.float64)
        try:
            with pytest.raises(Exception):
                sa.attach("shm://" + other)
        finally:
            npshm.delete(other)
    finally:
        sa.delete("shm://" + name)


def test_cdxcore_npio_segment_without_its_padding_is_refused(name):
    # cdxcore.npshm's layout (docs/FORMAT.md): a big-endian npio header (length, dtype code, ndim,
    # dims), then the data at the next multiple of 64; no magic, so the size must match exactly.
    # An npio record as a file holds it (the data right after the header) is refused, with sizes.
    dims = (100, 10)
    hdr = struct.pack(">IB", 8 + 8 * len(dims), 10) + len(dims).to_bytes(3, "big")
    hdr += b"".join(struct.pack(">Q", d) for d in dims)
    _write(name, hdr + np.ones(dims).tobytes())
    _expect_refused(name)
    with pytest.raises(ValueError, match="its header describes 8064 bytes, the segment holds 8024"):
        npshm.attach(name)


@pytest.mark.parametrize("full,exc", [
    ("abc", (ValueError, TypeError)), (object(), (ValueError, TypeError)), ([1, 2, 3], ValueError),
    (np.ones((2, 2)), ValueError), (float("nan"), None), (1e300, (OverflowError, ValueError, TypeError, type(None))),
])
def test_hostile_fill_values(name, full, exc):
    try:
        a = npshm.create_shared_array(name, (4, 4), np.int32 if exc is not None else np.float64, full=full)
    except Exception as e:  # noqa: BLE001
        assert exc is not None and isinstance(e, exc), repr(e)
        assert not os.path.exists("/dev/shm/" + name), "a failed fill left an array behind"
        return
    del a
    npshm.delete(name)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "x" * 256, "a\0b", b"\xff/", "shm://", "/"])
def test_hostile_names(bad):
    with pytest.raises((ValueError, TypeError)):
        npshm.create(bad, 1)
    with pytest.raises((ValueError, TypeError)):
        npshm.attach(bad)


@pytest.mark.parametrize("shape", [(-1,), (2**63,), (2**31, 2**31, 2**31), ("3",), (1.5,), (None,),
                                   tuple([1] * 65), (2**62, 2**62)])
def test_hostile_shapes(name, shape):
    with pytest.raises((ValueError, TypeError, OverflowError, OSError)):
        npshm.create(name, shape, np.uint8)
    assert not os.path.exists("/dev/shm/" + name)


@pytest.mark.parametrize("forked", [False, True], ids=["go-core", "c-path"])
def test_a_refused_replace_keeps_the_old_array(name, forked):
    """Issue 8, item 1: what numpy refuses is refused before anything is created or replaced.
    create_shared_array(force=True) of a shape numpy cannot hold used to replace the array and then
    delete the name. Now the old array keeps its inode and its data, on both paths."""
    npshm.create_shared_array(name, (5,), np.int64, full=np.arange(5))
    inode = os.stat("/dev/shm/" + name).st_ino

    def attempts() -> int:
        for shape in [(2**62, 0), (0, 2**63 - 1), (2**40, 2**40)]:
            with pytest.raises(ValueError, match="array too large"):
                npshm.create_shared_array(name, shape, np.int64, force=True)
        # numpy refuses the fill while the new array has no name yet: it is abandoned
        with pytest.raises(ValueError):
            npshm._native.create(name, (2,), "<i8", npshm._native.REPLACE, np.dtype("i8"), np.arange(3))
        if int(np.__version__.split(".")[0]) < 2:  # numpy 1.x refuses 33 dimensions itself
            with pytest.raises(ValueError, match="dimension"):
                npshm.create_shared_array(name, (1,) * 33, np.int64, force=True)
        return 0

    if forked:
        assert exit_code(fork_child(attempts)) == 0
    else:
        attempts()
    assert os.stat("/dev/shm/" + name).st_ino == inode
    assert npshm.attach(name).tolist() == [0, 1, 2, 3, 4]
    assert not [f for f in os.listdir("/dev/shm") if f.startswith(f".npshm-tmp-{os.getpid()}-")]


@pytest.mark.parametrize("dtype", [object, "O", [("a", "O")], "U0", "V0", "S-1", "f3", "i16", "<>f8",
                                   "[('x', '<f8'", "garbage" * 100])
def test_hostile_dtypes(name, dtype):
    with pytest.raises((TypeError, ValueError)):
        npshm.create(name, 3, dtype)
    assert not os.path.exists("/dev/shm/" + name)


# ---- permissions -------------------------------------------------------------------------------


def _as_user(uid: str, gid: str, code: str) -> subprocess.CompletedProcess:
    """Run Python code in a fresh process as another user (setpriv), with this package."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=60, env=env, cwd="/",
    )


@pytest.mark.skipif(not ROOT or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_another_user_cannot_attach_and_a_group_mode_shares(names):
    private, grouped = names(), names()
    npshm.create_shared_array(private, (3,), np.int32, full=1)
    npshm.create_shared_array(grouped, (3,), np.int32, full=2, mode=0o660)
    assert os.stat("/dev/shm/" + private).st_mode & 0o777 == 0o600
    probe = textwrap.dedent(
        f"""
        import sys, npshm
        try:
            a = npshm.attach({{name!r}})
        except PermissionError:
            print("refused"); sys.exit(0)
        a[0] += 10
        print("attached", a.tolist())
        """
    )
    try:
        import npshm as _probe  # noqa: F401
        nobody = _as_user("65534", "65534", probe.format(name=private))
        if "ModuleNotFoundError" in nobody.stderr or "Permission denied" in nobody.stderr and "import" in nobody.stderr:
            pytest.skip(f"user nobody cannot import the package here: {nobody.stderr[-300:]}")
        assert nobody.stdout.strip() == "refused", nobody.stdout + nobody.stderr
        other_group = _as_user("65534", "65534", probe.format(name=grouped))
        assert other_group.stdout.strip() == "refused", other_group.stdout + other_group.stderr
        same_group = _as_user("65534", str(os.getegid()), probe.format(name=grouped))
        assert same_group.stdout.strip() == "attached [12, 2, 2]", same_group.stdout + same_group.stderr
        assert npshm.attach(grouped).tolist() == [12, 2, 2]
    finally:
        for n in (private, grouped):
            npshm.delete_shared_array(n)
