"""Bucketed collectives: many arrays travel as one flat buffer per dtype.

An all-reduce costs a latency per call plus its bytes, so reducing a model's gradients one
parameter at a time pays the latency once per parameter. Here the arrays of each dtype are
copied into one contiguous buffer, reduced (or broadcast) in one MPI call, and handed back as
views of that buffer: one call per dtype whatever the number of arrays. These are the fast,
unchecked paths that :class:`~chainrule.nn.parallel.DistributedDataParallel`, ``SyncBatchNorm``
and the Trainer use; every rank must pass arrays of the same shapes and dtypes in the same order.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.distributed.world import communicator

__all__ = ["flatten", "unflatten", "all_reduce_arrays", "broadcast_arrays", "mpi_op"]


def flatten(arrays, xp=np):
    """One contiguous 1-D buffer holding ``arrays`` one after the other (all of one dtype)."""
    if len(arrays) == 1:
        return xp.ascontiguousarray(arrays[0]).reshape(-1).copy()
    return xp.concatenate([a.reshape(-1) for a in arrays])


def unflatten(buffer, shapes) -> list:
    """Views of ``buffer`` with the given shapes, in order (the inverse of :func:`flatten`)."""
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))
        views.append(buffer[start:start + size].reshape(shape))
        start += size
    return views


def mpi_op(op: str):
    """mpi4py's reduction for ``"sum"``, ``"max"``, ``"min"`` or ``"product"``."""
    from mpi4py import MPI

    return {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "product": MPI.PROD}[op]


def _by_dtype(arrays) -> dict:
    """{dtype: [index, ...]} in order of first appearance."""
    groups: dict = {}
    for i, a in enumerate(arrays):
        groups.setdefault(np.dtype(a.dtype), []).append(i)
    return groups


def _on_host(buffer):
    return buffer if isinstance(buffer, np.ndarray) else backend.to_numpy(buffer)


def all_reduce_arrays(arrays, op: str = "sum") -> list:
    """The element-wise reduction over ranks of each array, in one MPI call per dtype.

    result_i = op_r arrays_i^(r) (sum, max, min or product over the ranks r). The inputs are not
    modified; the results are views of fresh buffers (the inputs themselves in a world of one).
    """
    comm = communicator()
    if comm is None or comm.Get_size() == 1 or not arrays:
        return list(arrays)
    out = [None] * len(arrays)
    for indices in _by_dtype(arrays).values():
        xp = backend.namespace(*(arrays[i] for i in indices))
        buffer = _on_host(flatten([arrays[i] for i in indices], xp))
        comm.Allreduce(_in_place(), buffer, op=mpi_op(op))
        if xp is not np:
            buffer = xp.asarray(buffer)
        for i, view in zip(indices, unflatten(buffer, [arrays[i].shape for i in indices])):
            out[i] = view
    return out


def broadcast_arrays(arrays, src: int = 0) -> None:
    """Copy rank ``src``'s arrays into every rank's, in place, in one MPI call per dtype."""
    comm = communicator()
    if comm is None or comm.Get_size() == 1 or not arrays:
        return
    for indices in _by_dtype(arrays).values():
        xp = backend.namespace(*(arrays[i] for i in indices))
        buffer = _on_host(flatten([arrays[i] for i in indices], xp))
        comm.Bcast(buffer, root=src)
        for i, view in zip(indices, unflatten(buffer, [arrays[i].shape for i in indices])):
            arrays[i][...] = view if xp is np else xp.asarray(view)


def _in_place():
    from mpi4py import MPI

    return MPI.IN_PLACE
