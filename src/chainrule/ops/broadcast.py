"""Broadcasting in one place: ``broadcast_to`` and ``sum_to``, each other's adjoint.

``broadcast_to`` repeats a tensor along new leading axes and along axes of size 1; ``sum_to``
sums those axes away again, so the backward of each is the other. ``Broadcasting`` is the base of
the primitives whose inputs broadcast against each other (``a + b``, ``a @ b``): it reduces their
gradients to the inputs' shapes with ``sum_to``. ``expand`` and ``expand_as`` are composed.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula, sum_to_array
from chainrule.tensor import shape_arg, tensor_method


class BroadcastTo(Primitive):
    """z = x repeated along broadcast axes ; the gradient is summed back (``sum_to``)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return fm.sum_to(g, ctx.in_shape), None


class SumTo(Primitive):
    """z = x summed over broadcast axes down to ``shape`` ; the gradient is broadcast back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return sum_to_array(x, shape)

    @staticmethod
    def backward(ctx, g):
        return fm.broadcast_to(g, ctx.in_shape), None


class Broadcasting(Primitive):
    """Base of the primitives whose inputs broadcast against each other (``a + b``, ``a @ b``).

    Their backward formulas are written as if the inputs had the output's shape; each gradient
    is then reduced to its input's shape by ``sum_to``, the adjoint of broadcasting. This is the
    one place where broadcasting meets backward (the engine checks every gradient's shape).
    """

    def vjp(self, grad_output, as_tensors: bool) -> tuple:
        grads = super().vjp(grad_output, as_tensors)
        return tuple(
            None if g is None or p is None
            else fm.sum_to(g, p.data.shape) if g.shape != p.data.shape else g
            for g, p in zip(grads, self.parents)
        )


def broadcast_array(x, shape):
    """``x`` broadcast to ``shape`` as a new, writeable array."""
    # NOTE: filling a new array is several times faster than np.broadcast_to's Python-level
    # machinery for the small arrays of a training step, and gives a writeable result.
    out = np.empty(shape, dtype=x.dtype) if isinstance(x, np.ndarray) else \
        np.broadcast_to(x, shape).copy()
    out[...] = x
    return out


# ---- functions -------------------------------------------------------------------------------
@tensor_method
@formula(lambda x, *shape: broadcast_array(x, shape_arg(shape)))
def broadcast_to(x, *shape):
    """Repeat ``x`` along new or size-1 axes, like NumPy broadcasting."""
    shape = shape_arg(shape)
    if shape == x.shape:
        return x
    try:
        return BroadcastTo.apply(x, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}") \
            from None


@tensor_method
def expand(x, *sizes):
    """PyTorch's ``expand``: broadcast, where -1 keeps a dimension's size."""
    sizes = shape_arg(sizes)
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


@tensor_method
def expand_as(x, other):
    return broadcast_to(x, other.shape)


@tensor_method
@formula(sum_to_array)
def sum_to(x, shape):
    """Sum over the axes that broadcasting to ``x.shape`` would have added (adjoint of expand)."""
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return SumTo.apply(x, shape)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["broadcast_to", "expand", "expand_as", "sum_to"]
