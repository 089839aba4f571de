"""Shared fixtures: unique array names (pid + counter) that are deleted after each test."""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


def unique_name(tag: str = "t") -> str:
    return f"npshm-pytest-{os.getpid()}-{next(_counter)}-{tag}"


class Names:
    """Hands out unique names and deletes whatever exists under them at the end."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, tag: str = "t") -> str:
        n = unique_name(tag)
        self.made.append(n)
        return n

    def cleanup(self) -> None:
        for n in self.made:
            p = "/dev/shm/" + n
            if os.path.lexists(p):
                os.unlink(p)


@pytest.fixture
def names():
    ns = Names()
    yield ns
    ns.cleanup()


@pytest.fixture
def name(names):
    return names()
