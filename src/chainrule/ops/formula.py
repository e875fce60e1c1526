"""The small namespace in which backward formulas are written: one formula, two execution modes.

Each function takes raw arrays or Tensors. On arrays it computes directly (fast backward, no
graph); on Tensors it calls the differentiable chainrule operation, so a backward run with
``create_graph=True`` records a graph of itself and second derivatives come from the same
formula. Operators (``+ - * / ** @``) need no entry here: arrays and Tensors both have them.
"""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


def _is_t(x) -> bool:
    return isinstance(x, Tensor)


def sum_to_array(x, shape):
    """Sum ``x`` over the axes that broadcasting added or stretched, giving ``shape``."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot reduce shape {x.shape} to {shape}")
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and x.shape[i + lead] != 1:
            axes.append(i + lead)
        elif s != x.shape[i + lead]:
            raise ValueError(f"sum_to: cannot reduce shape {x.shape} to {shape}")
    y = x.sum(axis=tuple(axes), keepdims=True) if axes else x
    return y.reshape(shape) if lead else y


def sum_to(x, shape):
    """The adjoint of broadcasting: reduce ``x`` to ``shape``."""
    if _is_t(x):
        from chainrule.ops.movement import sum_to as op

        return op(x, shape)
    return sum_to_array(x, shape)


def broadcast_to(x, shape):
    if _is_t(x):
        from chainrule.ops.movement import broadcast_to as op

        return op(x, shape)
    # NOTE: filling a new array is several times faster than np.broadcast_to's Python-level
    # machinery for the small arrays of a training step, and gives a writeable result.
    out = np.empty(shape, dtype=x.dtype) if isinstance(x, np.ndarray) else \
        np.broadcast_to(x, shape).copy()
    out[...] = x
    return out


def reshape(x, shape):
    if _is_t(x):
        from chainrule.ops.movement import reshape as op

        return op(x, shape)
    return x.reshape(shape)


def permute(x, axes):
    if _is_t(x):
        from chainrule.ops.movement import permute as op

        return op(x, axes)
    return x.transpose(axes)


def swap_last(x):
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    if _is_t(x):
        from chainrule.ops.movement import transpose

        return transpose(x, -2, -1)
    return x.swapaxes(-2, -1)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors the array method
    if _is_t(x):
        return x.sum(axis, keepdim=keepdims)
    return x.sum(axis=axis, keepdims=keepdims)


def expand_reduced(g, shape, axis, keepdim):
    """Broadcast the gradient of a reduction over ``axis`` back to the input ``shape``."""
    if not keepdim:
        if axis is None:
            kept = (1,) * len(shape)
        else:
            kept = tuple(1 if i in axis else s for i, s in enumerate(shape))
        g = reshape(g, kept)
    return broadcast_to(g, shape)


def exp(x):
    return x.exp() if _is_t(x) else np.exp(x)


def log(x):
    return x.log() if _is_t(x) else np.log(x)


def cos(x):
    return x.cos() if _is_t(x) else np.cos(x)


def sin(x):
    return x.sin() if _is_t(x) else np.sin(x)


def where(cond, a, b):
    """Elementwise ``a if cond else b``; ``cond`` is a constant boolean array."""
    if _is_t(a) or _is_t(b):
        from chainrule.ops.elementwise import where as op

        return op(cond, a, b)
    return np.where(cond, a, b)


def index_add(g, index, shape):
    """The adjoint of ``x[index]``: a zero array of ``shape`` with ``g`` added at ``index``."""
    if _is_t(g):
        from chainrule.ops.movement import IndexAdd

        return IndexAdd.apply(g, index, shape)
    from chainrule.ops.movement import index_add_array

    return index_add_array(g, index, shape)


def getitem(x, index):
    if _is_t(x):
        from chainrule.ops.movement import GetItem

        return GetItem.apply(x, index)
    return x[index]
