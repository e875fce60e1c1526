"""Sorting along a dimension: ``sort``, ``argsort`` and ``topk``.

The order is found on the array (an ``argsort``, no gradient); the values are then picked with
``gather``, whose gradient scatters ``grad_output`` back to the positions the values came from,
so sorting is differentiable to any order. NaN sorts as the largest value, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.ops.indexing import gather
from chainrule.tensor import Tensor, ValuesIndices, tensor_method, wrap


def _axis(op, dim, ndim):
    """``dim`` as an axis in [0, max(ndim, 1)) (a 0-d tensor has one dim, as in PyTorch)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range [{-n}, {n - 1}] for a tensor with "
                         f"{ndim} dims")
    return int(dim) % n


def order_array(x, axis, descending):
    """The stable sorting permutation of ``x`` along ``axis`` (int64): equal elements keep
    their order, in either direction."""
    xp = backend.namespace(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable").astype(np.int64, copy=False)
    # NOTE: a stable ascending sort of the reversed array, read backwards, is the descending
    # order with equal elements in their original order (and NaN first, as PyTorch puts it).
    n = x.shape[axis]
    ascending = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(ascending, axis)).astype(np.int64, copy=False)


def _checked(op, input):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a tensor, got {type(input).__name__}")
    return input


@tensor_method
def sort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002 - PyTorch's name
    """The elements sorted along ``dim``, and where each came from.

    values = gather(input, dim, indices), with ``indices`` the sorting permutation. The sort is
    always stable (equal elements keep their order), which ``stable=True`` asks for.

    Args:
        input: any tensor.
        dim: the dimension to sort along.
        descending: largest first.
        stable: accepted for PyTorch compatibility (the sort is always stable).

    Returns:
        ``(values, indices)``, a named tuple: ``values`` has ``input``'s shape and dtype, its
        gradient is scattered back to ``indices`` (int64).

    Example:
        >>> cr.sort(cr.tensor([3.0, 1.0, 2.0]))
        ValuesIndices(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    axis = _axis("sort", dim, _checked("sort", input).ndim)
    index = argsort(input, axis, descending)
    return ValuesIndices(gather(input, axis, index), index)


@tensor_method
def argsort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002 - PyTorch's name
    """The indices (int64) that sort ``input`` along ``dim``: ``sort(input, ...).indices``.

    Stable (equal elements keep their order); ``stable`` is accepted for compatibility.

    Example:
        >>> cr.tensor([3.0, 1.0, 2.0]).argsort(descending=True)
        tensor([0, 2, 1])
    """
    # NOTE: sort and topk take their order from here: under cr.compile this call runs again at
    # every replay (it is a host call, as argmax), so the order follows the values.
    axis = _axis("argsort", dim, _checked("argsort", input).ndim)
    data = input.data.reshape(input.shape or (1,))
    return wrap(order_array(data, axis, descending).reshape(input.shape))


@tensor_method
def topk(input, k, dim=None, largest=True, sorted=True):  # noqa: A002 - PyTorch's names
    """The ``k`` largest (or smallest) elements along ``dim`` (the last when None).

    values = gather(input, dim, indices) with ``indices`` the first k of the sorting
    permutation; the gradient goes back to those positions. Equal elements are taken in their
    order in ``input``.

    Args:
        input: any tensor.
        k: how many elements, 0 <= k <= input.shape[dim].
        dim: the dimension to select along (default: the last).
        largest: the largest elements (True) or the smallest (False).
        sorted: accepted for PyTorch compatibility: the values always come sorted (largest
            first when ``largest``).

    Returns:
        ``(values, indices)``, a named tuple, of ``input``'s shape with ``dim`` of size k.

    Example:
        >>> cr.topk(cr.tensor([1.0, 5.0, 3.0]), 2)
        ValuesIndices(values=tensor([5., 3.]), indices=tensor([1, 2]))
    """
    dim = -1 if dim is None else dim
    axis = _axis("topk", dim, _checked("topk", input).ndim)
    size = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= size:
        raise ValueError(f"topk: k ({k}) is out of range [0, {size}] for dim {dim} of the input "
                         f"of shape {input.shape}")
    index = argsort(input, axis, largest)
    if k < size:
        index = index[(slice(None),) * axis + (slice(0, k),)]
    return ValuesIndices(gather(input, axis, index), index)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["argsort", "sort", "topk"]
