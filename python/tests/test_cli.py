"""The command line tool as the package installs it: the ``npshm`` console script and
``python -m npshm`` run the static Go binary npshm/_bin/npshm, passing arguments and exit status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import npshm
from npshm import _cli


def cli(*args: str, module: bool = True) -> subprocess.CompletedProcess[str]:
    if module:
        cmd = [sys.executable, "-m", "npshm", *args]
    else:
        script = shutil.which("npshm", path=os.path.dirname(sys.executable))
        assert script, "the npshm console script is not installed next to this Python"
        cmd = [script, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", [True, False], ids=["python -m npshm", "npshm script"])
def test_version_and_exit_status_pass_through(module):
    r = cli("--version", module=module)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"npshm {npshm.__version__}\n", "")
    r = cli("frob", module=module)
    assert r.returncode == 2 and 'npshm: unknown command "frob"' in r.stderr
    r = cli("info", "npshm-pytest-no-such-array", module=module)
    assert r.returncode == 1
    assert r.stderr.startswith('npshm info: attach("npshm-pytest-no-such-array"): no array of that name')


def test_the_tool_sees_and_deletes_what_python_made(name):
    a = npshm.create_shared_array(name, (10, 3), np.float64, full=1.5)
    r = cli("list", "--json")
    assert r.returncode == 0, r.stderr
    mine = [x for x in json.loads(r.stdout)["arrays"] if x["name"] == name]
    assert len(mine) == 1 and mine[0]["shape"] == [10, 3] and mine[0]["dtype"] == "<f8"
    assert mine[0]["creator_pid"] == os.getpid() and mine[0]["creator_alive"] is True
    r = cli("delete", name, module=False)
    assert (r.returncode, r.stdout) == (0, f"deleted {name}\n"), r.stderr
    with pytest.raises(FileNotFoundError):
        npshm.attach_shared_array(name)
    assert a[9, 2] == 1.5  # the mapping stays


def test_the_tool_is_a_static_binary():
    exe = _cli.binary()
    assert os.access(exe, os.X_OK), exe
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True).stdout
        assert "NEEDED" not in out, out
