"""Differentiable collectives (PyTorch's ``torch.distributed.nn.functional``).

When every rank r computes a loss L_r and the objective is their sum, the adjoint of a
collective is another collective:

- all_reduce: y = sum_s x_s on every rank, so dL/dx_r = sum_s dL_s/dy_s: the gradient is the
  all-reduced gradient;
- all_gather: y = stack(x_0, ..., x_{N-1}) on every rank, so dL/dx_r = sum_s (dL_s/dy_s)[r]:
  the all-reduced gradient's row r.

Both backward passes are written with these same functions, so they are differentiable in turn.
SyncBatchNorm's statistics are built on :func:`all_gather`.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Function
from chainrule.distributed.buckets import all_reduce_arrays
from chainrule.distributed.world import communicator, rank, world_size

__all__ = ["all_reduce", "all_gather"]


class _AllReduceSum(Function):
    @staticmethod
    def forward(ctx, x):
        return all_reduce_arrays([x.data])[0].copy() if world_size() > 1 else x.data.copy()

    @staticmethod
    def backward(ctx, grad_output):
        return _AllReduceSum.apply(grad_output)


class _AllGather(Function):
    @staticmethod
    def forward(ctx, x):
        comm = communicator()
        if comm is None or comm.Get_size() == 1:
            return x.data[None].copy()
        host = np.ascontiguousarray(backend.to_numpy(x.data))
        out = np.empty((comm.Get_size(), *host.shape), dtype=host.dtype)
        comm.Allgather(host, out)
        return out if isinstance(x.data, np.ndarray) else backend.namespace(x.data).asarray(out)

    @staticmethod
    def backward(ctx, grad_output):
        return _AllReduceSum.apply(grad_output)[rank()]


def all_reduce(tensor):
    """sum_r tensor^(r) over the ranks, as a new Tensor, differentiable (the gradient is the
    all-reduced gradient). Every rank must call it with the same shape and dtype.

    Example:
        >>> total = dist.functional.all_reduce(x.sum(0))     # a sum over every rank's batch
    """
    return _AllReduceSum.apply(tensor)


def all_gather(tensor):
    """Every rank's ``tensor`` stacked: shape (world_size, *tensor.shape), row r from rank r;
    differentiable (rank r's gradient is row r of the all-reduced gradient).

    Example:
        >>> stats = dist.functional.all_gather(cr.stack([mean, var]))   # (N, 2, C)
    """
    return _AllGather.apply(tensor)
