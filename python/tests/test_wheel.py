"""The wheel installs into a fresh virtual environment on a machine with neither Go nor a C
compiler, and works there (PATH is stripped of both for the install and the run): the library,
and the command line tool (`npshm --version`, `python -m npshm list`).

The wheel is $NPSHM_WHEEL; without it the test is skipped (`./build.sh wheel` makes the wheel;
a wheel lying in dist/ is not picked up, since it may be older than the tree). Besides this interpreter, every other CPython 3.10+ found on
PATH or under pyenv is tried, with numpy 1.x on the oldest one: the wheel is abi3."""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
import sys

import pytest

SMOKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wheel_smoke.py")
PYTHON_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "PYTHON.md")


def fork_filter() -> str:
    """The code block of docs/PYTHON.md that silences Python 3.12's fork warning, as printed."""
    with open(PYTHON_MD) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    found = [b for b in blocks if "filterwarnings" in b and "multi-threaded" in b]
    assert len(found) == 1, "docs/PYTHON.md should show one filterwarnings block for the fork warning"
    return found[0]


def _wheel() -> str | None:
    w = os.environ.get("NPSHM_WHEEL")
    if w and not os.path.isfile(w):
        raise FileNotFoundError(f"NPSHM_WHEEL={w} is not a file")
    return os.path.abspath(w) if w else None


def _version(exe: str) -> tuple[tuple[int, int], str] | None:
    """The interpreter's (major, minor) version and machine."""
    code = "import platform, sys; print(*sys.version_info[:2], platform.machine())"
    try:
        out = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=30).stdout.split()
        return (int(out[0]), int(out[1])), out[2]
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def _interpreters() -> list[tuple[str, str]]:
    """(python, numpy requirement): this one, plus other CPythons >= 3.10 found here that run
    the wheel's architecture (under emulation, the machine's own do not)."""
    base = getattr(sys, "_base_executable", sys.executable)
    out = [(base, "numpy")]
    seen = {sys.version_info[:2]}
    cands = [shutil.which(f"python3.{m}") for m in range(10, 15)]
    cands += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    others = []
    for c in cands:
        if not c:
            continue
        vm = _version(c)
        if not vm or vm[1] != platform.machine():
            continue
        v = vm[0]
        if v >= (3, 10) and v not in seen:
            seen.add(v)
            others.append((v, c))
    others.sort()
    for i, (v, c) in enumerate(others):
        # the oldest numpy supported (1.24) on the oldest Python, to cover numpy < 2 too
        out.append((c, "numpy==1.24.*" if i == 0 and v <= (3, 11) else "numpy"))
    return out


WHEEL = _wheel()


@pytest.mark.skipif(WHEEL is None, reason="no wheel: set NPSHM_WHEEL to one (./build.sh wheel makes it)")
@pytest.mark.parametrize("python, numpy_req", _interpreters(),
                         ids=lambda x: os.path.basename(os.path.dirname(os.path.dirname(x)))
                         if "/" in x else x)
def test_wheel_installs_and_works_without_go_or_compiler(tmp_path, python, numpy_req):
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    bindir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GOROOT", "CC")}
    env["PATH"] = str(bindir)  # no go, no cc, no gcc
    for tool in ("go", "cc", "gcc"):
        assert shutil.which(tool, path=env["PATH"]) is None
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--only-binary", ":all:",
         "--disable-pip-version-check", "-q", numpy_req, WHEEL],
        check=True, env=env, cwd=tmp_path,
    )
    env["NPSHM_FORK_FILTER"] = fork_filter()
    r = subprocess.run([str(bindir / "python"), SMOKE], env=env, cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok npshm"), r.stdout
    print(r.stdout)
