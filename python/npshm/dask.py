"""npshm arrays in Dask's distributed scheduler, on one machine and on many.

Between the processes of one host, Dask moves npshm arrays (and views of them) by reference: the
client's ``scatter`` and ``gather``, task results and transfers between workers send a few hundred
bytes, and the receiving process attaches the same memory. Between hosts they go by value, as Dask
sends any array. Nothing needs to be configured: a serializer for ``numpy.ndarray`` is registered
with ``distributed.protocol.dask_serialize`` in every process where both npshm and distributed
are imported (whichever first; ``import npshm`` never imports Dask), and a process that holds an
npshm array has imported npshm. It extends distributed's own serializer, which it calls for every
other array. The receiving process needs nothing: a reference arrives in the form distributed's
deserializer already reads (a pickle), which imports npshm on its own.

"Same host" is Dask's own judgement (``Comm.same_host``): the sender's and the recipient's
addresses resolve to the same IP. The reference also carries the machine's boot id and the array's
device and inode, so that a receiver that is not where the sender thought (two containers with
one IP and separate /dev/shm, data relayed through a scheduler on another host) gets a
:class:`npshm.StaleReferenceError`, never another array.

Not covered: an npshm array placed in a task graph (``client.submit(f, a)``, ``dask.delayed(a)``)
is pickled with the graph by ``pickle.dumps``, which npshm leaves by value; ``client.scatter(a)``
it first (Dask advises that for any large argument), or pass :func:`npshm.reference` and call
:func:`npshm.from_reference` in the task. Dask also counts an npshm array at its full size in a
worker's memory and may spill it to disk by value.

The helpers here serve the many-machine recipe (docs/DISTRIBUTED.md): :func:`load_on_every_host`
loads a file into each host's shared memory once, and :func:`from_shared` is a dask array whose
chunks attach it by name wherever they run.
"""

from __future__ import annotations

import functools
import importlib
import os
import pickle
from typing import Any, Optional, Union, cast

import numpy as np

from . import _native, _travel
from ._api import attach_shared_array
from ._files import read_shared_array

__all__ = ["load_on_every_host", "from_shared", "host_id"]


# ---- the serializer ------------------------------------------------------------------------


class _Rebuild:
    """Pickles as the reduction it holds: ``from_reference`` and a Reference."""

    def __init__(self, reduced: tuple[Any, ...]) -> None:
        self.reduced = reduced

    def __reduce__(self) -> tuple[Any, ...]:
        return self.reduced


def _module(name: str) -> Any:
    """A module of Dask's, imported here rather than at the top: npshm does not depend on Dask."""
    return importlib.import_module(name)


@functools.lru_cache(maxsize=256)
def _host_of(address: str) -> Optional[str]:
    addressing = _module("distributed.comm.addressing")
    try:
        return cast(str, addressing.get_address_host(addressing.resolve_address(address)))
    except Exception:  # an address Dask cannot resolve is no evidence of anything
        return None


def _same_host(context: Optional[dict[str, Any]]) -> bool:
    """Whether a message goes to a process on this host, as Dask's ``Comm.same_host`` judges:
    the sender's and the recipient's addresses resolve to the same IP. Without a context (spilling
    to disk, a user's ``serialize``) the answer is no."""
    try:
        sender = context["sender"]["address"]  # type: ignore[index]
        recipient = context["recipient"]["address"]  # type: ignore[index]
    except (KeyError, TypeError):
        return False
    host = _host_of(sender)
    return host is not None and host == _host_of(recipient)


def _register_serializer() -> None:
    """Register the ndarray serializer with distributed (idempotent)."""
    dask_serialize = _module("distributed.protocol").dask_serialize
    _module("distributed.protocol.numpy")  # distributed's own ndarray serializer, registered first
    original = dask_serialize.dispatch(np.ndarray)
    if getattr(original, "_npshm", False):
        return

    def serialize_ndarray(x: np.ndarray, context: Optional[dict[str, Any]] = None) -> Any:
        mode = _travel.get_pickling()
        if mode == "reference" or (mode == "auto" and _same_host(context)):
            try:
                reduced = _travel.reduce_by_reference(x)
            except _travel.StaleReferenceError:
                reduced = None  # the name is gone: Dask's values are immutable, so send the bytes
            if reduced is not None:
                protocol = (context or {}).get("pickle-protocol") or pickle.HIGHEST_PROTOCOL
                return {"pickle": True}, [pickle.dumps(_Rebuild(reduced), protocol=protocol)]
        return original(x, context=context)

    serialize_ndarray._npshm = True  # type: ignore[attr-defined]
    dask_serialize.register(np.ndarray)(serialize_ndarray)


# ---- many hosts ----------------------------------------------------------------------------


def host_id() -> str:
    """The identity of this host's shared memory: the machine's boot id and the device of
    directory of shared arrays (``/dev/shm``). Processes with the same host id attach the same
    arrays by name."""
    try:
        dev = os.stat(_native.dir()).st_dev
    except OSError:
        dev = 0
    return f"{_travel._boot_id()}:{dev}"


def _load_here(file: Any, name: str, read_only: bool) -> dict[str, Any]:
    arr, attached = read_shared_array(file, name, read_only=read_only, return_status=True)
    return {
        "host": host_id(),
        "loaded": not attached,
        "shape": arr.shape,
        "dtype": arr.dtype.str if not arr.dtype.fields else arr.dtype.descr,
    }


def load_on_every_host(client: Any, file: Any, name: str, *, read_only: bool = False) -> dict[str, Any]:
    """Load an array file into the shared memory of every host of a Dask cluster, once per host.

    Every worker calls :func:`npshm.read_shared_array`: on each host exactly one of them reads the
    file (whichever asks first) and the others wait and attach. Hosts where the array exists
    already attach it. The workers do not keep it mapped; :func:`from_shared` tasks attach it by
    name.

    Parameters
    ----------
    client : distributed.Client
    file : str or os.PathLike
        The array file (npio or .npy), at this path on every host.
    name : str
        The shared array's name on every host.
    read_only : bool, default False
        Attach read-only (loads still write the new array).

    Returns
    -------
    dict
        Per worker address: ``{"host": host_id, "loaded": bool, "shape": tuple, "dtype": str}``;
        ``loaded`` is True for the one worker per host that read the file.

    Raises
    ------
    Exception
        What :func:`npshm.read_shared_array` raised on a worker (missing file, mismatch, full
        /dev/shm, ...).
    """
    path = os.fspath(file)
    return cast("dict[str, Any]", client.run(_load_here, path, name, read_only))


class _NamedArray:
    """What a :func:`from_shared` chunk task holds: a name, a shape and a dtype. Indexing it
    attaches the array on whichever worker runs the task and returns a view (no copy)."""

    def __init__(self, name: str, shape: tuple[int, ...], dtype: np.dtype, read_only: bool) -> None:
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.ndim = len(shape)
        self.read_only = read_only

    def __getitem__(self, index: Any) -> np.ndarray:
        a = attach_shared_array(self.name, validate_shape=self.shape, validate_dtype=self.dtype,
                                read_only=self.read_only)
        return cast(np.ndarray, a[index])

    def __dask_tokenize__(self) -> Any:
        return ("npshm", self.name, self.shape, self.dtype.str, self.read_only)


def from_shared(
    name: str,
    shape: Optional[tuple[int, ...]] = None,
    dtype: Any = None,
    *,
    chunks: Union[str, int, tuple[Any, ...]] = "auto",
    read_only: bool = True,
) -> Any:
    """A dask array over the shared array ``name``, whose chunks attach it by name on whichever
    worker runs them.

    The task graph holds the name, not the data. Each chunk is a view of the shared memory of the
    worker's host (attached, checked against ``shape`` and ``dtype``, sliced), so the array must
    exist on every host that runs its tasks (see :func:`load_on_every_host`).

    Parameters
    ----------
    name : str
        The shared array's name.
    shape, dtype : optional
        The array's shape and dtype; if either is None, the array is attached here to find them.
    chunks : str, int or tuple, default "auto"
        As for ``dask.array.from_array``.
    read_only : bool, default True
        Attach read-only in the tasks (dask arrays are not written in place).

    Returns
    -------
    dask.array.Array
    """
    da = _module("dask.array")
    tokenize = _module("dask.base").tokenize
    if shape is None or dtype is None:
        a = attach_shared_array(name, read_only=True)
        shape = a.shape if shape is None else shape
        dtype = a.dtype if dtype is None else dtype
        del a
    src = _NamedArray(name, tuple(shape), np.dtype(dtype), read_only)
    return da.from_array(src, chunks=chunks, name=f"npshm-{tokenize(src)}", asarray=False, lock=False)
