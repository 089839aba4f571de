"""The ``npshm`` command: the command line tool that ships inside the package.

The tool is a static Go binary, ``npshm/_bin/npshm`` (built from ``cmd/npshm`` by CMake). The
``npshm`` console script and ``python -m npshm`` replace the Python process with it, so that its
output, exit status and signals are the tool's own.
"""

from __future__ import annotations

import os
import sys

__all__ = ["binary", "main"]


def binary() -> str:
    """The path of the command line tool inside the installed package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "npshm")


def main() -> None:
    """Run the command line tool with this process's arguments; never returns."""
    exe = binary()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(exe, ["npshm", *sys.argv[1:]])
    except OSError as e:
        sys.exit(f"npshm: cannot run the command line tool {exe}: {e.strerror}")
