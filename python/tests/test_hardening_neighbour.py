"""Hardening, round two (docs/RELIABILITY.md, "A hostile neighbour and a careless caller"): another
user who can create files in /dev/shm (symlinks, FIFOs, lock and temporary files, sparse or
pre-made segments), setuid modes, a fork during a load, and Ctrl+C at any moment of a load.

The other user is uid 65534 (setpriv); it needs no npshm, only a shell and util-linux's flock.
NPSHM_HARDENING_ROUNDS scales the interrupted loads for the soak run (tests/hardening/soak.py)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import npshm

ROOT = os.geteuid() == 0
ROUNDS = int(os.environ.get("NPSHM_HARDENING_ROUNDS", "3"))
OTHER = 65534
needs_other_user = pytest.mark.skipif(
    not ROOT or not shutil.which("setpriv") or not shutil.which("flock"),
    reason="needs root, setpriv and flock to act as another user",
)


def as_other_user(script: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run a shell script as uid 65534 with umask 0, as a squatter would."""
    return subprocess.run(
        ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups", "sh", "-c", "umask 0; " + script],
        input=stdin, capture_output=True, timeout=60, cwd="/", check=True,
    )


def python(code: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run Python code with npshm in a fresh process; a hang fails the test instead of hanging it."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the process hangs: {e.stdout!r} {e.stderr!r}")


def segment_bytes(name: str, shape, dtype) -> bytes:
    """The bytes of a fresh npshm array (header and zero data), for a squatter to write."""
    a = npshm.create(name, shape, dtype)
    del a
    with open("/dev/shm/" + name, "rb") as f:
        data = f.read()
    npshm.delete(name)
    return data


def gone(path: str) -> bool:
    return not os.path.lexists(path)


@contextlib.contextmanager
def lock_held(name: str, *user: str):
    """The lock file of name, held with flock by another process (of another user with user: the
    setpriv arguments), as another loader holds it; removed afterwards."""
    lock = "/dev/shm/.npshm-lock-" + name
    holder = subprocess.Popen([*user, "sh", "-c", f"umask 0; exec flock {lock} -c 'echo locked; exec sleep 600'"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield lock, holder.pid
    finally:
        holder.kill()
        holder.wait()
        if os.path.lexists(lock):
            os.unlink(lock)


@pytest.fixture
def npio_file(tmp_path):
    path = tmp_path / "a.npio"
    npshm.to_file(path, np.arange(1000.0))
    return path


# ---- modes (item 4) ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o4777, 0o2755, 0o1777, 0o4000, 0o1000, 0o10000, -1])
def test_mode_holds_permission_bits_only(name, mode):
    with pytest.raises(ValueError, match=f"not {mode:#o}"):
        npshm.create_shared_array(name, (3,), np.int8, mode=mode)
    with pytest.raises(ValueError, match=f"not {mode:#o}"):
        npshm.create(name, 3, np.int8, mode=mode)
    with pytest.raises(ValueError):
        npshm.create_shared_array(name, (3,), np.int8, mode=mode, force=True, full=1)
    assert gone("/dev/shm/" + name)
    npshm.create_shared_array(name, (3,), np.int8, mode=0o777)
    assert stat.S_IMODE(os.stat("/dev/shm/" + name).st_mode) == 0o777


# ---- symlinks and FIFOs at a name (items 3 and 7) ----------------------------------------------


def test_symlink_at_the_name_is_refused(names, tmp_path, npio_file):
    """A symlink where an array's name should be is never followed: attach (both APIs, and the
    attach step of read_shared_array) refuses it with PermissionError(ELOOP), and nothing the link
    points to is mapped, written, listed or deleted."""
    victim = names("victim")
    target = npshm.read_shared_array(npio_file, victim)
    target[:] = 7
    private = tmp_path / "private.arr"
    mine = npshm.create_shared_array("file://" + str(private), (1000,), np.float64, full=5)
    for dest in ["/dev/shm/" + victim, str(private)]:
        link = names("link")
        os.symlink(dest, "/dev/shm/" + link)
        for attach in [lambda: npshm.attach(link), lambda: npshm.attach(link, ro=True),
                       lambda: npshm.attach_shared_array(link), lambda: npshm.read_shared_array(npio_file, link)]:
            with pytest.raises(PermissionError, match="symbolic link") as e:
                attach()
            assert e.value.errno == errno.ELOOP
        assert link.encode() not in {d.name for d in npshm.list()}
        with pytest.raises(FileExistsError):
            npshm.create(link, 1000, np.float64)
        # Replacing or deleting the name replaces or removes the link itself, never its target.
        npshm.create_shared_array(link, (2,), np.int8, force=True)
        assert not os.path.islink("/dev/shm/" + link)
        npshm.delete(link)
        os.symlink(dest, "/dev/shm/" + link)
        npshm.delete(link)
        assert gone("/dev/shm/" + link) and os.path.exists(dest)
    # A file:// name whose last component is a symlink.
    flink = tmp_path / "link.arr"
    os.symlink(private, flink)
    with pytest.raises(PermissionError) as e:
        npshm.attach("file://" + str(flink))
    assert e.value.errno == errno.ELOOP
    assert (target == 7).all() and (mine == 5).all()


def test_a_fifo_is_refused_without_blocking(names, tmp_path):
    """read_shared_array of a FIFO with no writer used to hang in open() forever, deaf to Ctrl+C:
    non-regular files are refused at once. A FIFO at an array's name is refused too."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    name = names("fifo")
    r = python(f"""
        import npshm
        try:
            npshm.read_shared_array({str(fifo)!r}, {name!r})
        except ValueError as e:
            print("refused:", e)
        """, timeout=60)
    assert "refused:" in r.stdout and "not a regular file" in r.stdout, r.stdout + r.stderr
    assert gone("/dev/shm/" + name) and gone("/dev/shm/.npshm-lock-" + name)
    os.mkfifo("/dev/shm/" + name)
    with pytest.raises(ValueError, match="not a regular file"):
        npshm.attach(name)
    with pytest.raises(ValueError, match="not a regular file"):
        npshm.read_shared_array(tmp_path / "missing", name, validate_shape=(3,), validate_dtype=np.int8)


def test_ctrl_c_while_waiting_for_another_loader(names, npio_file):
    """A load waiting for another process's load stops on Ctrl+C, leaving nothing."""
    name = names("wait")
    with lock_held(name):
        p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import signal, sys, npshm
            signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
            try:
                print("start", flush=True)
                npshm.read_shared_array({str(npio_file)!r}, {name!r})
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            """)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "start"
        time.sleep(0.3)  # not a timing assert: the load waits for the lock however long this takes
        p.send_signal(signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            pytest.fail("Ctrl+C did not stop the wait")
        assert out.strip() == "interrupted"
        assert gone("/dev/shm/" + name)


def test_a_lock_wait_can_be_bounded(names, npio_file):
    name = names("timeout")
    with lock_held(name) as (lock, pid):
        with pytest.raises(TimeoutError) as e:
            npshm.read_shared_array(npio_file, name, timeout=0.2)
        assert e.value.errno == errno.ETIMEDOUT
        assert lock in str(e.value) and f"held by pid {pid}" in str(e.value), str(e.value)
        assert gone("/dev/shm/" + name)
        with pytest.raises(ValueError):
            npshm.read_shared_array(npio_file, name, timeout=-1)
    a, attached = npshm.read_shared_array(npio_file, name, timeout=30, return_status=True)
    assert not attached and a[-1] == 999


# ---- another user squatting names (item 5) ------------------------------------------------------


@needs_other_user
def test_another_users_lock_file_is_refused(names, npio_file):
    """A lock file of another uid, held with flock, used to block read_shared_array forever."""
    name = names("squat")
    with lock_held(name, "setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups") as (lock, _):
        r = python(f"""
            import npshm
            try:
                npshm.read_shared_array({str(npio_file)!r}, {name!r})
            except PermissionError as e:
                print("refused:", e)
            """)
        assert f"refused:" in r.stdout and f"belongs to uid {OTHER}" in r.stdout, r.stdout + r.stderr
        assert lock in r.stdout
        assert gone("/dev/shm/" + name)


@needs_other_user
def test_squatted_temporary_names_do_not_stop_a_replace(names):
    """Temporary names used to be .npshm-tmp-<pid>-<counter>: another user who created the first
    hundred for a victim's pid made every replace (force=True) fail with EIO. They are random now;
    clean_temporaries recognises both schemes but removes only the caller's own files."""
    name = names("force")
    npshm.create_shared_array(name, (4,), np.int16, full=1)
    victim = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, numpy as np, npshm
        print("ready", flush=True)
        sys.stdin.readline()
        a = npshm.create_shared_array({name!r}, (5,), np.int16, force=True, full=2)
        print("replaced", a.tolist(), flush=True)
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    squatted = [f"/dev/shm/.npshm-tmp-{victim.pid}-{n}" for n in range(1, 201)]
    try:
        assert victim.stdout.readline().strip() == "ready"
        as_other_user("touch " + " ".join(squatted))
        out, err = victim.communicate("go\n", timeout=60)
        assert "replaced [2, 2, 2, 2, 2]" in out, out + err
        assert npshm.attach(name).tolist() == [2] * 5
        npshm.clean_temporaries()  # the victim is dead, but the files are not root's
        assert all(os.path.exists(p) for p in squatted)
    finally:
        for p in squatted:
            if os.path.lexists(p):
                os.unlink(p)


@needs_other_user
def test_another_users_array_is_not_adopted(names, npio_file):
    """An array of the file's geometry that another user made (mode 0666, so that they can write
    into it) used to be returned by read_shared_array as if loaded. It is refused unless the
    caller accepts foreign arrays."""
    name = names("adopt")
    data = segment_bytes(name, (1000,), np.float64)
    as_other_user(f"cat > /dev/shm/{name}", stdin=data)
    st = os.stat("/dev/shm/" + name)
    assert st.st_uid == OTHER and stat.S_IMODE(st.st_mode) == 0o666
    with pytest.raises(PermissionError, match=f"belongs to uid {OTHER}"):
        npshm.read_shared_array(npio_file, name)
    with pytest.raises(PermissionError, match=f"belongs to uid {OTHER}"):
        npshm.read_shared_array(npio_file, name, validate_shape=(1000,), validate_dtype=np.float64)
    a, attached = npshm.read_shared_array(npio_file, name, accept_foreign=True, return_status=True)
    assert attached and (a == 0).all()
    # Plain attach is unchanged: the caller names the array it wants.
    assert npshm.attach(name).shape == (1000,)


# ---- sparse segments on a full /dev/shm (item 6) ------------------------------------------------

SPARSE_SCRIPT = textwrap.dedent(
    """
    import errno, os, sys
    import numpy as np
    import npshm

    st = os.statvfs("/dev/shm")
    assert st.f_blocks * st.f_frsize <= 4 << 20, "not the private 1 MiB tmpfs"
    with open(sys.argv[1], "rb") as f:
        header = f.read()  # of a (2 MiB,) uint8 array: more than the whole tmpfs

    def sparse(name, size):
        fd = os.open("/dev/shm/" + name, os.O_CREAT | os.O_RDWR, 0o666)
        os.write(fd, header)
        os.ftruncate(fd, size)
        os.close(fd)
        return os.stat("/dev/shm/" + name).st_blocks

    blocks = sparse("big", 4096 + (2 << 20))
    for ro in (False, True):
        try:
            a = npshm.attach("big", ro=ro)
            a.sum()  # reading holes would SIGBUS, and so would writing them
            ro or a.fill(1)
        except OSError as e:
            assert e.errno == errno.ENOSPC, repr(e)
            assert "big" in str(e)
        else:
            raise AssertionError(f"attached a sparse segment that does not fit (ro={ro})")
        assert os.stat("/dev/shm/big").st_blocks == blocks, "the refused attach allocated memory"
    os.unlink("/dev/shm/big")

    # One that fits is attached, fully backed: every page is there before the first access.
    a = npshm.create("small", 256 << 10, np.uint8)
    del a
    with open("/dev/shm/small", "rb") as f:
        hdr = f.read(4096)
    os.unlink("/dev/shm/small")
    fd = os.open("/dev/shm/small", os.O_CREAT | os.O_RDWR, 0o666)
    os.write(fd, hdr)
    os.ftruncate(fd, 4096 + (256 << 10))
    os.close(fd)
    for ro in (True, False):
        a = npshm.attach("small", ro=ro)
        s = os.stat("/dev/shm/small")
        assert s.st_blocks * 512 >= s.st_size, (ro, s.st_blocks)
        assert a.sum() == 0
        del a
    os.unlink("/dev/shm/small")
    print("sparse ok")
    """
)


def test_sparse_segment_on_a_full_dev_shm_is_enospc_not_sigbus(tmp_path, name):
    if not ROOT or not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        if os.environ.get("NPSHM_REQUIRE_NOSPACE_TEST") == "1":
            pytest.fail("NPSHM_REQUIRE_NOSPACE_TEST=1 but no private mount namespace")
        pytest.skip("needs root and unshare -m for a private 1 MiB tmpfs")
    header = tmp_path / "header"
    header.write_bytes(segment_bytes(name, (2 << 20,), np.uint8)[:4096])
    script = tmp_path / "sparse.py"
    script.write_text(SPARSE_SCRIPT)
    for forked in (False, True):  # the Go core, and the C path of a forked child
        code = "import npshm, os, runpy, sys\n" + (
            "npshm.list()\npid = os.fork()\nif pid:\n    sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
            if forked else "") + f"sys.argv = ['sparse', {str(header)!r}]\nrunpy.run_path({str(script)!r})\n"
        r = subprocess.run(
            ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=1m,mode=1777 tmpfs /dev/shm && exec "$0" "$@"',
             sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "sparse ok" in r.stdout, \
            f"forked={forked}: exit {r.returncode} (-7 or 135: SIGBUS)\n{r.stdout}\n{r.stderr}"


# ---- a fork during a load (item 2) ------------------------------------------------------------

FORK_LOADER = textwrap.dedent(
    """
    import os, sys, threading, time
    import npshm

    path, name = sys.argv[1], sys.argv[2]
    lock = "/dev/shm/.npshm-lock-" + name
    result = []

    def load():
        try:
            result.append(npshm.read_shared_array(path, name, return_status=True)[1])
        except Exception as e:  # noqa: BLE001
            result.append(type(e).__name__)

    t = threading.Thread(target=load)
    t.start()
    while not os.path.exists(lock) and t.is_alive():  # the load has begun
        time.sleep(0.0002)
    r, w = os.pipe()
    pid = os.fork()  # as a multiprocessing fork pool would, while the thread loads
    if pid == 0:
        os.close(w)
        os.read(r, 1)  # lives until the test lets it go
        os._exit(0)
    os.close(r)
    print(pid, int(t.is_alive()), flush=True)
    if sys.stdin.readline().strip() == "truncate":
        os.truncate(path, 16)  # the load fails half-way: abandoned
    t.join()
    print("result", result[0], flush=True)
    sys.stdin.readline()
    os.write(w, b"x")
    os.waitpid(pid, 0)
    """
)


def _child_holds(pid: int) -> list[str]:
    """What of /dev/shm the process pid has open or mapped."""
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("/dev/shm/"):
            held.append("fd " + target)
    with open(f"/proc/{pid}/maps") as f:
        held += ["map " + line.split(None, 5)[-1].strip() for line in f if "/dev/shm/" in line]
    return held


def _npio_zeros(path, n: int) -> None:
    """An npio file of n float64 zeros, sparse (it reads fast and takes no disk)."""
    with open(path, "wb") as f:
        f.write((16).to_bytes(4, "big") + bytes([10]) + (1).to_bytes(3, "big") + n.to_bytes(8, "big"))
        f.truncate(16 + 8 * n)


@pytest.mark.parametrize("outcome", ["published", "abandoned"])
def test_a_fork_during_a_load_holds_nobody_hostage(names, tmp_path, outcome):
    """A process that forks while one of its threads loads (a multiprocessing fork pool does) used
    to give the child the flock'ed lock file and the unnamed segment: other loaders waited until
    the child exited, and a failed load's memory stayed allocated as long. Now the lock is free
    as soon as the load is published or abandoned, and the child holds nothing of the load."""
    n = 32 << 20  # 256 MiB of zeros: long enough to fork, and to act, during the load
    done = 0
    for attempt in range(5 * ROUNDS):
        path = tmp_path / f"big{attempt}.npio"
        _npio_zeros(path, n)
        name = names("forkload")
        loader = subprocess.Popen([sys.executable, "-c", FORK_LOADER, str(path), name], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        lock = None
        try:
            child, loading = (int(x) for x in loader.stdout.readline().split())
            try:
                lock = os.open("/dev/shm/.npshm-lock-" + name, os.O_RDWR)  # as a waiter holds it
            except FileNotFoundError:
                loading = 0
            loader.stdin.write("truncate\n" if outcome == "abandoned" else "\n")
            loader.stdin.flush()
            if outcome == "published" and loading:
                # Another process loading the same name is released as soon as the load ends,
                # while the child still lives.
                r = python(f"""
                    import npshm
                    print(npshm.read_shared_array({str(path)!r}, {name!r}, return_status=True)[1])
                    """)
                assert r.stdout.strip() == "True", r.stdout + r.stderr
            result = loader.stdout.readline().split()
            want = "False" if outcome == "published" else "EOFError"
            if not loading or result[1] != want:  # the load ended before the fork, or the truncation
                loader.communicate("go\n", timeout=60)
                npshm.delete_shared_array(name)
                continue
            assert loader.poll() is None and os.path.exists(f"/proc/{child}")
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: the child holds it
            assert _child_holds(child) == []
            assert gone("/dev/shm/.npshm-lock-" + name)
            loader.communicate("go\n", timeout=60)
            npshm.delete_shared_array(name)
            path.unlink()
            done += 1
            if done == ROUNDS:
                return
        finally:
            if lock is not None:
                os.close(lock)
            if loader.poll() is None:
                loader.kill()
                loader.wait()
    pytest.fail(f"{5 * ROUNDS - done} of {5 * ROUNDS} loads ended before the fork or the truncation")


# ---- Ctrl+C at any moment of a load (item 8) ---------------------------------------------------

INTERRUPTED_LOADS = textwrap.dedent(
    """
    import os, random, signal, sys, time, traceback
    import npshm

    path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pkg = os.path.dirname(npshm.__file__)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored

    def ctrl_c(*_):
        raise KeyboardInterrupt  # what Python's default SIGINT handler does

    signal.signal(signal.SIGALRM, ctrl_c)
    rng = random.Random(8)
    took = []
    for _ in range(3):
        t = time.perf_counter()
        npshm.read_shared_array(path, prefix + "-calibrate")
        took.append(time.perf_counter() - t)
        npshm.delete_shared_array(prefix + "-calibrate")
    span = 1.5 * sorted(took)[1]
    counts = {"interrupted": 0, "returned": 0, "interrupted after the call": 0, "attach interrupted": 0}
    for i in range(n):
        name = f"{prefix}-{i}"
        existing = i % 4 == 3
        if existing:  # the call only attaches: an interrupt leaves the array that was there
            npshm.read_shared_array(path, name)
        signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, span))
        try:
            try:
                a = npshm.read_shared_array(path, name)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except KeyboardInterrupt as e:
            inside = any(f.filename.startswith(pkg) for f in traceback.extract_tb(e.__traceback__))
            there = os.path.lexists("/dev/shm/" + name)
            if existing:
                assert there, "an interrupted attach removed the array"
                counts["attach interrupted"] += 1
            elif inside:
                if there:
                    print("DEFECT: KeyboardInterrupt from inside read_shared_array, and the array is there")
                    traceback.print_exception(e)
                    sys.exit(1)
                counts["interrupted"] += 1
            else:
                counts["interrupted after the call"] += 1
        else:
            assert a.shape and os.path.exists("/dev/shm/" + name)
            counts["returned"] += 1
        assert not os.path.lexists("/dev/shm/.npshm-lock-" + name), "a lock file was left"
        if os.path.lexists("/dev/shm/" + name):
            os.unlink("/dev/shm/" + name)
    # One load interrupted for certain while it runs, whatever the machine's speed: the loader
    # thread's call sends the Ctrl+C, then waits (however long it takes) until the caller has
    # taken it and set the cancel flag, and only then loads. The random rounds above may or may
    # not have landed one there; this one does, with no timing in it.
    import ctypes
    from npshm import _native
    real = _native.read_file
    def interrupted_first(*args):
        cancel = args[6]
        if cancel:  # the loader thread's call (the attach of an existing array passes 0)
            os.kill(os.getpid(), signal.SIGINT)
            waited = 0
            while not ctypes.c_int.from_address(cancel).value:
                waited += 1
                if waited > 60_000:  # a minute: a Ctrl+C that never arrived
                    print("the caller never took the Ctrl+C", flush=True)
                    os._exit(3)
                time.sleep(0.001)
        return real(*args)
    _native.read_file = interrupted_first
    name = prefix + "-certain"
    try:
        npshm.read_shared_array(path, name)
    except KeyboardInterrupt as e:
        assert any(f.filename.startswith(pkg) for f in traceback.extract_tb(e.__traceback__))
        counts["interrupted"] += 1
    else:
        sys.exit("a Ctrl+C during the load did not interrupt it")
    finally:
        _native.read_file = real
    assert not os.path.lexists("/dev/shm/" + name), "an interrupted load left its array"
    assert not os.path.lexists("/dev/shm/.npshm-lock-" + name), "an interrupted load left its lock file"
    assert not [f for f in os.listdir("/dev/shm") if f.startswith(f".npshm-tmp-{os.getpid()}-")]
    print(counts)
    """
)


def test_interrupted_loads_leave_nothing_or_return_the_array(tmp_path, names):
    """Timer-driven Ctrl+C at random moments of hundreds of loads: a KeyboardInterrupt raised from
    inside read_shared_array means that nothing of the call is left; an interrupt that comes after
    the array is published is too late to stop it, and the call returns the array. Where the
    random moments land depends on the machine's speed, so no assertion counts them: one more load
    is interrupted at a set point while it runs (no timing), and must leave nothing."""
    path = tmp_path / "a.npio"
    npshm.to_file(path, np.arange(1 << 20, dtype=np.int64))  # 8 MiB: a few ms per load
    prefix = names("sigint")
    r = subprocess.run([sys.executable, "-c", INTERRUPTED_LOADS, str(path), prefix, str(100 * ROUNDS)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    print(r.stdout)
