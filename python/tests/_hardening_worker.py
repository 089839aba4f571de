"""Processes of the hardening tests (test_hardening_*.py), run as fresh interpreters:

    python _hardening_worker.py race NAME             wait for EOF on stdin, then create NAME;
                                                      print "won" or "exists"
    python _hardening_worker.py replace NAME N        N times: replace NAME by an array filled
                                                      with its generation (full=)
    python _hardening_worker.py delete NAME N         N times: create NAME filled, then delete it
    python _hardening_worker.py victim NAME FORK OP   write the pid that does OP to stdout, then
                                                      OP (create or replace) NAME; in a child
                                                      forked after using npshm if FORK is 1.
                                                      Meant to be paused by NPSHM_TEST_PAUSE.

A fresh interpreter loads libnpshm anew, so it runs on the Go core and reads NPSHM_TEST_PAUSE.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import npshm

SHAPE = (64, 1024)  # 512 KiB of int64: filling it takes long enough to be caught half-done


def generation_shape(g: int) -> tuple[int, int]:
    """Generations differ in shape too, so that a header from one and data from another show."""
    return (SHAPE[0] + g % 3, SHAPE[1])


def race(name: str) -> None:
    print("ready", flush=True)
    sys.stdin.read()
    try:
        a = npshm.create_shared_array(name, (1 << 16,), np.uint8, full=7)
    except FileExistsError:
        print("exists", flush=True)
        return
    del a
    print("won", flush=True)


def churn(mode: str, name: str, n: int) -> None:
    for g in range(1, n + 1):
        if mode == "replace":
            npshm.create_shared_array(name, generation_shape(g), np.int64, force=True, full=g)
        else:
            npshm.create_shared_array(name, generation_shape(g), np.int64, full=g)
            npshm.delete_shared_array(name)


def victim(name: str, fork: bool, op: str) -> None:
    if fork:
        try:
            npshm.attach(name + "-warm-up-missing")  # use the Go core before forking
        except FileNotFoundError:
            pass
        pid = os.fork()
        if pid:
            _, status = os.waitpid(pid, 0)
            os._exit(0 if os.WIFSIGNALED(status) else 3)
    sys.stdout.write(f"{os.getpid()}\n")
    sys.stdout.flush()
    if op == "create":
        npshm.create_shared_array(name, SHAPE, np.int64, full=5)
    else:
        npshm.create_shared_array(name, SHAPE, np.int64, full=5, force=True)
    # Not reached when the test kills the process at its pause point.
    sys.stderr.write(f"victim: {op} finished without pausing\n")
    os._exit(5)


if __name__ == "__main__":
    cmd, name = sys.argv[1], sys.argv[2]
    if cmd == "race":
        race(name)
    elif cmd in ("replace", "delete"):
        churn(cmd, name, int(sys.argv[3]))
    elif cmd == "victim":
        victim(name, sys.argv[3] == "1", sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
