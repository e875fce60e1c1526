"""Running sums and products: ``cumsum`` (a primitive) and ``prod`` (a composition).

``cumsum`` and the reversed cumsum are each other's adjoint, so the gradient of a running sum
is a running sum from the other end, differentiable to any order. ``prod`` multiplies pairs of
elements, level by level (a tree of ``Mul``), so its gradient is the product of the other
elements even where some of them are 0 (as PyTorch's), again to any order.

Bool and integer inputs accumulate in int64, as in PyTorch; ``dtype`` converts the input first.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.elementwise import mul
from chainrule.ops.formula import formula
from chainrule.ops.movement import clone, getitem, pad, reshape
from chainrule.tensor import Tensor, tensor_method, wrap


def cumsum_array(x, axis, reverse):
    """The running sum of ``x`` along ``axis``, from the last element when ``reverse``."""
    if not reverse:
        return np.cumsum(x, axis=axis)
    return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)


class Cumsum(Primitive):
    """z_i = sum_{j <= i} x_j along ``axis`` (j >= i when ``reverse``) ; the gradient is the
    running sum in the other direction: dx_j = sum_{i >= j} g_i."""

    @staticmethod
    def forward(ctx, x, axis, reverse):
        ctx.args = (axis, reverse)
        return cumsum_array(x, axis, reverse)

    @staticmethod
    def backward(ctx, g):
        axis, reverse = ctx.args
        return fm.cumsum_along(g, axis, not reverse), None, None


@formula(cumsum_array)
def cumsum_along(x, axis, reverse):
    """The running sum along ``axis`` (an axis of ``x``), from the end when ``reverse``."""
    return Cumsum.apply(x, axis, reverse)


def _accumulated(op, input, dtype):  # noqa: A002
    """``input`` in the dtype of the accumulation: ``dtype``, else int64 for bool and ints."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a tensor, got {type(input).__name__}")
    if dtype is not None:
        return input.to(dtype)
    if input.data.dtype.kind in "biu" and input.data.dtype != np.int64:
        return wrap(input.data.astype(np.int64))
    return input


def _axis(op, dim, ndim):
    """``dim`` as an axis in [0, max(ndim, 1)) (a 0-d tensor has one dim, as in PyTorch)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range [{-n}, {n - 1}] for a tensor with "
                         f"{ndim} dims")
    return int(dim) % n


@tensor_method
def cumsum(input, dim, *, dtype=None):  # noqa: A002 - PyTorch's name
    """The running sum along ``dim``: out_i = x_1 + x_2 + ... + x_i.

    Args:
        input: any tensor (bool and integers accumulate in int64).
        dim: the dimension to accumulate along.
        dtype: convert the input to this dtype first.

    Returns:
        A tensor of ``input``'s shape; its gradient is the reversed running sum of the
        output gradient, dx_j = sum_{i >= j} g_i.

    Example:
        >>> cr.cumsum(cr.tensor([1.0, 2.0, 3.0]), dim=0)
        tensor([1., 3., 6.])
    """
    x = _accumulated("cumsum", input, dtype)
    axis = _axis("cumsum", dim, x.ndim)
    if x.ndim == 0:
        return reshape(Cumsum.apply(reshape(x, (1,)), 0, False), ())
    return Cumsum.apply(x, axis, False)


def _pairwise_product(x, axis):
    """The product of ``x`` along ``axis`` (kept with size 1), by multiplying neighbours in
    pairs until one element is left; an odd length is padded with a 1."""
    if x.shape[axis] == 1:
        return clone(x)
    lead = (slice(None),) * axis
    while x.shape[axis] > 1:
        if x.shape[axis] % 2:
            widths = [0] * (2 * (x.ndim - axis))
            widths[-1] = 1  # after the last element of ``axis`` (pad lists dims from the end)
            x = pad(x, tuple(widths), value=1)
        x = mul(getitem(x, lead + (slice(0, None, 2),)), getitem(x, lead + (slice(1, None, 2),)))
    return x


@tensor_method
def prod(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's name
    """The product of the elements along ``dim`` (of all elements when None).

    prod(x) = x_1 x_2 ... x_n ; d prod / dx_i = prod_{j != i} x_j, also where other elements
    are 0 (one zero: only its own gradient is non-zero; two or more: every gradient is 0).

    Args:
        input: any tensor (bool and integers multiply in int64).
        dim: the dimension to reduce (an int), or None for all elements.
        keepdim: keep the reduced dimension with size 1.
        dtype: convert the input to this dtype first.

    Returns:
        The product; the empty product is 1.

    Example:
        >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(dim=1)
        tensor([ 2., 12.])
    """
    x = _accumulated("prod", input, dtype)
    if dim is None:
        out = _pairwise_product(reshape(x, (-1,)), 0)
        if x.data.size == 0:
            out = wrap(backend.namespace(x.data).ones(1, dtype=x.dtype))
        return reshape(out, (1,) * x.ndim if keepdim else ())
    axis = _axis("prod", dim, x.ndim)
    if x.ndim == 0:
        return clone(x)
    if x.shape[axis] == 0:
        kept = x.shape[:axis] + (1,) + x.shape[axis + 1:]
        out = wrap(backend.namespace(x.data).ones(kept, dtype=x.dtype))
    else:
        out = _pairwise_product(x, axis)
    return out if keepdim else reshape(out, x.shape[:axis] + x.shape[axis + 1:])


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["cumsum", "prod"]
