"""Arrays in a hugetlbfs directory (NPSHM_DIR), in a private mount namespace, as root: the kernel
maps a hugetlbfs file in whole huge pages, and a mapping released with the segment's own length
stayed (munmap EINVAL), with its huge pages, after release and delete."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from typing import Iterator

import pytest

PAGES = 4  # 2 MiB each

_SCRIPT = r"""
import gc, os, sys
import numpy as np
import npshm

d = sys.argv[1]

def mapped():
    with open("/proc/self/maps") as f:
        return [l.split()[1] for l in f if d in l]

def cycle(tag):
    for i in range(3):  # more than the pages would hold if each cycle kept one
        a = npshm.create_shared_array(f"{tag}{i}", (10,), np.uint8, full=1)
        b = npshm.attach(f"{tag}{i}")
        assert int(b.sum()) == 10
        del a, b
        gc.collect()
        npshm.delete(f"{tag}{i}")
        assert mapped() == [], (tag, i, mapped())
    # reserve=False: hugetlbfs sizes files in whole huge pages only (ftruncate was EINVAL), and
    # reserves a shared mapping's pages anyway: such an array is reserved there.
    r = npshm.create_shared_array(f"{tag}nr", (3 << 20,), np.uint8, reserve=False)
    r[-1] = 7
    assert int(npshm.attach(f"{tag}nr")[-1]) == 7
    del r
    gc.collect()
    npshm.delete(f"{tag}nr")
    assert mapped() == [], (tag, mapped())
    src = os.path.join(sys.argv[2], f"{tag}.npy")
    np.save(src, np.arange(1000, dtype=np.int32))
    c = npshm.read_shared_array(src, f"{tag}load", read_only=True)
    assert int(c[-1]) == 999
    assert mapped() == ["r--s"], mapped()  # the read-only load's mprotect took
    del c
    gc.collect()
    npshm.delete(f"{tag}load")
    assert mapped() == [], (tag, mapped())

cycle("go")  # the Go core
pid = os.fork()
if pid == 0:  # the C twin
    try:
        cycle("c")
        code = 0
    except BaseException as e:
        print("forked:", repr(e), file=sys.stderr)
        code = 1
    os._exit(code)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0, "forked child"
print("ok")
"""


@contextlib.contextmanager
def _huge_pages(n: int) -> Iterator[None]:
    """n more huge pages in the system's pool for the duration, under a lock shared by every run of
    this test on the machine, and the pool as it was afterwards."""
    with open("/tmp/npshm-test-hugepages.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = "/proc/sys/vm/nr_hugepages"
        with open(path) as f:
            before = int(f.read())
        try:
            with open(path, "w") as f:
                f.write(str(before + n))
            with open(path) as f:
                if int(f.read()) < before + n:
                    pytest.skip(f"the kernel did not give {n} huge pages")
            yield
        finally:
            with open(path, "w") as f:
                f.write(str(before))


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None
                    or not os.path.exists("/proc/sys/vm/nr_hugepages"), reason="needs root, unshare and huge pages")
def test_release_unmaps_a_hugetlbfs_array(tmp_path):
    d = tmp_path / "hugetlbfs"
    d.mkdir()
    script = tmp_path / "huge.py"
    script.write_text(_SCRIPT)
    with _huge_pages(PAGES):
        r = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             f"mount -t hugetlbfs -o size={2 * PAGES}M,mode=1777 none {d} || exit 78; "
             f'NPSHM_DIR={d} exec "$0" "$@"', sys.executable, str(script), str(d), str(tmp_path)],
            capture_output=True, text=True, timeout=120)
    if r.returncode == 78:
        pytest.skip("cannot mount a hugetlbfs here: " + r.stderr)
    assert r.returncode == 0 and r.stdout.strip() == "ok", f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
