"""The reaper of npshm.delete_on_exit: a tiny process that outlives its creator and deletes the
arrays the creator registered, once the creator is gone, however it ended.

Run as ``python -I -S _reaper.py PID`` with the read end of a pipe as standard input; only the
process PID holds the write end, so end of file means that process has exited (or was killed,
SIGKILL included, or exec'd another program). It reads one registration per line: the array's
path in hexadecimal (paths may hold newlines), then, for a segment in a peer's format (which
records no creator), the st_dev and st_ino of the file PID made. Then it deletes each registered
path whose array was created by PID (the header's creator_pid, or the registered file), checking
just before the unlink that the path still leads to that file; an array that another process made
under the name (a replacement, or a new array after a delete) is never touched, nor an npshm array
whose header names another creator on a registered file (a disk filesystem reuses inode numbers). Standard library only, and no
npshm: nothing here may depend on the state of the process that died.
"""

import importlib.util
import os
import signal
import struct
import sys
from types import ModuleType
from typing import Optional


def _load_constants() -> ModuleType:
    """python/npshm/_constants.py (the format's constants, generated from the core), loaded by its
    path: the reaper runs isolated (-I), without the package on sys.path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_constants.py")
    spec = importlib.util.spec_from_file_location("_npshm_constants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_constants = _load_constants()
FIXED_HEADER: int = _constants.FIXED_HEADER
MAGIC: bytes = _constants.MAGIC
CREATOR_PID_OFFSET: int = _constants.CREATOR_PID_OFFSET


def creator_of(path: str) -> Optional[tuple[int, tuple[int, int]]]:
    """(creator_pid, (st_dev, st_ino)) of the npshm array at path, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        head = os.pread(fd, FIXED_HEADER, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(head) < FIXED_HEADER or head[: len(MAGIC)] != MAGIC:
        return None
    return struct.unpack_from("<I", head, CREATOR_PID_OFFSET)[0], (st.st_dev, st.st_ino)


def main() -> None:
    creator = int(sys.argv[1])
    # The creator's Ctrl+C or hang-up must not end the reaper before it has done its work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    paths: dict[str, set[tuple[int, int]]] = {}
    for line in sys.stdin.buffer:
        fields = line.split()
        if fields:
            made = paths.setdefault(os.fsdecode(bytes.fromhex(fields[0].decode("ascii"))), set())
            if len(fields) == 3:
                made.add((int(fields[1]), int(fields[2])))
    for path, made in paths.items():
        found = creator_of(path)
        if found is not None:
            if found[0] != creator:
                # An npshm array another process made, even on a registered (st_dev, st_ino): a
                # disk filesystem gives a deleted peer segment's inode number to the next file.
                continue
            made.add(found[1])
        try:
            st = os.stat(path, follow_symlinks=False)
            if (st.st_dev, st.st_ino) in made:
                os.unlink(path)
        except OSError:
            pass


if __name__ == "__main__":
    main()
