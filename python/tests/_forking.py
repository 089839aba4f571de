"""Forking helpers for the tests that run npshm in forked children (the library's C path)."""

from __future__ import annotations

import math
import os
import signal
import warnings
from typing import Callable

from _timing import seconds


def fork_child(fn: Callable[[], int], alarm: float = 120) -> int:
    """Run fn in a forked child whose exit code is fn's result, and return the child's pid.

    The child never returns into pytest: an exception is printed and exits 1, and an alarm kills a
    child that hangs, so that the parent's wait fails instead of hanging.
    """
    with warnings.catch_warnings():
        # Python 3.12+ warns that the process has threads (the Go runtime's); forking is intended.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(math.ceil(seconds(alarm)))
            code = fn()
        except BaseException as e:
            os.write(2, f"forked child {os.getpid()}: {e!r}\n".encode())
        finally:
            os._exit(code)
    return pid


def exit_code(pid: int) -> int:
    """Wait for a child and return its exit code (negative: the signal that killed it)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
