"""Forgotten arrays (issue 11): list() tells whether the creator lives (pid reuse included) and
the age; delete_orphans removes arrays whose creator is gone and that nobody maps, never one that
is mapped or was replaced; delete_on_exit deletes a scratch array when its creator exits, SIGKILL
included, and never a replacement."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest

import npshm


def _set_creator(name: str, pid: int) -> None:
    """Rewrite the header's creator pid (and its checksum), as if process pid had made it."""
    path = "/dev/shm/" + name
    with open(path, "r+b") as f:
        head = bytearray(f.read(4096))
        header_len = struct.unpack_from("<I", head, 12)[0]
        struct.pack_into("<I", head, 48, pid)
        struct.pack_into("<I", head, header_len, zlib.crc32(bytes(head[:header_len])))
        f.seek(0)
        f.write(head[: header_len + 4])


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _entry(name: str):
    return next(d for d in npshm.list() if d.name == name.encode())


def test_list_tells_creator_alive_age_and_size(name):
    a = npshm.create_shared_array(name, (1000,), np.float64)
    d = _entry(name)
    assert d.creator_pid == os.getpid() and d.creator_alive
    assert 0 <= d.age < 600 and d.nbytes == 8000
    _set_creator(name, _dead_pid())
    assert not _entry(name).creator_alive
    # A live process that started after the array was made has reused the creator's pid.
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.01)
        with open(f"/dev/shm/{name}", "r+b") as f:  # created 10 s before the process started
            head = bytearray(f.read(4096))
            header_len = struct.unpack_from("<I", head, 12)[0]
            created = struct.unpack_from("<q", head, 56)[0] - 10_000_000_000
            struct.pack_into("<q", head, 56, created)
            f.seek(0)
            f.write(head)
        _set_creator(name, later.pid)
        assert npshm._orphans._start_ns(later.pid) is not None
        assert not _entry(name).creator_alive
    finally:
        later.kill()
        later.wait()
    del a


def _shift_created(name: str, by_ns: int) -> None:
    """Move the header's creation time by by_ns (and fix its checksum)."""
    with open(f"/dev/shm/{name}", "r+b") as f:
        head = bytearray(f.read(4096))
        header_len = struct.unpack_from("<I", head, 12)[0]
        struct.pack_into("<q", head, 56, struct.unpack_from("<q", head, 56)[0] + by_ns)
        struct.pack_into("<I", head, header_len, zlib.crc32(bytes(head[:header_len])))
        f.seek(0)
        f.write(head[: header_len + 4])


def test_list_judges_each_array_of_a_creator_by_its_own_creation_time(names):
    """list() looks at each creator once; every array still gets its own answer: several arrays of
    one live creator, of one dead creator, and of one pid reused by a process that started between
    the creations of two arrays that name it."""
    mine = [names() for _ in range(3)]
    dead = [names() for _ in range(2)]
    reused_before, reused_after = names(), names()
    arrays = [npshm.create_shared_array(n, (4,), np.int32) for n in mine + dead + [reused_before, reused_after]]
    gone = _dead_pid()
    for n in dead:
        _set_creator(n, gone)
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.01)
        _set_creator(reused_before, later.pid)
        _shift_created(reused_before, -10_000_000_000)  # made 10 s before that process started
        _set_creator(reused_after, later.pid)
        _shift_created(reused_after, 10_000_000_000)  # made after it started: it is the creator
        alive = {d.name.decode(): d.creator_alive for d in npshm.list()}
        assert [alive[n] for n in mine] == [True] * 3
        assert [alive[n] for n in dead] == [False] * 2
        assert alive[reused_before] is False and alive[reused_after] is True
        # the same answers as asking about each array alone
        for d in npshm.list():
            if d.name.decode() in alive:
                assert npshm._orphans.creator_alive(d.creator_pid, d.created_ns) == alive[d.name.decode()]
    finally:
        later.kill()
        later.wait()
    del arrays


def test_delete_orphans_removes_only_unmapped_arrays_of_dead_creators(names, tmp_path):
    prefix = f"npshm-pytest-{os.getpid()}-orphan-"
    orphan, mapped, alive = prefix + "a", prefix + "b", prefix + "c"
    names.made.extend([orphan, mapped, alive])
    for n in (orphan, mapped, alive):
        npshm.create_shared_array(n, (16,), np.int32)  # released at once: nobody maps them
    dead = _dead_pid()
    _set_creator(orphan, dead)
    _set_creator(mapped, dead)
    keep = npshm.attach(mapped)  # this process maps it
    found = {os.fsdecode(d.name) for d in npshm.delete_orphans(prefix + "*")}
    assert found == {orphan}  # a dry run by default
    assert os.path.exists("/dev/shm/" + orphan)
    gone = {os.fsdecode(d.name) for d in npshm.delete_orphans(prefix + "*", dry_run=False)}
    assert gone == {orphan}
    assert not os.path.exists("/dev/shm/" + orphan)
    assert os.path.exists("/dev/shm/" + mapped) and os.path.exists("/dev/shm/" + alive)
    del keep
    assert {os.fsdecode(d.name) for d in npshm.delete_orphans(prefix + "*")} == {mapped}


def test_delete_orphans_matches_the_command_line_tool(names):
    prefix = f"npshm-pytest-{os.getpid()}-cli-"
    n = prefix + "x"
    names.made.append(n)
    npshm.create_shared_array(n, (16,), np.int32)
    _set_creator(n, _dead_pid())
    r = subprocess.run([sys.executable, "-m", "npshm", "gc", "--orphans", prefix + "*"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"would delete {n}" in r.stdout
    assert [os.fsdecode(d.name) for d in npshm.delete_orphans(prefix + "*")] == [n]
    r = subprocess.run([sys.executable, "-m", "npshm", "gc", "--orphans", "--yes", prefix + "*"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and f"deleted {n}" in r.stdout, r.stdout + r.stderr
    assert not os.path.exists("/dev/shm/" + n)


# ---- delete_on_exit ----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, sys, time, numpy as np, npshm
    name, first = sys.argv[1], sys.argv[2] == "first"
    if first:
        npshm.delete_on_exit(name)
    a = npshm.create_shared_array(name, (1000,), np.float64, force=True)
    if not first:
        npshm.delete_on_exit(name)
    print(npshm._scratch._reaper.pid, flush=True)
    if sys.argv[3] == "sleep":
        time.sleep(600)
    """
)


def _wait_gone(pid: int) -> None:
    """Wait for the reaper (not our child) to finish."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    pytest.fail(f"the reaper {pid} did not finish")


@pytest.mark.parametrize("order", ["first", "after"])
def test_delete_on_exit_holds_under_sigkill(name, order):
    p = subprocess.Popen([sys.executable, "-c", CHILD, name, order, "sleep"], stdout=subprocess.PIPE, text=True)
    reaper = int(p.stdout.readline())
    assert os.path.exists("/dev/shm/" + name)
    p.send_signal(signal.SIGKILL)
    p.wait()
    _wait_gone(reaper)
    assert not os.path.exists("/dev/shm/" + name)


def test_delete_on_exit_at_a_normal_exit(name):
    p = subprocess.run([sys.executable, "-c", CHILD, name, "first", "exit"], capture_output=True, text=True, check=True)
    _wait_gone(int(p.stdout))
    assert not os.path.exists("/dev/shm/" + name)


def test_delete_on_exit_never_deletes_a_replacement(name):
    p = subprocess.Popen([sys.executable, "-c", CHILD, name, "first", "sleep"], stdout=subprocess.PIPE, text=True)
    reaper = int(p.stdout.readline())
    b = npshm.create_shared_array(name, (3,), np.int8, force=True)  # this process replaces it
    p.send_signal(signal.SIGKILL)
    p.wait()
    _wait_gone(reaper)
    assert npshm.attach_shared_array(name, validate_shape=(3,)) is not None
    del b


def test_delete_on_exit_bad_name():
    with pytest.raises(ValueError, match="invalid array name"):
        npshm.delete_on_exit("a/b")
