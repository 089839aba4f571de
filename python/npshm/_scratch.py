"""npshm.delete_on_exit: scratch arrays deleted when their creator exits, SIGKILL included."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Optional, Union

from . import _native
from ._constants import FILE_PREFIX, MAX_SHM_NAME, SHM_PREFIX

if TYPE_CHECKING:
    import subprocess

__all__ = ["delete_on_exit"]

_lock = threading.Lock()
_reaper: "Optional[subprocess.Popen[bytes]]" = None


def _after_fork_in_child() -> None:
    # The child is another process: it must not keep the parent's reaper waiting, and its own
    # registrations (if any) need a reaper of its own.
    global _lock, _reaper
    _lock = threading.Lock()
    if _reaper is not None and _reaper.stdin is not None:
        try:
            _reaper.stdin.close()  # through the file object, so that nothing closes the fd again
        except OSError:
            pass
    _reaper = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _path_of(name: Union[str, bytes]) -> bytes:
    """The file of an array name (docs/FORMAT.md, "Names"), as the reaper will find it."""
    n = os.fsencode(name)
    file_prefix, shm_prefix = FILE_PREFIX.encode(), SHM_PREFIX.encode()
    if n.startswith(file_prefix):
        return os.path.abspath(n[len(file_prefix) :])
    if n.startswith(shm_prefix):
        n = n[len(shm_prefix) :]
    if n.startswith(b"/"):
        n = n[1:]
    if not n or n in (b".", b"..") or b"/" in n or b"\0" in n or len(n) > MAX_SHM_NAME:
        raise ValueError(f"npshm.delete_on_exit: invalid array name {name!r}")
    return os.fsencode(_native.dir()) + b"/" + n


def delete_on_exit(name: Union[str, bytes]) -> None:
    """Delete the array ``name`` when this process exits, however it exits.

    The array is deleted only if this process created it (its header names this process as the
    creator): an array that another process made under the name meanwhile (a replace, or a new
    array after a delete) stays. Call it before or after creating the array; calling it first
    leaves no moment in which a kill would leave the array behind. The peers' formats record no
    creator, so for an array made with ``format="sharedarray"`` or ``"cdxcore"`` use
    ``create_shared_array(..., track=True)``, which registers the very file it made.

    It holds when the process is killed with SIGKILL: a small reaper process, started on the first
    call (a Python interpreter, about 20 ms), waits for end of file on a pipe that only this
    process holds, and deletes then. It cannot hold where the reaper dies too: a kill of the whole
    process tree or control group (``kill -9 -1``, a container or systemd unit stopped with
    SIGKILL, the OOM killer choosing the reaper), or a machine that stops (which empties
    /dev/shm anyway). A child made by ``fork`` does not inherit the registrations; ``exec`` counts
    as an exit.

    Parameters
    ----------
    name : str or bytes
        The array's name (``file://`` paths are made absolute now).

    Raises
    ------
    ValueError
        For an invalid name.
    OSError
        If the reaper cannot be started.

    Examples
    --------
    >>> import os, numpy as np, npshm
    >>> name = f"scratch-{os.getpid()}"
    >>> npshm.delete_on_exit(name)
    >>> a = npshm.create_shared_array(name, (1000,), np.float64)
    """
    _register(_path_of(name).hex().encode("ascii") + b"\n")


def delete_made_on_exit(name: Union[str, bytes], identity: tuple[int, int]) -> None:
    """Delete the array ``name`` when this process exits, if the name still leads to the file
    ``identity`` (its st_dev, st_ino) then: for the peers' formats, whose segments record no
    creator. Called just after the create that made the file."""
    path = _path_of(name).hex().encode("ascii")
    _register(b"%s %d %d\n" % (path, identity[0], identity[1]))


def _register(line: bytes) -> None:
    """Hand one registration line to the reaper (started on the first call)."""
    global _reaper
    with _lock:
        if _reaper is None or _reaper.poll() is not None:
            import subprocess  # here: its import costs ``import npshm`` about 6 ms

            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_reaper.py")
            _reaper = subprocess.Popen(
                [sys.executable, "-I", "-S", script, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,  # out of the terminal's process group: Ctrl+C is not for it
                cwd="/",
            )
        assert _reaper.stdin is not None
        _reaper.stdin.write(line)
        _reaper.stdin.flush()
