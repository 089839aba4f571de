"""Arrays that travel by name: an npshm array (or a view of one) handed to another process on the
machine goes as a small :class:`Reference`, and the receiver attaches the same memory.

How it is wired (docs/PYTHON.md, "Arrays that travel"):

- multiprocessing (Pool, Process, Queue, Pipe, concurrent.futures' process pools): a reducer for
  ``numpy.ndarray`` in ``multiprocessing.reduction.ForkingPickler``'s registry. It sends npshm
  arrays by reference and reduces every other array exactly as numpy does.
- joblib (loky backend): loky's pickler, extended through ``loky.set_loky_pickler`` (see
  :mod:`npshm._joblib`).
- Dask's distributed: a serializer registered in ``distributed.protocol.dask_serialize`` (see
  :mod:`npshm.dask`).
- ``pickle.dumps`` and everything else: by value, as before, unless :func:`set_pickling` says
  otherwise.

The registrations happen when those libraries are imported (:mod:`npshm._hooks`); ``import
npshm`` imports none of them.
"""

from __future__ import annotations

import copyreg
import errno
import math
import os
import pickle
import threading
from collections import OrderedDict
from typing import Any, Literal, NamedTuple, Optional, cast

import numpy as np

from . import _native
from ._constants import FILE_PREFIX, MSG_DIR_REMOVED
from ._api import Mapping, _mapping_of

__all__ = [
    "Reference",
    "StaleReferenceError",
    "reference",
    "from_reference",
    "name_of",
    "set_pickling",
    "get_pickling",
]

_MODES = ("auto", "reference", "value")
PicklingMode = Literal["auto", "reference", "value"]
_mode: PicklingMode = "auto"


class StaleReferenceError(FileNotFoundError):
    """The array a :class:`Reference` names cannot be attached here: it was deleted, or replaced
    by another array of the same name, or it lives in another machine's shared memory.

    A subclass of :class:`FileNotFoundError` (errno ``ENOENT``), so that code handling a missing
    array handles this one too.
    """


class Reference(NamedTuple):
    """Where an npshm array (or a view of one) lives, and which array of its name it is.

    Made by :func:`reference`, turned back into an array by :func:`from_reference`; a few hundred
    bytes pickled, whatever the size of the array.

    Attributes
    ----------
    name : str
        The array's name (``file://`` paths made absolute).
    offset : int
        Bytes from the start of the array's data to the view's first element.
    shape, strides : tuple of int
        The view's shape and strides in bytes.
    dtype : numpy.dtype
        The view's dtype.
    readonly : bool
        Whether the view is read-only; the receiver gets a read-only array then.
    device, inode, created_ns, creator_pid : int
        Which array of the name: its file's device and inode, its creation time and creator.
        The receiver refuses any other array of that name.
    boot_id : str
        The machine's boot id (``/proc/sys/kernel/random/boot_id``): a reference made on another
        machine, or before a reboot, is refused.
    """

    name: str
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: np.dtype
    readonly: bool
    device: int
    inode: int
    created_ns: int
    creator_pid: int
    boot_id: str


# ---- where names live ----------------------------------------------------------------------

_boot_id_value: Optional[str] = None


def _boot_id() -> str:
    """This machine's boot id: the same for every process until the next boot."""
    global _boot_id_value
    if _boot_id_value is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                _boot_id_value = f.read().strip()
        except OSError:
            _boot_id_value = ""
    return _boot_id_value


def _path_of(name: str) -> str:
    """The file a mapping's name leads to (docs/FORMAT.md, "Names")."""
    if name.startswith(FILE_PREFIX):
        return name[len(FILE_PREFIX) :]
    return os.path.join(_native.dir(), name)


def _absolute(name: str) -> str:
    """The name with a ``file://`` path made absolute, so that it means the same elsewhere."""
    if name.startswith("file://") and not name.startswith("file:///"):
        return "file://" + os.path.abspath(name[7:])
    return name


def _stat_key(path: str) -> Optional[tuple[int, int]]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _describe(identity: tuple[int, int, int, int], now: Optional[tuple[int, int]]) -> str:
    """Why the name no longer leads to the array ``identity``: ``now`` is its (device, inode)."""
    if now is None:
        return "it was deleted: no array has that name now"
    return (
        f"it was replaced: the name now leads to another array (inode {now[1]}, "
        f"not {identity[1]})"
    )


def _stale(op: str, name: str, what: str) -> StaleReferenceError:
    return StaleReferenceError(errno.ENOENT, f'{op}("{name}"): {what}')


# ---- making references -------------------------------------------------------------------


def name_of(a: Any) -> Optional[str]:
    """The name of the npshm array that ``a`` (an array or any view of one) lives in.

    Parameters
    ----------
    a : object

    Returns
    -------
    str or None
        The name, as :func:`attach_shared_array` takes it; ``None`` if ``a`` is not an npshm
        array or a view of one.

    Examples
    --------
    >>> import os, numpy as np, npshm
    >>> name = f"example-name-of-{os.getpid()}"
    >>> a = npshm.create_shared_array(name, (4, 4), np.float32)
    >>> npshm.name_of(a[1:, ::2].T) == name, npshm.name_of(np.zeros(3))
    (True, None)
    >>> npshm.delete_shared_array(name)
    True
    """
    m = _mapping_of(a) if isinstance(a, np.ndarray) else None
    return None if m is None else _absolute(m.array_name)


def _make_reference(a: np.ndarray, m: Mapping, op: str = "npshm.reference") -> Reference:
    name = _absolute(m.array_name)
    identity = m.identity
    # The name must still lead to this array, or the receiver would find another one (or none).
    now = _stat_key(_path_of(name))
    if now != identity[:2]:
        raise _stale(op, name, _describe(identity, now) + "; it cannot travel by reference")
    offset = a.__array_interface__["data"][0] - m.addr
    return Reference(
        name,
        offset,
        a.shape,
        a.strides,
        a.dtype,
        not a.flags.writeable,
        identity[0],
        identity[1],
        identity[2],
        identity[3],
        _boot_id(),
    )


def reference(a: np.ndarray) -> Reference:
    """A small, picklable reference to an npshm array (or a view of one).

    :func:`from_reference` in any process of this machine turns it into an array over the same
    memory, as long as the array still has its name. Use it to pass arrays by hand (through a
    socket, a database, ``pickle.dumps``); multiprocessing, joblib and Dask make references by
    themselves.

    Parameters
    ----------
    a : numpy.ndarray
        An npshm array, or any view of one (slices, strides, transposes, field or dtype views,
        read-only views).

    Returns
    -------
    Reference

    Raises
    ------
    TypeError
        If ``a`` is not an npshm array or a view of one.
    StaleReferenceError
        If the array's name no longer leads to it (it was deleted or replaced).

    Examples
    --------
    >>> import os, pickle, numpy as np, npshm
    >>> name = f"example-reference-{os.getpid()}"
    >>> a = npshm.create_shared_array(name, (1000, 1000), np.float64)
    >>> ref = npshm.reference(a[10:20, ::-1])
    >>> len(pickle.dumps(ref)) < 1024
    True
    >>> b = npshm.from_reference(pickle.loads(pickle.dumps(ref)))
    >>> b[0, 0] = 7.0
    >>> float(a[10, 999])
    7.0
    >>> del b; npshm.delete_shared_array(name)
    True
    """
    m = _mapping_of(a) if isinstance(a, np.ndarray) else None
    if m is None:
        raise TypeError(f"npshm.reference: expected an npshm array or a view of one, got {_what(a)}")
    return _make_reference(a, m)


def _what(a: Any) -> str:
    if isinstance(a, np.ndarray):
        return "an array that is not backed by npshm"
    return type(a).__name__


# ---- attaching references: a per-process cache ---------------------------------------------


class _Cache:
    """The attachments that references resolved to in this process, so that a thousand tasks on
    one array map it once.

    An entry is used only while the array's name still leads to it (one ``stat`` per use), and is
    dropped when it no longer does: at its next use, or by a sweeper thread that looks every
    ``sweep_seconds`` while the cache is not empty. So a deleted or replaced array stays mapped
    here at most that long after its last use, instead of for the life of a long-lived worker.
    At most ``max_entries`` arrays are kept (least recently used first out). Dropping an entry
    only drops the cache's hold: arrays already handed out keep their memory.
    """

    max_entries = 64
    sweep_seconds = 5.0

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[str, int, int], Mapping] = OrderedDict()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.sweeper: Optional[threading.Thread] = None
        self.attaches = 0  # attaches made for references: what the tests count

    def after_fork(self) -> None:
        # A fork may happen while another thread holds the lock; the sweeper does not survive it.
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.sweeper = None

    def get(self, key: tuple[str, int, int], writable: bool) -> Optional[Mapping]:
        with self.lock:
            m = self.entries.get(key)
            if m is None or (writable and m.readonly):
                return None
            self.entries.move_to_end(key)
            return m

    def put(self, key: tuple[str, int, int], m: Mapping) -> None:
        with self.lock:
            self.attaches += 1
            self.entries[key] = m
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
            if self.sweeper is None or not self.sweeper.is_alive():
                self.sweeper = threading.Thread(target=self._sweep, name="npshm-reference-sweeper", daemon=True)
                self.sweeper.start()

    def drop(self, key: tuple[str, int, int], m: Optional[Mapping] = None) -> None:
        with self.lock:
            if key in self.entries and (m is None or self.entries[key] is m):
                del self.entries[key]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
        self.wake.set()

    def _sweep(self) -> None:
        me = threading.current_thread()
        while True:
            self.wake.wait(self.sweep_seconds)
            self.wake.clear()
            if not self._sweep_once(me):
                return

    def _sweep_once(self, me: threading.Thread) -> bool:
        """Drop the entries whose name no longer leads to them; False when the sweeper should
        end. (A function of its own, so that no reference to an entry outlives it.)"""
        with self.lock:
            if self.sweeper is not me:
                return False
            if not self.entries:
                self.sweeper = None
                return False
            items = list(self.entries.items())
        for key, m in items:
            if _stat_key(key[0]) != key[1:]:
                self.drop(key, m)
        return True


_cache = _Cache()
os.register_at_fork(after_in_child=_cache.after_fork)


def _view(m: Mapping, ref: Reference) -> np.ndarray:
    offset = ref.offset if math.prod(ref.shape) else 0
    a = np.ndarray(ref.shape, ref.dtype, buffer=cast(Any, m), offset=offset, strides=ref.strides)
    if ref.readonly and a.flags.writeable:
        a.flags.writeable = False
    return a


def from_reference(ref: Reference) -> np.ndarray:
    """The array a :class:`Reference` names, attached in this process.

    Attachments are cached per process (one mapping per array however many references to it
    arrive); the cache never keeps a deleted or replaced array mapped for long (see
    docs/PYTHON.md).

    Parameters
    ----------
    ref : Reference
        From :func:`reference`, or a tuple of its fields.

    Returns
    -------
    numpy.ndarray
        A view of the same memory as the referenced array: same offset, shape, strides and dtype,
        read-only if the referenced view was.

    Raises
    ------
    StaleReferenceError
        If the array was deleted, or its name now leads to another array, or the reference was
        made on another machine (a :class:`FileNotFoundError`).
    PermissionError
        If this process may not attach the array (in the mode the reference asks for).
    ValueError
        If the reference does not fit the array (a forged or corrupt reference).
    """
    ref = Reference._make(ref)
    op = "npshm.from_reference"
    path = _path_of(ref.name)
    key = (path, ref.device, ref.inode)
    m = _cache.get(key, not ref.readonly)
    if m is not None:
        now = _stat_key(path)
        if now == key[1:]:
            return _view(m, ref)
        _cache.drop(key, m)
        raise _stale(op, ref.name, _describe((ref.device, ref.inode, 0, 0), now))
    if ref.boot_id != _boot_id():
        raise _stale(
            op,
            ref.name,
            f"the reference was made on another machine, or before a reboot (boot id {ref.boot_id!r}, "
            f"this machine's is {_boot_id()!r})",
        )
    try:
        arr = _native.attach(ref.name, _native.READONLY if ref.readonly else 0)
    except FileNotFoundError as e:
        if MSG_DIR_REMOVED in str(e):
            raise  # the directory of shared arrays was removed, not the array: say so
        raise _stale(op, ref.name, _describe_missing(ref)) from None
    m = _mapping_of(arr)
    del arr
    if m is None:  # pragma: no cover - attach always returns an array over a Mapping
        raise RuntimeError("npshm.from_reference: attach returned an array without a mapping")
    identity = m.identity
    want = (ref.device, ref.inode, ref.created_ns, ref.creator_pid)
    if identity != want:
        if identity[:2] == want[:2]:
            what = "it was replaced: the array of that name has another creator or creation time"
        else:
            what = _describe(want, identity[:2])
        if identity[0] != ref.device:
            what += " (or the reference comes from another machine's or container's /dev/shm)"
        raise _stale(op, ref.name, what)
    _cache.put(key, m)
    return _view(m, ref)


def _describe_missing(ref: Reference) -> str:
    what = "it was deleted: no array has that name now"
    dev = _stat_key(os.path.dirname(_path_of(ref.name)) or ".")
    if dev is not None and dev[0] != ref.device:
        what += " (or the reference comes from another machine's or container's /dev/shm)"
    return what


# ---- by value or by reference ---------------------------------------------------------------


class _PicklingMode:
    """What :func:`set_pickling` returns: used in a ``with`` statement, it restores the previous
    mode at the end of the block."""

    def __init__(self, mode: PicklingMode, previous: PicklingMode) -> None:
        self.mode = mode
        self.previous = previous

    def __enter__(self) -> "_PicklingMode":
        return self

    def __exit__(self, *exc: object) -> None:
        set_pickling(self.previous)

    def __repr__(self) -> str:
        return f"npshm.set_pickling({self.mode!r})"


def get_pickling() -> PicklingMode:
    """How npshm arrays are pickled in this process: ``"auto"``, ``"reference"`` or ``"value"``
    (see :func:`set_pickling`)."""
    return _mode


def set_pickling(mode: PicklingMode) -> _PicklingMode:
    """Choose how npshm arrays (and views of them) are pickled in this process.

    Parameters
    ----------
    mode : {"auto", "reference", "value"}
        ``"auto"`` (the default): by reference through the transports between processes of this
        machine (multiprocessing and concurrent.futures, joblib's loky, Dask between workers of
        one host), by value through ``pickle.dumps``, ``copy`` and anything that may outlive the
        array. ``"reference"``: by reference everywhere, ``pickle.dumps`` included (other arrays
        are then pickled in-band, with numpy's protocol-independent reduction). ``"value"``: by
        value everywhere, as numpy pickles any array (a worker's writes then stay in the worker).

    Returns
    -------
    object
        Used in a ``with`` statement, it restores the previous mode at the end of the block. The
        mode is process-wide, not per thread: multiprocessing and Dask pickle in threads of
        their own, after the call that handed them the array may have returned.

    Examples
    --------
    >>> import npshm
    >>> with npshm.set_pickling("value"):
    ...     npshm.get_pickling()
    'value'
    >>> npshm.get_pickling()
    'auto'
    """
    global _mode
    if mode not in _MODES:
        raise ValueError(f'npshm.set_pickling: mode must be "auto", "reference" or "value", not {mode!r}')
    previous, _mode = _mode, mode
    if mode == "reference":
        copyreg.pickle(np.ndarray, _reduce_everywhere)
    elif copyreg.dispatch_table.get(np.ndarray) is _reduce_everywhere:
        del copyreg.dispatch_table[np.ndarray]
    return _PicklingMode(mode, previous)


def _reduce_everywhere(a: np.ndarray) -> Any:
    """copyreg's reducer for ndarray in the "reference" mode."""
    m = _mapping_of(a) if _mode == "reference" else None
    if m is not None:
        return from_reference, (_make_reference(a, m),)
    # copyreg does not pass the protocol: numpy's reduction for protocols below 5 works for all.
    return a.__reduce__()


def reduce_by_reference(a: np.ndarray) -> Optional[tuple[Any, ...]]:
    """The reduction of ``a`` for a transport between processes of this machine: a reference if
    ``a`` is an npshm array (or a view of one) and the mode is not "value", else None."""
    if _mode != "value":
        m = _mapping_of(a)
        if m is not None:
            return from_reference, (_make_reference(a, m),)
    return None


# ---- multiprocessing -----------------------------------------------------------------------


def _register_multiprocessing(reduction: Any) -> None:
    """Register the ndarray reducer with multiprocessing's ForkingPickler (on its import)."""
    fp = reduction.ForkingPickler
    previous = fp._extra_reducers.get(np.ndarray)
    if getattr(previous, "_npshm", False):
        return
    if previous is None:
        protocol = pickle.DEFAULT_PROTOCOL  # ForkingPickler.dumps' protocol (None: the default)

        def by_value(a: np.ndarray) -> Any:
            return a.__reduce_ex__(protocol)

    else:
        by_value = previous

    def reduce_ndarray(a: np.ndarray) -> Any:
        return reduce_by_reference(a) or by_value(a)

    reduce_ndarray._npshm = True  # type: ignore[attr-defined]
    fp.register(np.ndarray, reduce_ndarray)
