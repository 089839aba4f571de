"""The directory of shared arrays (issue 13): NPSHM_DIR and npshm.set_dir, its policy, and arrays on
a huge-page tmpfs (in a private mount namespace, as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npshm


@pytest.fixture
def restore_dir():
    yield
    npshm.set_dir(None)


def test_set_dir_moves_every_operation(tmp_path, restore_dir):
    d = tmp_path / "arrays"
    d.mkdir(mode=0o700)
    assert npshm.get_dir() == "/dev/shm"
    npshm.set_dir(d)
    assert npshm.get_dir() == str(d)
    name = f"dirtest-{os.getpid()}"
    a = npshm.create_shared_array(name, (4,), np.int32, full=7)
    assert (d / name).exists() and not os.path.exists("/dev/shm/" + name)
    assert npshm.attach_shared_array(name)[3] == 7
    assert [x.name for x in npshm.list()] == [name.encode()]
    assert npshm.clean_temporaries() == 0
    assert npshm.delete_shared_array(name)
    assert not (d / name).exists()
    del a
    npshm.set_dir(None)
    assert npshm.get_dir() == "/dev/shm"


def test_set_dir_refusals_keep_the_directory(tmp_path, restore_dir):
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o777)
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(ValueError, match="absolute path"):
        npshm.set_dir("relative")
    with pytest.raises(FileNotFoundError):
        npshm.set_dir(tmp_path / "missing")
    with pytest.raises(PermissionError, match="symbolic link"):
        npshm.set_dir(tmp_path / "link")
    with pytest.raises(PermissionError, match="not sticky"):
        npshm.set_dir(tmp_path / "open")
    # Every directory above it too: whoever may write to one may swap what it holds.
    (tmp_path / "open" / "in").mkdir()
    with pytest.raises(PermissionError, match=f"is in {tmp_path}/open, which others may write to and is not sticky"):
        npshm.set_dir(tmp_path / "open" / "in")
    (tmp_path / "real" / "in").mkdir()
    with pytest.raises(PermissionError, match=f"is in {tmp_path}/link, which is a symbolic link"):
        npshm.set_dir(tmp_path / "link" / "in")
    assert npshm.get_dir() == "/dev/shm"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to give a directory to another user")
def test_npshm_dir_under_another_users_directory(tmp_path):
    """Another user who owns a directory above NPSHM_DIR could rename it away and put theirs in its
    place: refused, in the parent process (Go) and in a forked child (the C twin)."""
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "mine").mkdir(mode=0o700)
    os.chown(tmp_path / "theirs", 65534, 65534)
    code = textwrap.dedent("""
        import os, numpy as np, npshm
        for where in ("parent", "child"):
            if where == "child" and os.fork() != 0:
                _, status = os.wait()
                raise SystemExit(os.waitstatus_to_exitcode(status))
            try:
                npshm.create_shared_array("dirtest", (2,), np.uint8)
            except PermissionError as e:
                print(where, e)
            if where == "child":
                os._exit(0)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "NPSHM_DIR": str(tmp_path / "theirs" / "mine")})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [x.split()[0] for x in lines] == ["parent", "child"]
    for line in lines:
        assert f"is in {tmp_path}/theirs, which belongs to neither root nor this user but uid 65534" in line


def test_npshm_dir_environment_variable(tmp_path):
    d = tmp_path / "env"
    d.mkdir(mode=0o700)
    code = textwrap.dedent("""
        import os, sys, numpy as np, npshm
        print(npshm.get_dir())
        npshm.create_shared_array("envtest", (2,), np.uint8)
        print(os.path.exists(os.path.join(sys.argv[1], "envtest")))
    """)
    r = subprocess.run([sys.executable, "-c", code, str(d)], env={**os.environ, "NPSHM_DIR": str(d)},
                       capture_output=True, text=True, check=True)
    assert r.stdout.split() == [str(d), "True"]
    # A directory that breaks the rules: every operation on a shared-memory name says why.
    os.chmod(d, 0o777)
    code = "import numpy as np, npshm\nnpshm.create_shared_array('envtest2', (2,), np.uint8)"
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NPSHM_DIR": str(d)},
                       capture_output=True, text=True)
    assert r.returncode != 0 and "not sticky" in r.stderr and "PermissionError" in r.stderr


_REMOVED = r"""
import os, subprocess, sys, numpy as np, npshm
d, src = sys.argv[1], sys.argv[2]
os.mkdir(d, 0o700)
npshm.set_dir(d)
ref = npshm.reference(npshm.create_shared_array("removed", (2,), np.uint8))
subprocess.run(["rm", "-r", d], check=True)  # a clean-up script, /tmp's age-out
remake = ["mkdir", "-m", "777", d]
if os.geteuid() == 0:  # the attacker of RELIABILITY.md; else this user stands in for them
    remake = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"] + remake
subprocess.run(remake, check=True)
want = f"the directory of shared arrays (NPSHM_DIR) {d} was removed"
ops = {
    "create": lambda: npshm.create_shared_array("removed", (2,), np.uint8),
    "create(force)": lambda: npshm.create_shared_array("removed", (2,), np.uint8, force=True),
    "attach": lambda: npshm.attach_shared_array("removed"),
    "list": npshm.list,
    "delete": lambda: npshm.delete_shared_array("removed"),
    "read_shared_array": lambda: npshm.read_shared_array(src, "removed"),
    "clean_temporaries": npshm.clean_temporaries,
    "delete_orphans": lambda: npshm.delete_orphans(dry_run=False),
    "from_reference": lambda: npshm.from_reference(ref),
}
for where in ("parent", "child"):  # the Go core, then the C twin in a forked child
    if where == "child" and os.fork() != 0:
        _, status = os.wait()
        raise SystemExit(os.waitstatus_to_exitcode(status))
    for op, call in ops.items():
        try:
            call()
            print(where, op, "succeeded")
        except FileNotFoundError as e:
            print(where, op, "FileNotFoundError" if want in str(e) else repr(e))
        except Exception as e:
            print(where, op, repr(e))
    print(where, "entries", len(os.listdir(d)))
    if where == "child":
        sys.stdout.flush()
        os._exit(0)
"""


def test_removed_dir_made_again_is_not_used():
    """A chosen directory removed later (a clean-up script, /tmp's age-out) and made again under a
    sticky parent by another user (uid 65534, as root) must not be used: every operation fails with
    FileNotFoundError naming the directory, in the parent (Go core) and a forked child (C twin), and
    nothing is made in the new directory."""
    import pathlib
    import tempfile

    parent = pathlib.Path(tempfile.mkdtemp(prefix="npshm-pytest-"))  # not tmp_path: uid 65534 must reach it
    try:
        os.chmod(parent, 0o1777)
        src = parent / "src.npy"
        np.save(src, np.arange(3, dtype=np.int64))
        r = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", _REMOVED, str(parent / "arrays"),
                            str(src)], capture_output=True, text=True)
    finally:
        shutil.rmtree(parent)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    ops = ["create", "create(force)", "attach", "list", "delete", "read_shared_array", "clean_temporaries",
           "delete_orphans", "from_reference"]
    want = [f"{where} {op} FileNotFoundError" for where in ("parent", "child") for op in ops + ["entries"]]
    want = [w if not w.endswith("entries FileNotFoundError") else w.replace("FileNotFoundError", "0") for w in want]
    assert lines == want


_HUGE = r"""
import os, sys, numpy as np, npshm
d = sys.argv[1]
name = "hugetest"
a = npshm.create_shared_array(name, (4 << 20,), np.uint8, full=1)
with open(os.path.join(d, name), "rb") as f:
    head = f.read(24)
offset = int.from_bytes(head[16:24], "little")
b = npshm.attach_shared_array(name, read_only=True)
assert int(b.sum()) == 4 << 20
pmd = 0
with open("/proc/self/smaps") as f:
    for line in f:
        if line.startswith("FilePmdMapped:") or line.startswith("ShmemPmdMapped:"):
            pmd += int(line.split()[1])
small = npshm.create_shared_array("small", (1000,), np.uint8)
with open(os.path.join(d, "small"), "rb") as f:
    small_offset = int.from_bytes(f.read(24)[16:24], "little")
def data_offset(name):
    with open(os.path.join(d, name), "rb") as f:
        return int.from_bytes(f.read(24)[16:24], "little")
src = os.path.join(sys.argv[2], "src.npy")
np.save(src, np.arange(1 << 19, dtype=np.int64))  # 4 MiB
loaded = npshm.read_shared_array(src, "loaded")  # the Go core
assert int(loaded[-1]) == (1 << 19) - 1
pid = os.fork()
if pid == 0:  # the C twin
    b = npshm.read_shared_array(src, "loaded-in-child")
    os._exit(0 if int(b[-1]) == (1 << 19) - 1 else 1)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
print(offset, pmd, small_offset, data_offset("loaded"), data_offset("loaded-in-child"))
"""


def _in_mount_namespace(script: str) -> "subprocess.CompletedProcess[str]":
    """Run a shell script in a private mount namespace; skip if it cannot mount, fail if it fails."""
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True)
    if r.returncode != 0 and "mount" in r.stderr and "permission" in r.stderr.lower():
        pytest.skip("cannot mount here: " + r.stderr)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_huge_page_tmpfs_in_a_private_mount_namespace(tmp_path):
    d = tmp_path / "huge"
    d.mkdir()
    r = _in_mount_namespace(f"mount -t tmpfs -o huge=within_size,size=64m,mode=1777 tmpfs {d} && "
                            f"NPSHM_DIR={d} {sys.executable} -W ignore::DeprecationWarning -c '{_HUGE}' {d} {tmp_path}")
    offset, pmd, small_offset, loaded_go, loaded_c = map(int, r.stdout.split())
    assert offset == 2 << 20  # data in huge pages of its own
    assert pmd >= 2048  # read through huge pages (kB)
    assert small_offset == 4096  # small arrays keep the usual layout
    assert loaded_go == loaded_c == 2 << 20  # so do arrays loaded from a file, in core and twin


_SYSTEM_DIR = r"""
import os, subprocess, sys, numpy as np, npshm
a = npshm.create_shared_array("system-dir", (3,), np.int64, full=7)
pid = os.fork()
if pid == 0:  # the C twin
    b = npshm.attach_shared_array("system-dir")
    b[0] = 8
    os._exit(0)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
out = subprocess.run([sys.executable, "-m", "npshm", "ls"], capture_output=True, text=True, check=True).stdout
assert "system-dir" in out, out  # the Go command line tool
print(a.tolist())
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_dev_shm_is_used_whoever_seems_to_own_it():
    # The ownership rules are for a directory someone chose (NPSHM_DIR, set_dir). /dev/shm is the
    # system's: in a user namespace root's files show as the overflow uid, and npshm must work.
    r = _in_mount_namespace(f"mount -t tmpfs -o size=8m,mode=1777,uid=65534,gid=65534 tmpfs /dev/shm && "
                            f"env -u NPSHM_DIR {sys.executable} -W ignore::DeprecationWarning -c '{_SYSTEM_DIR}'")
    assert r.stdout.split() == ["[8,", "7,", "7]"]


def _rewrite_header_unnoticed(path, other):
    """Give the file at path the header of the file at other, through a mapping made writable before
    the caller's next attach (no new write fault, so the file's times do not change, as on a disk
    filesystem that gives a deleted file's inode number to the next file within one clock tick)."""
    import mmap

    with open(other, "rb") as f:
        hb = f.read(512)
    f = open(path, "r+b")
    m = mmap.mmap(f.fileno(), 0)
    m[:512] = m[:512]  # the write fault, now

    def rewrite():
        m[:512] = hb
        m.close()
        f.close()

    return rewrite


def _cache_case(a_name, b_name, a_path, b_path):
    a = npshm.create_shared_array(a_name, (512,), np.float64)
    b = npshm.create_shared_array(b_name, (8, 64), np.int64)
    try:
        rewrite = _rewrite_header_unnoticed(a_path, b_path)
        npshm.attach_shared_array(a_name)  # validated (and, on tmpfs names, cached)
        rewrite()
        x = npshm.attach_shared_array(a_name)
        return x.dtype, x.shape
    finally:
        del a, b
        npshm.delete_shared_array(a_name)
        npshm.delete_shared_array(b_name)


def test_attach_cache_never_serves_a_file_path(tmp_path):
    # The C attach's header cache trusts (device, inode, size, times) only where inode numbers are
    # never given out again (tmpfs, hugetlbfs): a file:// path may be on ext4, which reuses them.
    for d in (tmp_path, "/dev/shm"):
        base = f"{d}/cachetest-{os.getpid()}-{os.urandom(4).hex()}"
        got = _cache_case("file://" + base + "a", "file://" + base + "b", base + "a", base + "b")
        assert got == (np.dtype(np.int64), (8, 64)), d


def test_attach_cache_off_on_a_disk_directory(tmp_path, restore_dir):
    if subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True).stdout.strip() in (
        "tmpfs",
        "hugetlbfs",
    ):
        pytest.skip("tmp_path is on tmpfs")
    d = tmp_path / "arrays"
    d.mkdir(mode=0o700)
    npshm.set_dir(d)
    name = f"cachetest-{os.getpid()}-{os.urandom(4).hex()}"
    got = _cache_case(name + "a", name + "b", str(d / (name + "a")), str(d / (name + "b")))
    assert got == (np.dtype(np.int64), (8, 64))
