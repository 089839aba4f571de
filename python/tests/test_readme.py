"""README's Python snippet, exactly as printed, as the two processes it describes.

The snippet is the ```python block under "## Python"; its "# process 2" line splits it into the
creator and the attacher (the imports above "# process 1" open both). Process 1 runs its part and
stays alive; process 2 runs its part, which writes and deletes; then process 1 shows that it saw
process 2's write at once and that its mapping outlived the name, as the comments promise. A third
run of process 1's part while the array exists must stop with FileExistsError ("FileExistsError if
taken"). The snippet uses the fixed name "prices", so it runs in a private /dev/shm (a mount
namespace, which needs root), like README's Go and C programs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

# Runs inside the private /dev/shm: process 1, then (while it lives) a second process 1, then
# process 2, then what process 1 sees; prints one JSON report.
DRIVER = r"""
import json, os, subprocess, sys
py = sys.executable
p1 = subprocess.Popen([py, "p1.py"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
ready = p1.stdout.readline().strip()
again = subprocess.run([py, "p1_only.py"], capture_output=True, text=True)
p2 = subprocess.run([py, "p2.py"], capture_output=True, text=True)
exists_after = os.path.exists("/dev/shm/prices")
out, _ = p1.communicate("go\n")
print(json.dumps({"ready": ready, "again_rc": again.returncode, "again_err": again.stderr,
                  "p2_rc": p2.returncode, "p2_err": p2.stderr, "exists_after": exists_after,
                  "p1_rc": p1.returncode, "p1_out": out, "left": sorted(os.listdir("/dev/shm"))}))
"""

# Appended to process 1's part (nothing of the snippet changes): wait for process 2, then show a.
P1_TAIL = """
print("ready", flush=True)
input()
print(a.tolist())
"""


def _snippet() -> tuple[str, str, str]:
    m = re.search(r"\n## Python\n.*?```python\n(.*?)```", README.read_text(), re.S)
    assert m, "README has no ```python block under ## Python"
    code = m[1]
    head, sep1, rest = code.partition("# process 1\n")
    part1, sep2, part2 = rest.partition("# process 2\n")
    assert sep1 and sep2, "README's Python snippet has no '# process 1' and '# process 2' lines"
    return head, sep1 + part1, sep2 + part2


def test_readme_python_snippet(tmp_path):
    head, part1, part2 = _snippet()
    if os.geteuid() != 0 or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("needs root for a private /dev/shm (unshare -m)")
    (tmp_path / "p1.py").write_text(head + part1 + P1_TAIL)
    (tmp_path / "p1_only.py").write_text(head + part1)
    (tmp_path / "p2.py").write_text(head + part2)
    (tmp_path / "driver.py").write_text(DRIVER)
    script = f'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "{sys.executable}" driver.py'
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["ready"] == "ready", rep
    assert rep["again_rc"] == 1 and "FileExistsError" in rep["again_err"], rep
    assert rep["p2_rc"] == 0, rep["p2_err"]
    assert not rep["exists_after"], "process 2 deleted the name"
    assert rep["p1_rc"] == 0
    # process 1 sees process 2's column at once, through a mapping that outlived the name
    assert json.loads(rep["p1_out"]) == [[1.5, 2.0, 0.0]] * 10, rep["p1_out"]
    assert rep["left"] == [], "the snippet left something in /dev/shm"
