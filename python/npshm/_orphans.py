"""Forgotten arrays: whether an array's creator still runs, which processes map it, and the
removal of orphans (arrays whose creator is gone and that no process maps).

The command line tool's ``npshm gc --orphans`` applies the same rules (cmd/npshm/gc.go over the Go
package's orphans_linux.go); docs/RELIABILITY.md, "Orphans", states them and their limits.
"""

from __future__ import annotations

import fnmatch
import os
import time
from typing import TYPE_CHECKING, Optional, Union

from . import _native

if TYPE_CHECKING:
    from ._api import ArrayDesc

__all__ = ["Creators", "creator_alive", "delete_orphans"]

# A process's start time, from /proc/PID/stat, has a resolution of a clock tick; the creation time
# was taken by the creator after it started. A process that started more than this after the
# array's creation cannot be its creator: its pid was reused.
_REUSE_MARGIN_NS = 2_000_000_000


def _boot_ns() -> int:
    """The wall-clock time of the boot, in nanoseconds (what /proc/PID/stat counts from)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def _start_ns(pid: int, boot_ns: Optional[int] = None) -> Optional[int]:
    """When process pid started (wall clock, nanoseconds); None if there is no such process.

    ``boot_ns``: the time of the boot (:func:`_boot_ns`), when the caller has it already.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Fields after the command name, which is in parentheses and may hold anything.
    fields = stat[stat.rindex(b")") + 2 :].split()
    ticks = int(fields[19])  # field 22, starttime
    if boot_ns is None:
        boot_ns = _boot_ns()
    return boot_ns + ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class Creators:
    """Whether arrays' creators still run, for one pass over many arrays (:func:`npshm.list`).

    Each pid's ``/proc/PID/stat`` is read once, however many arrays that process created, and
    every array is judged against that one start time, as :func:`creator_alive` judges one.
    """

    def __init__(self) -> None:
        self._boot = _boot_ns()
        # pid -> its start time (None: no such process), or, where /proc could not tell, a bool
        # from the pid alone (wrapped in a tuple so that it is not taken for a time)
        self._seen: dict[int, Union[int, None, tuple[bool]]] = {}

    def alive(self, pid: int, created_ns: int) -> bool:
        """Whether the process that created an array at ``created_ns`` still runs as ``pid``."""
        if pid <= 0:
            return False
        try:
            start = self._seen[pid]
        except KeyError:
            start = self._seen[pid] = self._look_up(pid)
        if start is None:
            return False
        if isinstance(start, tuple):
            return start[0]
        return start <= created_ns + _REUSE_MARGIN_NS

    def _look_up(self, pid: int) -> Union[int, None, tuple[bool]]:
        try:
            return _start_ns(pid, self._boot)
        except (OSError, ValueError, IndexError):  # /proc hidden or odd: fall back to the pid alone
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return (False,)
            except PermissionError:
                pass
            return (True,)


def creator_alive(pid: int, created_ns: int) -> bool:
    """Whether the process that created an array at ``created_ns`` still runs as ``pid``.

    A process of that pid that started after the creation is another process that got the pid
    again. Judged in this process's pid namespace: a creator in another namespace (a container
    sharing /dev/shm) is looked up under a number that means another process here, or none.
    """
    return Creators().alive(pid, created_ns)


def _maps_dev(dev: int) -> str:
    return f"{os.major(dev):02x}:{os.minor(dev):02x}"


def _proc_uids(pid: str) -> set[int]:
    """The real, effective, saved and file-system uids of a process (its status file is readable
    even when its maps are not); empty if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return {int(u) for u in line.split()[1:]}
    except OSError:
        pass
    return set()


def _proc_hides_processes() -> bool:
    """Whether /proc is mounted with hidepid (other than 0): then the processes of other users may
    be missing from it (invisible, ptraceable) or unreadable, status included (noaccess)."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, sep, post = line.partition(" - ")
                fields, rest = pre.split(), post.split()
                if not sep or len(fields) < 5 or fields[4] != "/proc" or len(rest) < 3 or rest[0] != "proc":
                    continue
                for opt in rest[2].split(","):
                    if opt.startswith("hidepid=") and opt[8:] not in ("0", "off"):
                        return True
    except OSError:
        return True
    return False


class _Mappers:
    """Who maps what, from one pass over /proc/*/maps: the (device, inode) pairs that readable
    processes map, and the uids of the processes whose maps this process may not read; hidden if
    /proc may hide some processes or their uids (hidepid: then they could be anyone's)."""

    def __init__(self) -> None:
        self.mapped: set[tuple[str, int]] = set()
        self.unreadable_uids: set[int] = set()
        self.hidden = _proc_hides_processes()
        me = str(os.getpid())
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/maps") as f:
                    for line in f:
                        parts = line.split(None, 5)
                        if len(parts) >= 5 and parts[4] != "0":
                            self.mapped.add((parts[3], int(parts[4])))
            except (FileNotFoundError, ProcessLookupError):
                continue  # gone meanwhile
            except OSError:
                if pid != me:
                    uids = _proc_uids(pid)
                    if not uids and os.path.exists(f"/proc/{pid}"):
                        self.hidden = True  # its uids are hidden too (hidepid=1)
                    self.unreadable_uids |= uids

    def may_map(self, dev: int, ino: int, owner: int, mode: int) -> Optional[str]:
        """Why the array might be mapped, or None if no process maps it."""
        if (_maps_dev(dev), ino) in self.mapped:
            return "a process maps it"
        if os.geteuid() == 0:
            return None  # root reads every process it may ptrace; see delete_orphans
        if self.hidden and mode & 0o077:
            return "/proc hides other users' processes (hidepid), and one of them could map it"
        uids = self.unreadable_uids - {0}
        if uids and (mode & 0o077 or owner in uids):
            return "processes whose memory maps this user may not read could map it"
        return None


def delete_orphans(pattern: str = "*", *, dry_run: bool = True) -> "list[ArrayDesc]":
    """Find, and unless ``dry_run`` delete, the arrays in ``/dev/shm`` whose creator is gone and
    that no process maps.

    How it knows: the creator is gone if no process of its pid runs, or the one that does started
    after the array was created (the pid was reused). An array is mapped if a line of some
    ``/proc/PID/maps`` names its device and inode. Only the processes this user may read are seen.
    A user who is not root cannot read other users' processes, nor their own non-dumpable ones: an
    array is then kept if one of those runs as its owner, or if it grants group or other access,
    so that fewer orphans are removed, never an array such a process could have mapped (where
    ``/proc`` is mounted with ``hidepid``, which may hide them, every array that grants group or
    other access is kept). Root's
    own processes are not counted against a user's array, or nothing could ever be removed: a
    root process that attached a user's private array is seen only when root runs this. Root
    reads every process it may ptrace; those it may not (such as the init of a sandbox's
    outer namespace) are not counted. Processes in other pid namespaces are not seen at all: run
    it where every process that uses /dev/shm is visible.

    The peers' segments (``ArrayDesc.format`` other than ``"npshm"``) record no creator and are
    never orphans.

    Before a removal the name is checked again: it must still lead to the same file (device and
    inode) and the creator must still be gone; an array that was replaced meanwhile is kept. What
    remains is a window of microseconds between that check and the ``unlink``, in which a process
    could attach the array (it keeps its mapping; the name is gone) or replace it (the
    replacement is removed).

    Parameters
    ----------
    pattern : str, default "*"
        Only names matching this shell pattern (``fnmatch``) are considered.
    dry_run : bool, default True
        Only report what would be deleted.

    Returns
    -------
    list of ArrayDesc
        The orphans deleted (or, with ``dry_run``, that would be).
    """
    from ._api import list as list_arrays

    # The directory is opened by its path before the listing, which goes through the descriptor
    # the library holds and fails if that directory was removed: so the one opened here is the
    # library's, never a directory made again under its path since (docs/RELIABILITY.md).
    try:
        dir_fd = os.open(_native.dir(), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        list_arrays()  # the library's reason first: a removed directory is named as such
        raise
    try:
        return _delete_orphans_in(dir_fd, list_arrays(), pattern, dry_run)
    finally:
        os.close(dir_fd)


def _same_creation(name: str, dir_fd: int, d: "ArrayDesc") -> Optional[os.stat_result]:
    """The status of the file ``name`` in ``dir_fd`` if it records the creator and creation time
    that the listing judged (FORMAT.md: creator_pid at 48, created_ns at 56), else None.

    The listing goes through the library's descriptor, the removal through ``dir_fd``, opened by
    path: should the path name another directory now (the held one renamed away or mounted over, by
    root or this user), a file of the name there is another array, which is kept.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        head = os.pread(fd, 64, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    if (len(head) < 64 or head[:8] != b"NPSHMARR" or int.from_bytes(head[48:52], "little") != d.creator_pid
            or int.from_bytes(head[56:64], "little", signed=True) != d.created_ns):
        return None
    return st


def _delete_orphans_in(dir_fd: int, listed: "list[ArrayDesc]", pattern: str, dry_run: bool) -> "list[ArrayDesc]":
    """delete_orphans' work on the arrays ``listed`` in the directory ``dir_fd``."""
    candidates = []
    for d in listed:
        name = os.fsdecode(d.name)
        # A peer's segment records no creator: whether it is an orphan cannot be told.
        if not fnmatch.fnmatchcase(name, pattern) or d.creator_alive or d.format != "npshm":
            continue
        st = _same_creation(name, dir_fd, d)
        if st is None:
            continue
        candidates.append((d, name, st))
    if not candidates:
        return []
    mappers = _Mappers()
    out = []
    for d, name, st in candidates:
        if mappers.may_map(st.st_dev, st.st_ino, st.st_uid, st.st_mode) is not None:
            continue
        if not dry_run:
            try:
                now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or creator_alive(d.creator_pid, d.created_ns):
                continue  # replaced, or its creator is back (it was not gone)
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                continue
        out.append(d)
    return out
