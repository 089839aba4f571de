"""Operating-system failures surface as OSError with their errno."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest

import npshm


def test_enospc_when_dev_shm_cannot_hold_it(name):
    st = os.statvfs("/dev/shm")
    total = st.f_blocks * st.f_frsize
    if total == 0:
        pytest.skip("/dev/shm has no size limit")
    # More than the whole file system: tmpfs refuses the reservation at once, with ENOSPC,
    # instead of the SIGBUS that an unreserved segment would give on first write.
    with pytest.raises(OSError) as e:
        npshm.create(name, total // 8 + (1 << 20), np.float64)
    assert e.value.errno == errno.ENOSPC and e.value.filename == name
    assert name in str(e.value)
    with pytest.raises(OSError) as e2:
        npshm.create_shared_array(name, (total // 4096 + 256, 4096), np.uint8)
    assert e2.value.errno == errno.ENOSPC
    assert not os.path.exists("/dev/shm/" + name)
    assert not [f for f in os.listdir("/dev/shm") if f.startswith(f".npshm-tmp-{os.getpid()}-")]


def test_errno_on_exists_and_missing(name):
    npshm.create(name, 1)
    with pytest.raises(FileExistsError) as e:
        npshm.create(name, 1)
    assert e.value.errno == errno.EEXIST and name in str(e.value)
    npshm.delete(name)
    with pytest.raises(FileNotFoundError) as e:
        npshm.attach(name)
    assert e.value.errno == errno.ENOENT


def test_not_an_npshm_segment(name):
    for content in [b"", b"NPSHMARR" + b"\0" * 100, os.urandom(5000)]:
        with open("/dev/shm/" + name, "wb") as f:
            f.write(content)
        with pytest.raises(ValueError, match=name):
            npshm.attach(name)
        with pytest.raises(ValueError, match=name):
            # raise_on_error=False covers a missing array, not a foreign one
            npshm.attach_shared_array(name, raise_on_error=False)
        os.unlink("/dev/shm/" + name)


def test_corrupt_header_detected(name):
    a = npshm.create(name, 10, np.int32)
    del a
    with open("/dev/shm/" + name, "r+b") as f:
        f.seek(64)
        f.write(b"\x07")  # a shape byte: the checksum no longer matches
    with pytest.raises(ValueError):
        npshm.attach(name)


def test_default_mode_is_private(name, names):
    npshm.create(name, 1)
    assert os.stat("/dev/shm/" + name).st_mode & 0o7777 == 0o600
    other = names()
    npshm.create_shared_array(other, 1, float, mode=0o640)
    assert os.stat("/dev/shm/" + other).st_mode & 0o7777 == 0o640
    with pytest.raises(ValueError, match="mode"):
        npshm.create(names(), 1, mode=0o10000)


def _as_nobody(check) -> int:
    """Run check() in a forked child that switched to the user nobody; return its exit code
    (the library is already loaded, so nothing needs to be readable by nobody)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            check()
            code = 0
        except BaseException as e:  # report, never return into pytest
            os.write(2, f"as nobody: {e!r}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to another user")
def test_permission_error_for_another_user(name, names):
    npshm.create(name, 3)  # mode 0600, owned by root
    shared = names()
    npshm.create(shared, 3, mode=0o644)

    def check() -> None:
        with pytest.raises(PermissionError) as e:
            npshm.attach(name)
        assert e.value.errno in (errno.EACCES, errno.EPERM) and e.value.filename == name
        assert npshm.attach(shared, ro=True).shape == (3,)
        with pytest.raises(PermissionError):
            npshm.attach(shared)  # read-write needs write permission
        with pytest.raises(PermissionError):
            npshm.delete(shared)  # /dev/shm is sticky: only the owner may delete
        assert npshm.delete_shared_array(shared, raise_on_error=False) is False
        assert name.encode() not in {d.name for d in npshm.list()}  # unreadable: not listed
        assert shared.encode() in {d.name for d in npshm.list()}

    assert _as_nobody(check) == 0
    assert os.path.exists("/dev/shm/" + shared)


def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                       capture_output=True, text=True, check=True)
    return int(p.stdout)


def test_clean_temporaries(tmp_path, names):
    dead, live = _dead_pid(), os.getpid()
    n = 900000 + int.from_bytes(os.urandom(3), "little")
    stale = tmp_path / f".npshm-tmp-{dead}-{n}"
    mine = tmp_path / f".npshm-tmp-{live}-{n}"
    other = tmp_path / "not-a-temporary"
    for p in (stale, mine, other):
        p.write_bytes(b"x" * 100)
    assert npshm.clean_temporaries(tmp_path) == 1
    assert not stale.exists() and mine.exists() and other.exists()
    assert npshm.clean_temporaries(str(tmp_path)) == 0

    shm_stale = f".npshm-tmp-{dead}-{n}"
    names.made.append(shm_stale)
    with open("/dev/shm/" + shm_stale, "wb") as f:
        f.write(b"x")
    assert npshm.clean_temporaries() >= 1
    assert not os.path.exists("/dev/shm/" + shm_stale)
    with pytest.raises(FileNotFoundError):
        npshm.clean_temporaries(tmp_path / "missing")
