"""cdxcore's lifetime and reporting keywords (``track``, ``unlink``, ``verbose``) on npshm's
lifetime model, and the error type both peers' users can catch.

An npshm array lives until it is deleted (docs/PYTHON.md, "Lifetime"); these keywords only add a
deletion at a moment the caller chooses, and never delete an array that another process made under
the same name meanwhile.
"""

import os
import re
import weakref
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["FormatError"]

_ERRNO_PREFIX = r"^\[Errno -?\d+\] "  # compiled at first use (re's cache), not at import


class FormatError(OSError, ValueError):
    """A shared memory segment or a file is not the array asked for: not in a format npshm reads,
    damaged, or not of the shape or dtype that a ``validate_*`` argument asked for.

    It is both a :class:`ValueError` (what npshm and cdxcore raise for a bad header or a failed
    validation) and an :class:`OSError` (what SharedArray raises for a segment that is not its own,
    and cdxcore's ``from_file`` for a failed validation), so that code written for either keeps
    catching it. Raised by the C extension with an ``errno`` (``EINVAL``, ``EBADMSG``) and the name
    or path as ``filename`` when there is one; ``str()`` shows the message as for an OSError.
    """

    def __str__(self) -> str:
        # OSError's str() starts with "[Errno N] " when made from (errno, message): the message
        # reads as the ValueError it also is, with the name or path after it as OSError puts it.
        s = super().__str__()
        return re.sub(_ERRNO_PREFIX, "", s, count=1)


FormatError.__module__ = "npshm"


def check_flag(value: object, what: str, none_ok: bool = False) -> "Optional[bool]":
    """A bool keyword as bool (numpy's bool counts); anything else is TypeError, before anything
    is created."""
    if value is None and none_ok:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    allowed = "None, True or False" if none_ok else "True or False"
    raise TypeError(f"{what} must be {allowed}, not {value!r}")


def report(verbose: object, message: str) -> None:
    """cdxcore's ``verbose``: None or False says nothing; an object with a ``write`` method (such as
    ``cdxcore.verbose.Context``) gets the message; anything else true logs it to the ``npshm``
    logger at INFO."""
    if verbose is None or verbose is False:
        return
    write = getattr(verbose, "write", None)
    if callable(write):
        write(message)
    elif verbose:
        import logging  # here: most programs never ask, and the import costs ``import npshm`` time

        logging.getLogger("npshm").info("%s", message)


def _unlink_if_same(path: bytes, key: "tuple[int, int]", verbose: object, what: str) -> None:
    """The finalizer of ``unlink=True``: remove path only while it is still the file that was
    mapped (device and inode), so that an array made under the name meanwhile stays."""
    try:
        st = os.stat(path, follow_symlinks=False)
        if (st.st_dev, st.st_ino) == key:
            os.unlink(path)
            report(verbose, f"{what}: deleted {os.fsdecode(path)!r} (unlink=True)")
    except OSError:
        pass


def apply_lifetime(arr: "NDArray[Any]", name: "Union[str, bytes]", track: "Optional[bool]", unlink: bool,
                   verbose: object, what: str) -> None:
    """Give the returned array cdxcore's ``track`` and ``unlink`` meanings, in npshm's terms.

    ``track=True``: :func:`npshm.delete_on_exit` -- the array is deleted when this process exits,
    if this process created it. ``unlink=True``: the name is deleted when ``arr`` (and every view
    of it) is garbage collected, if it still leads to this array.
    """
    if not track and not unlink and verbose is None:
        return  # the common case: nothing to import or do (attach's latency is measured)
    from ._api import _mapping_of
    from ._scratch import _path_of, delete_on_exit

    if track:
        delete_on_exit(name)
    if unlink:
        m = _mapping_of(arr)
        if m is not None:
            dev, ino = m.identity[:2]
            weakref.finalize(arr, _unlink_if_same, _path_of(name), (dev, ino), verbose, what)
    report(verbose, f"{what} {os.fsdecode(name)!r}")
