"""Processes racing on one name (hardening): K creators at once, replace and delete racing attach.

Racers are fresh interpreters (the Go core) and children forked from this process after it used
npshm (the C path). NPSHM_HARDENING_ROUNDS scales the repetitions (tests/hardening/soak.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import npshm

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_hardening_worker.py")
sys.path.insert(0, HERE)
import _hardening_worker as worker  # noqa: E402
from _forking import exit_code, fork_child  # noqa: E402

ROUNDS = int(os.environ.get("NPSHM_HARDENING_ROUNDS", "3"))
K = 8


def test_k_processes_create_one_name_exactly_one_wins(name):
    npshm.attach_shared_array(name + "-missing", raise_on_error=False)  # use the library first
    for round_ in range(ROUNDS):
        fresh = [
            subprocess.Popen([sys.executable, WORKER, "race", name], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
            for _ in range(K // 2)
        ]
        go_r, go_w = os.pipe()
        ready_r, ready_w = os.pipe()

        def forked_racer() -> int:
            os.close(go_w)
            os.write(ready_w, b"r")
            while os.read(go_r, 1):
                pass
            try:
                npshm.create_shared_array(name, (1 << 16,), np.uint8, full=7)
                return 0
            except FileExistsError:
                return 10

        forked = [fork_child(forked_racer) for _ in range(K - K // 2)]
        os.close(go_r)
        os.close(ready_w)
        for p in fresh:
            assert p.stdout.readline().strip() == "ready"
        assert len(b"".join(os.read(ready_r, 1) for _ in forked)) == len(forked)
        os.close(ready_r)
        for p in fresh:
            p.stdin.close()  # go
        os.close(go_w)
        outcomes = [p.stdout.read().strip() for p in fresh]
        assert all(p.wait(60) == 0 for p in fresh)
        codes = [exit_code(pid) for pid in forked]
        wins = outcomes.count("won") + codes.count(0)
        losses = outcomes.count("exists") + codes.count(10)
        assert (wins, losses) == (1, K - 1), f"round {round_}: {outcomes} {codes}"
        a = npshm.attach_shared_array(name, validate_shape=(1 << 16,), validate_dtype=np.uint8)
        assert (a == 7).all()
        del a
        npshm.delete(name)


def _complete(a: np.ndarray) -> bool:
    """An array of the worker's: every element is its generation g, and its shape is g's."""
    g = int(a.flat[0])
    return a.shape == worker.generation_shape(g) and bool((a == g).all())


def _attach_until(name: str, done: threading.Event, deleting: bool, seen: dict) -> None:
    while not done.is_set():
        try:
            a = npshm.attach(name, ro=True)
        except FileNotFoundError:
            if not deleting:
                seen["bad"].append("FileNotFoundError while replacing")
            seen["missing"] += 1
            continue
        if _complete(a):
            seen["complete"] += 1
        else:
            seen["bad"].append(f"shape {a.shape}, values {np.unique(a)[:5]}")
        del a


@pytest.mark.parametrize("mode", ["replace", "delete"])
def test_attach_racing_replace_or_delete_sees_complete_arrays(name, mode):
    if mode == "replace":
        npshm.create_shared_array(name, worker.generation_shape(0), np.int64, full=0)
    churns = 150 * ROUNDS
    proc = subprocess.Popen([sys.executable, WORKER, mode, name, str(churns)])
    done = threading.Event()
    seen = {"complete": 0, "missing": 0, "bad": []}

    def forked_attacher() -> int:  # the C path, in a child of this process
        s = {"complete": 0, "missing": 0, "bad": []}
        d = threading.Event()
        t = threading.Timer(1.0 + ROUNDS, d.set)
        t.start()
        _attach_until(name, d, mode == "delete", s)
        for b in s["bad"][:5]:
            os.write(2, f"forked attacher: {b}\n".encode())
        return 0 if not s["bad"] else 1

    child = fork_child(forked_attacher)
    threads = [threading.Thread(target=_attach_until, args=(name, done, mode == "delete", seen))
               for _ in range(2)]
    for t in threads:
        t.start()
    try:
        assert proc.wait(300) == 0
    finally:
        done.set()
        for t in threads:
            t.join()
    assert exit_code(child) == 0, "the forked attacher saw an incomplete array"
    assert not seen["bad"], f"{len(seen['bad'])} incomplete attaches, e.g. {seen['bad'][:3]}"
    assert seen["complete"] > 0
    npshm.delete_shared_array(name)
