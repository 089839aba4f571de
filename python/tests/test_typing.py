"""Typing: the stubs of the extension are true, and a user's code type-checks as it should.

- ``_native.pyi`` matches the built extension (mypy's stubtest: every name and signature);
- ``typing/user_script.py``, which uses every public name, passes ``mypy --strict`` and pyright in
  strict mode (basedpyright, which installs from PyPI with its own Node.js), with the types that
  its ``assert_type`` calls state, and runs;
- ``typing/misuse.py`` gets an error from both checkers on each line marked ``# expect-error``
  (e.g. using ``attach_shared_array(..., raise_on_error=False)`` without a None check) and on no
  other line, so that the typing cannot pass by accepting everything.

The checkers run against the installed package, from a directory outside the source tree. Without
mypy or basedpyright the tests skip, except under CI (``CI=true``), where build.sh installs both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "typing"
USER, MISUSE = HERE / "user_script.py", HERE / "misuse.py"


def _expected_errors(path: Path) -> set[int]:
    return {i for i, line in enumerate(path.read_text().splitlines(), 1) if "# expect-error" in line}


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{module} is not installed (build.sh installs it)")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for f in (USER, MISUSE):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_stubs_match_the_extension(tmp_path):
    _need("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "npshm._native"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict(work):
    _need("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--hide-error-context",
                        "-p", "npshm", "-m", USER.stem, "-m", MISUSE.stem], cwd=work, capture_output=True, text=True)
    errors: dict[str, set[int]] = {}
    for m in re.finditer(r"^(\S+?):(\d+): error:", r.stdout, re.M):
        errors.setdefault(os.path.basename(m[1]), set()).add(int(m[2]))
    assert errors == {MISUSE.name: _expected_errors(MISUSE)}, r.stdout + r.stderr


def test_pyright_strict(work):
    _need("basedpyright")
    (work / "pyrightconfig.json").write_text(json.dumps({
        "typeCheckingMode": "strict",
        "pythonVersion": "%d.%d" % sys.version_info[:2],
    }))
    exe = os.path.join(os.path.dirname(sys.executable), "basedpyright")
    r = subprocess.run([exe, "--outputjson", "--pythonpath", sys.executable, USER.name, MISUSE.name],
                       cwd=work, capture_output=True, text=True)
    report = json.loads(r.stdout)
    errors: dict[str, set[int]] = {}
    for d in report["generalDiagnostics"]:
        if d["severity"] == "error":
            errors.setdefault(os.path.basename(d["file"]), set()).add(d["range"]["start"]["line"] + 1)
    assert errors == {MISUSE.name: _expected_errors(MISUSE)}, r.stdout


def test_user_script_runs(work):
    r = subprocess.run([sys.executable, USER.name], cwd=work, capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stdout + r.stderr
