"""Selecting by value: nonzero, count_nonzero, masked_select, unique.

The sizes of their results depend on the values, not only on the shapes. ``masked_select`` is
differentiable (boolean indexing, whose gradient scatters back); the others return indices,
counts or the distinct values, without gradient, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.ops.broadcast import broadcast_to
from chainrule.ops.movement import getitem
from chainrule.ops.reduce import normalize_dims
from chainrule.tensor import Tensor, tensor_method, wrap


def _array(op, input):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a tensor, got {type(input).__name__}")
    return input.data


@tensor_method
def nonzero(input, *, as_tuple=False):  # noqa: A002 - PyTorch's name
    """The indices of the non-zero elements, in row-major order (int64).

    Args:
        input: any tensor.
        as_tuple: return one 1-D index tensor per dim (``x[x.nonzero(as_tuple=True)]`` selects
            the non-zero elements) instead of one (z, ndim) tensor with a row per element.

    Example:
        >>> cr.nonzero(cr.tensor([[0, 1], [2, 0]]))
        tensor([[0, 1], [1, 0]])
    """
    data = _array("nonzero", input)
    xp = backend.namespace(data)
    if data.ndim == 0:  # a 0-d tensor counts as one element, as in PyTorch
        index = xp.nonzero(data.reshape(1))[0].astype(np.int64)
        return (wrap(index),) if as_tuple else wrap(xp.zeros((index.size, 0), dtype=np.int64))
    indices = [i.astype(np.int64, copy=False) for i in xp.nonzero(data)]
    if as_tuple:
        return tuple(wrap(i) for i in indices)
    return wrap(xp.stack(indices, axis=1))


@tensor_method
def count_nonzero(input, dim=None):  # noqa: A002 - PyTorch's name
    """The number of non-zero elements along ``dim`` (an int, a tuple, or None for all), int64.

    Example:
        >>> cr.count_nonzero(cr.tensor([[0, 1], [2, 3]]), dim=1)
        tensor([1, 2])
    """
    data = _array("count_nonzero", input)
    axis = normalize_dims(dim, data.ndim, "count_nonzero") if data.ndim else None
    xp = backend.namespace(data)
    return wrap(xp.asarray(xp.count_nonzero(data, axis=axis), dtype=np.int64))


@tensor_method
def masked_select(input, mask):  # noqa: A002 - PyTorch's name
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor (row-major order).

    ``input`` and ``mask`` broadcast together; out = broadcast(input)[broadcast(mask)]. The
    gradient is scattered back to the selected positions (summed over broadcast copies).

    Example:
        >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> cr.masked_select(x, x > 2)
        tensor([3., 4.])
    """
    data = _array("masked_select", input)
    mask = mask.data if isinstance(mask, Tensor) else backend.namespace(data).asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a boolean tensor, got dtype {mask.dtype}")
    try:
        shape = np.broadcast_shapes(data.shape, mask.shape)
    except ValueError:
        raise ValueError(f"masked_select: mask of shape {mask.shape} does not broadcast with "
                         f"the input of shape {data.shape}") from None
    x = input if data.shape == shape else broadcast_to(input, shape)
    mask = mask if mask.shape == shape else backend.namespace(mask).broadcast_to(mask, shape)
    return getitem(x, mask)


def _unique_along(data, axis, return_inverse, return_counts):
    """NumPy's ``unique`` with the inverse in PyTorch's shape: that of the input for
    ``axis=None``, one index per slice along ``axis`` otherwise."""
    xp = backend.namespace(data)
    values, inverse, counts = xp.unique(data, return_inverse=True, return_counts=True,
                                        axis=axis)
    inverse = inverse.reshape(data.shape if axis is None else (data.shape[axis],))
    out = [wrap(values)]
    if return_inverse:
        out.append(wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(wrap(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


@tensor_method
def unique(input, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
           dim=None):
    """The distinct elements of ``input`` (or distinct slices along ``dim``), in ascending order.

    Args:
        input: any tensor.
        sorted: accepted for PyTorch compatibility: the result is always sorted.
        return_inverse: also return, for each element (or each slice along ``dim``), the index
            of its value in the result, so that ``output[inverse]`` rebuilds ``input``.
        return_counts: also return how many times each distinct value occurs.
        dim: None for the flattened tensor, or the dim whose slices are compared.

    Returns:
        ``output``, or a tuple ``(output, inverse_indices, counts)`` with those asked for
        (int64). No gradient, as in PyTorch.

    Example:
        >>> cr.unique(cr.tensor([3, 1, 3, 2]), return_counts=True)
        (tensor([1, 2, 3]), tensor([1, 1, 2]))
    """
    data = _array("unique", input)
    if dim is not None:
        (dim,) = normalize_dims(dim, data.ndim, "unique")
    return _unique_along(data, dim, return_inverse, return_counts)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["count_nonzero", "masked_select", "nonzero", "unique"]
