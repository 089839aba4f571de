"""The sdist builds where Go and a C compiler are, and says in words which one is missing
elsewhere: without Go, the version go.mod names and where to get it; with Go but no C compiler,
that cgo needs one (instead of cgo's "build constraints exclude all Go files").

The sdist is $NPSHM_SDIST; without it the tests are skipped (`./build.sh sdist` makes it and runs
them all; `./build.sh test` runs the two failures, which take seconds). The missing tool is hidden
in a private mount namespace (root and unshare needed): /dev/null is bound over every `go` and
every C compiler CMake would find, so find_program sees files it cannot execute and the rest of
the machine is untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_wheel import fork_filter  # noqa: E402  (the smoke test's input, as test_wheel gives it)

SMOKE = HERE / "wheel_smoke.py"
SDIST = os.path.abspath(os.environ["NPSHM_SDIST"]) if os.environ.get("NPSHM_SDIST") else None
GO_MIN = re.search(r"^go (\S+)$", (HERE.parent.parent / "go.mod").read_text(), re.M)

pytestmark = pytest.mark.skipif(not SDIST, reason="no sdist: set NPSHM_SDIST (./build.sh sdist)")

# The names CMake tries for a C compiler (CMakeDetermineCCompiler), and the places it looks besides
# PATH (its system prefixes' bin directories).
CC_NAMES = ["cc", "gcc", "clang", "icx", "xlc", "bcc", "cl", "c99", "c89"]
SYSTEM_BIN = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/local/go/bin", "/usr/lib/go/bin"]


def _executables(names: list[str]) -> list[str]:
    """Every file these names reach, on PATH or in the system directories, symlinks resolved."""
    dirs = os.environ.get("PATH", "").split(os.pathsep) + SYSTEM_BIN
    if os.environ.get("GOROOT"):
        dirs.append(os.path.join(os.environ["GOROOT"], "bin"))
    found = set()
    for d in dirs:
        for n in names:
            p = os.path.join(d, n)
            if d and os.path.isfile(p) and os.access(p, os.X_OK):
                found.add(os.path.realpath(p))
    return sorted(found)


def _build_hiding(hidden: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """pip wheel of the sdist (no build isolation: this venv has the backend) with the files
    `hidden` made unusable, in a private mount namespace."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to hide a tool in a private mount namespace")
    assert hidden, "nothing to hide"
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "GOROOT", "GO", "CMAKE_C_COMPILER")}
    script = 'for f in $HIDE; do mount --bind /dev/null "$f" || exit 78; done; exec "$@"'
    env["HIDE"] = " ".join(hidden)
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
           sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
           "--disable-pip-version-check", "-w", str(tmp_path / "out"), SDIST]
    r = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    if r.returncode == 78:
        pytest.skip("cannot bind-mount in a private mount namespace here")
    return r


def test_without_go_the_build_says_which_go_and_where(tmp_path):
    assert GO_MIN
    r = _build_hiding(_executables(["go"]), tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    want = f"npshm: building libnpshm.so needs Go {GO_MIN[1]} or newer, and there is no `go`"
    assert want in " ".join(out.split()), out
    assert "https://go.dev/dl/" in out, out
    assert not list((tmp_path / "out").glob("*.whl"))


def test_without_a_c_compiler_the_build_says_so(tmp_path):
    r = _build_hiding(_executables(CC_NAMES), tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "npshm: building libnpshm.so needs a C compiler as well as Go" in " ".join(out.split()), out
    assert "build constraints exclude" not in out, out
    assert not list((tmp_path / "out").glob("*.whl"))


def test_sdist_builds_installs_and_works(tmp_path):
    """What a user does: pip install the sdist into a fresh venv (the build backend from PyPI),
    then the package works with Go and the compiler out of PATH."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", SDIST],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    env["PATH"] = str(venv / "bin")
    env["NPSHM_FORK_FILTER"] = fork_filter()
    r = subprocess.run([py, str(SMOKE)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ok npshm"), r.stdout + r.stderr
