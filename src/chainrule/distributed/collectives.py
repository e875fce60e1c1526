"""Collective operations on Tensors, with PyTorch's names: ``all_reduce``, ``broadcast``,
``barrier``, ``all_gather_object``.

Every rank must call a collective, in the same order, with tensors of the same shape and
dtype. The calls here check that first: each rank sends what it holds (dtype, shape, the
operation, or what is wrong with its argument), and when anything disagrees every rank raises
the same error, naming the ranks, instead of one rank failing while the others wait forever.
The check costs one small message per call; DistributedDataParallel uses the unchecked bucketed
paths of :mod:`chainrule.distributed.buckets`.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.distributed.buckets import mpi_op
from chainrule.distributed.world import communicator
from chainrule.tensor import ARRAY_TYPES, Tensor

__all__ = ["ReduceOp", "all_reduce", "broadcast", "barrier", "all_gather_object"]


class ReduceOp:
    """The reductions of :func:`all_reduce` (PyTorch's ``dist.ReduceOp.SUM``, ...); plain
    strings work as well: ``"sum"``, ``"mean"``, ``"max"``, ``"min"``, ``"product"``."""

    SUM = "sum"
    AVG = "mean"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"


_OPS = ("sum", "mean", "max", "min", "product")


def _check_op(op) -> str:
    name = op.lower() if isinstance(op, str) else op
    name = {"avg": "mean", "prod": "product"}.get(name, name)
    if name not in _OPS:
        raise ValueError(f"all_reduce: unknown op {op!r}; expected one of {', '.join(_OPS)}")
    return name


def _problem(tensor, op: str = "sum"):
    """What makes ``tensor`` unusable for a collective (None when it is fine)."""
    if not isinstance(tensor, (Tensor, *ARRAY_TYPES)):
        return f"expected a Tensor, got {type(tensor).__name__}"
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if array.dtype.kind not in "iuf":
        return f"dtype {array.dtype} is not supported (integers and floats are)"
    if op == "mean" and array.dtype.kind != "f":
        return f"op='mean' needs a floating tensor, got dtype {array.dtype}; use op='sum'"
    if not array.flags.c_contiguous:
        return (f"the tensor of shape {tuple(array.shape)} is not contiguous; pass "
                ".contiguous() and copy the result back")
    return None


def _agree(who: str, comm, problem, signature) -> None:
    """Raise the same error on every rank when a rank has a problem or the signatures differ."""
    if comm is None or comm.Get_size() == 1:
        if problem is not None:
            raise ValueError(f"{who}: {problem}")
        return
    gathered = comm.allgather((problem, signature))
    problems = [f"rank {r}: {p}" for r, (p, _) in enumerate(gathered) if p is not None]
    if problems:
        raise ValueError(f"{who}: " + "; ".join(problems))
    if any(s != gathered[0][1] for _, s in gathered):
        held = "; ".join(f"rank {r}: {s}" for r, (_, s) in enumerate(gathered))
        raise ValueError(f"{who}: the ranks disagree ({held}); every rank must pass a tensor "
                         "of the same shape and dtype, with the same arguments")


def _signature(tensor, **args) -> str:
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    dtype, shape = getattr(array, "dtype", None), tuple(getattr(array, "shape", ()))
    extra = "".join(f", {k}={v!r}" for k, v in args.items())
    return f"dtype {dtype}, shape {shape}{extra}"


def _apply_in_place(tensor, fn) -> None:
    """Run ``fn`` on the host array of ``tensor`` and leave the result in ``tensor``."""
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    host = array if isinstance(array, np.ndarray) else backend.to_numpy(array)
    fn(host)
    if host is not array:
        array[...] = backend.namespace(array).asarray(host)
    if isinstance(tensor, Tensor):
        tensor._version += 1


def all_reduce(tensor, op: str = "sum") -> None:
    """Reduce ``tensor`` over all ranks, in place: afterwards every rank holds the result.

    x <- sum_r x^(r) (``"sum"``), (1/N) sum_r x^(r) (``"mean"``), max_r, min_r or prod_r x^(r),
    for N = world_size() ranks. Returns None, as ``torch.distributed.all_reduce``; a world of
    one leaves ``tensor`` unchanged.

    Args:
        tensor: a contiguous Tensor (or NumPy array) of integers or floats, the same shape and
            dtype on every rank.
        op: ``"sum"``, ``"mean"`` (floats only), ``"max"``, ``"min"``, ``"product"``, or a
            :class:`ReduceOp`.

    Raises:
        ValueError: an unknown op, a tensor that is not contiguous or of an unsupported dtype,
            or ranks that disagree on shape, dtype or op (raised on every rank).

    Example:
        >>> t = cr.tensor([float(dist.rank())])
        >>> dist.all_reduce(t)          # under mpiexec -n 3: tensor([3.]) on every rank
    """
    op = _check_op(op)
    comm = communicator()
    _agree("all_reduce", comm, _problem(tensor, op), _signature(tensor, op=op))
    if comm is None or comm.Get_size() == 1:
        return
    from mpi4py import MPI

    def reduce(host):
        comm.Allreduce(MPI.IN_PLACE, host, op=mpi_op("sum" if op == "mean" else op))
        if op == "mean":
            host /= comm.Get_size()

    _apply_in_place(tensor, reduce)


def broadcast(tensor, src: int = 0) -> None:
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place (returns None).

    Raises:
        ValueError: ``src`` outside 0 .. world_size() - 1, an unusable tensor, or ranks that
            disagree on shape, dtype or ``src``.

    Example:
        >>> w = cr.randn(3) if dist.rank() == 0 else cr.zeros(3)
        >>> dist.broadcast(w, src=0)    # every rank now holds rank 0's values
    """
    comm = communicator()
    size = 1 if comm is None else comm.Get_size()
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < size:
        raise ValueError(f"broadcast: src must be a rank in 0 .. {size - 1}, got {src!r}")
    _agree("broadcast", comm, _problem(tensor), _signature(tensor, src=int(src)))
    if size == 1:
        return
    _apply_in_place(tensor, lambda host: comm.Bcast(host, root=int(src)))


def barrier() -> None:
    """Wait until every rank has reached this call (no-op in a world of one)."""
    comm = communicator()
    if comm is not None:
        comm.Barrier()


def all_gather_object(object_list: list, obj) -> None:
    """Fill ``object_list`` with every rank's ``obj`` (pickled): ``object_list[r]`` is rank r's.

    ``object_list`` must have world_size() entries (PyTorch's signature); meant for small Python
    objects (logs, metric states), not for tensors on the hot path.
    """
    comm = communicator()
    size = 1 if comm is None else comm.Get_size()
    if len(object_list) != size:
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries, the "
                         f"world has {size} ranks")
    object_list[:] = [obj] if comm is None else comm.allgather(obj)
