"""Deadlines of the tests, for machines slower than the one they were written on.

Every wait that gives up (a child that must pause, report or exit within so many seconds) and
every minimum duration that makes a measurement meaningful is written for native speed and
multiplied by NPSHM_TEST_TIME_SCALE (default 1). Under qemu-user emulation an interpreter takes
5 to 25 s to start with numpy, so `./build.sh test-aarch64` runs the suite with a scale of 5.
"""

from __future__ import annotations

import os

__all__ = ["SCALE", "seconds"]


def _scale() -> float:
    raw = os.environ.get("NPSHM_TEST_TIME_SCALE", "") or "1"
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value >= 1:
        raise ValueError(f"NPSHM_TEST_TIME_SCALE={raw!r}: expected a number of at least 1")
    return value


SCALE = _scale()


def seconds(native: float) -> float:
    """The time `native` seconds take here: native * NPSHM_TEST_TIME_SCALE."""
    return native * SCALE
