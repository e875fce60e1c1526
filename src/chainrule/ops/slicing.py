"""Taking parts of a tensor along one dimension: ``narrow`` and ``repeat_interleave``.

Both are compositions of indexing (``x[index]``), whose gradient scatters back and adds where an
index repeats, so they are differentiable to any order.
"""

from __future__ import annotations

import numpy as np

from chainrule.ops.movement import getitem
from chainrule.tensor import Tensor, tensor_method


def _dim(x, dim, op):
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {x.shape}")
    return dim % x.ndim


@tensor_method
def narrow(x, dim, start, length):
    """x[..., start:start + length, ...] along ``dim`` (a view of the same elements)."""
    dim = _dim(x, dim, "narrow")
    size = x.shape[dim]
    start = int(start.item()) if isinstance(start, Tensor) else int(start)
    start = start + size if start < 0 else start
    if not (0 <= start <= size and 0 <= length and start + length <= size):
        raise IndexError(f"narrow: start {start} and length {length} exceed dim {dim} of size "
                         f"{size}")
    return getitem(x, (slice(None),) * dim + (slice(start, start + length),))


@tensor_method
def repeat_interleave(x, repeats, dim=None):
    """Each element repeated ``repeats`` times along ``dim`` (the flattened tensor when None):
    repeat_interleave([1, 2], 2) = [1, 1, 2, 2]. ``repeats`` is an int or one count per element.
    """
    if dim is None:
        x, dim = x.reshape(-1), 0
    dim = _dim(x, dim, "repeat_interleave")
    counts = repeats.data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.ndim and counts.shape[0] != x.shape[dim]:
        raise ValueError(f"repeat_interleave: {counts.shape[0]} repeats for dim {dim} of size "
                         f"{x.shape[dim]}")
    if np.any(counts < 0):
        raise ValueError("repeat_interleave: repeats must be non-negative")
    index = np.repeat(np.arange(x.shape[dim]), counts)
    return getitem(x, (slice(None),) * dim + (index,))


__all__ = ["narrow", "repeat_interleave"]
