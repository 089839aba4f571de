"""Orphans when /proc hides other users' processes (hidepid=2, invisible): they are not listed at
all, so they could not be counted as processes this user may not read, and an array readable by
others that another user's process maps was offered for deletion once its creator was gone. In a
private mount namespace (its own /proc mount and /dev/shm), as root acting as two users."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

_SCRIPT = r"""
set -e
mount -t proc -o hidepid=2 proc /proc || exit 78
mount -t tmpfs -o size=8m,mode=1777 tmpfs /dev/shm
# The other users reach this Python and its packages through a bind mount under a fresh /mnt: the
# checkout may lie under a directory only root may enter (a fresh clone in a mktemp -d).
[ -d /mnt ] || exit 78
mount -t tmpfs -o mode=755 tmpfs /mnt
mkdir /mnt/prefix
mount --bind "$PREFIX" /mnt/prefix
PY="/mnt/prefix/$EXE"
as() { u=$1; shift; setpriv --reuid $u --regid $u --clear-groups "$@"; }
# uid 65534 makes an array others may read, and exits: its creator is gone
as 65534 "$PY" -c "import npshm, numpy as np; npshm.create_shared_array('shared', (10,), np.int64, full=3, mode=0o644)"
# uid 1000 maps it and keeps running, invisible to uid 65534
as 1000 "$PY" -c "import npshm, time; a = npshm.attach_shared_array('shared', read_only=True); print('mapped', flush=True); time.sleep(100)" > mapped 2>&1 &
trap "kill $! 2>/dev/null" EXIT
while [ ! -s mapped ]; do sleep 0.01; done
as 65534 "$PY" -c "import npshm; print('python', [d.name.decode() for d in npshm.delete_orphans(dry_run=True)])"
as 65534 "$PY" -m npshm gc --orphans --yes | sed 's/^/go /'
ls /dev/shm | sed 's/^/left /'
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("setpriv") is None,
                    reason="needs root, unshare and setpriv")
def test_hidden_processes_keep_arrays_others_may_map(tmp_path):
    script = tmp_path / "hidepid.sh"
    script.write_text(_SCRIPT)
    os.chmod(tmp_path, 0o755)
    env = dict(os.environ, PREFIX=sys.prefix, EXE=os.path.relpath(sys.executable, sys.prefix))
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    out, err = proc.stdout, proc.stderr
    if proc.returncode == 78:
        pytest.skip("cannot mount a /proc with hidepid here: " + err)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    assert "python []" in out, out  # delete_orphans keeps it
    assert "go no orphans" in out, out  # so does npshm gc --orphans
    assert "left shared" in out, out
