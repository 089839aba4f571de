"""The peers' segments with the real peers from PyPI (SharedArray 3.2.4, cdxcore 0.1.96): processes
on a peer library and npshm processes share one array and see each other's writes, both ways;
npshm reads the committed peer vectors; what a format cannot carry is refused.

Each peer runs in its own process (a fresh interpreter that imports only that library), driven
over a pipe: it attaches or creates, checks what npshm wrote, writes its own mark, reports, and
after npshm's next write checks that too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import npshm

SharedArray = pytest.importorskip("SharedArray")
cdxcore_npshm = pytest.importorskip("cdxcore.npshm")

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "peers"

# A peer process: ACTION is "attach" or "create"; it prints "ready", waits for a line, checks the
# array again and prints "done". The peer code's names are those of the peer's own API.
PEER = textwrap.dedent(
    """
    import sys, numpy as np
    lib, action, name, slot, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if lib == "sharedarray":
        import SharedArray as sa
        a = sa.attach("shm://" + name) if action == "attach" else sa.create("shm://" + name, (n, 4), np.int64)
    else:
        from cdxcore.npshm import attach_shared_array, create_shared_array
        if action == "attach":
            a = attach_shared_array(name, validate_shape=(n, 4), validate_dtype=np.int64)
        else:
            a = create_shared_array(name, (n, 4), np.int64, full=0)
    assert a.shape == (n, 4) and a.dtype == np.int64, (a.shape, a.dtype)
    if action == "create":
        a[:, 0] = np.arange(n) * 10
    else:
        assert a[:, 0].tolist() == [i * 10 for i in range(n)], a[:, 0]
    a[slot, 1] = 100 + slot
    print("ready", flush=True)
    sys.stdin.readline()
    assert a[slot, 2] == 200 + slot, a[slot]
    print("done", flush=True)
    sys.stdin.readline()
    """
)


class Peer:
    """A process on a peer library, run by PEER."""

    def __init__(self, lib: str, action: str, name: str, slot: int, n: int) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-c", PEER, lib, action, name, str(slot), str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def expect(self, word: str) -> None:
        line = self.p.stdout.readline().strip()
        if line != word:
            self.p.kill()
            _, err = self.p.communicate()
            pytest.fail(f"peer said {line!r}, not {word!r}: {err}")

    def go_on(self) -> None:
        self.p.stdin.write("\n")
        self.p.stdin.flush()

    def finish(self) -> None:
        self.go_on()
        _, err = self.p.communicate(timeout=60)
        assert self.p.returncode == 0, err


@pytest.mark.parametrize("lib", ["sharedarray", "cdxcore"])
def test_npshm_creates_peers_attach(name, lib):
    """npshm creates in the peer's format; three peer processes attach it at once, and each side
    sees the other's writes while both are attached."""
    n = 3
    a = npshm.create_shared_array(name, (n, 4), np.int64, format=lib)
    a[:, 0] = np.arange(n) * 10
    assert [d.format for d in npshm.list() if d.name == name.encode()] == [lib]
    peers = [Peer(lib, "attach", name, i, n) for i in range(n)]
    for p in peers:
        p.expect("ready")
    assert a[:, 1].tolist() == [100 + i for i in range(n)]
    a[:, 2] = 200 + np.arange(n)
    for p in peers:
        p.go_on()
        p.expect("done")
    for p in peers:
        p.finish()
    if lib == "cdxcore" and sys.version_info < (3, 13):
        # cdxcore's own behaviour there: multiprocessing's resource tracker of each attaching
        # process unlinks the name when that process exits. The memory stays for those mapping it.
        assert a[:, 1].tolist() == [100 + i for i in range(n)]
        return
    # npshm's own attach of its peer-format array: same memory.
    b = npshm.attach_shared_array(name, validate_shape=(n, 4), validate_dtype=np.int64)
    assert b.tolist() == a.tolist()


@pytest.mark.parametrize("lib", ["sharedarray", "cdxcore"])
def test_peer_creates_npshm_attaches(name, lib):
    """A peer process creates; npshm attaches it (read-write and read-only), reads the peer's
    writes, writes its own, which the peer sees; so does a forked child (the C twin) and the
    npshm command (Go)."""
    n = 2
    creator = Peer(lib, "create", name, 0, n)
    creator.expect("ready")
    try:
        a = npshm.attach(name)
        assert a.dtype == np.int64 and a.shape == (n, 4)
        assert a[:, 0].tolist() == [0, 10] and a[0, 1] == 100
        assert [d.format for d in npshm.list() if d.name == name.encode()] == [lib]
        ro = npshm.attach_shared_array(name, read_only=True, validate_shape=(n, 4), validate_dtype=np.int64)
        assert not ro.flags.writeable and ro[0, 1] == 100
        with pytest.raises(ValueError):
            npshm.attach_shared_array(name, validate_dtype=np.float64)
        a[0, 2] = 200
        # The C twin, in a forked child (the library was used before the fork).
        pid = os.fork()
        if pid == 0:
            try:
                c = npshm.attach(name)
                ok = c[0, 2] == 200 and c[0, 1] == 100
                c[1, 3] = 7
                os._exit(0 if ok else 1)
            except BaseException:
                os._exit(2)
        assert os.waitpid(pid, 0)[1] == 0
        assert a[1, 3] == 7
        # The Go command line tool (the package ships it: python -m npshm).
        out = subprocess.run([sys.executable, "-m", "npshm", "info", name], capture_output=True, text=True,
                             check=True).stdout
        assert f"format   {lib}" in out and "(2, 4)" in out and "<i8" in out
        creator.go_on()
        creator.expect("done")
    finally:
        creator.finish()


def test_peer_vectors_read_by_npshm_and_by_the_peers(tmp_path, names):
    """Every committed peer vector reads as MANIFEST says; the valid ones also attach in the real
    peer library, with the same dtype, shape and data."""
    lines = [ln.split(" ", 7) for ln in (VECTORS / "MANIFEST").read_text().splitlines() if ln and ln[0] != "#"]
    for f in lines:
        src = VECTORS / f[0]
        n = names(f[0].replace(".", "-"))
        shutil.copyfile(src, "/dev/shm/" + n)
        if f[1] == "ERR":
            with pytest.raises(ValueError):
                npshm.attach(n, ro=True)
            continue
        a = npshm.attach(n, ro=True)
        shape = () if f[3] == "-" else tuple(int(d) for d in f[3].split(","))
        assert a.shape == shape and a.dtype == np.dtype(f[7]), f
        assert list(a.tobytes()) == [(7 * k + 3) % 251 for k in range(a.nbytes)], f
        if f[0] == "sa_numpy1.seg":
            continue  # SharedArray built on numpy 1's layout: the installed one is built on numpy 2
        if f[1] == "sharedarray":
            p = SharedArray.attach("shm://" + n, ro=True)
        else:
            p = cdxcore_npshm.attach_shared_array(n, read_only=True)
        if f[7] in ("<M8",):  # SharedArray's datetime64 is the generic unit too
            assert p.dtype == np.dtype("M8")
        else:
            assert p.dtype == a.dtype, f
        assert p.shape == a.shape and p.tobytes() == a.tobytes(), f
        del p


@pytest.mark.parametrize(
    ("fmt", "dtype", "shape", "order_f", "words"),
    [
        ("sharedarray", ">f8", (3,), False, "SharedArray segments cannot carry this dtype"),
        ("sharedarray", "datetime64[ns]", (3,), False, "no datetime unit"),
        ("sharedarray", [("x", "<f4")], (3,), False, "no structured fields"),
        ("cdxcore", np.uint8, (3,), False, "no uint8"),
        ("cdxcore", "S4", (3,), False, "cdxcore segments cannot carry this dtype"),
        ("parquet", np.float64, (3,), False, "format must be 'npshm', 'sharedarray' or 'cdxcore'"),
    ],
)
def test_refusals(name, fmt, dtype, shape, order_f, words):
    with pytest.raises(ValueError, match=words):
        npshm.create_shared_array(name, shape, dtype, format=fmt)
    assert not os.path.exists("/dev/shm/" + name)
    with pytest.raises(ValueError, match=words):
        npshm.create(name, shape, dtype, format=fmt)
    assert not os.path.exists("/dev/shm/" + name)


def test_size_mismatch_is_a_clear_error(names):
    for file, words in [
        ("cdx_truncated.seg", "its header describes 144 bytes, the segment holds 136"),
        ("cdx_oversized.seg", "its header describes 144 bytes, the segment holds 208"),
        ("sa_truncated.seg", "its header describes 1348 bytes, the segment holds 948"),
    ]:
        n = names()
        shutil.copyfile(VECTORS / file, "/dev/shm/" + n)
        with pytest.raises(ValueError, match=words):
            npshm.attach(n)


def test_peer_segments_are_never_orphans(name):
    a = npshm.create(name, 4, np.int32, format="sharedarray")
    del a
    d = [d for d in npshm.list() if d.name == name.encode()]
    assert d and d[0].format == "sharedarray" and d[0].creator_pid == 0
    assert name.encode() not in [o.name for o in npshm.delete_orphans(pattern=name, dry_run=True)]
