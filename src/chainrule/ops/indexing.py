"""Indexing along a dimension: gather, scatter, scatter_add, index_select, masked_fill, tril, triu.

``gather`` and ``scatter_add`` are each other's adjoint: the gradient of one is the other, so
both are differentiable to any order. ``scatter`` writes instead of adding; its gradient keeps
``grad_output`` where nothing was written and gathers the rest for ``src``. ``index_select``,
``masked_fill``, ``tril`` and ``triu`` are compositions (indexing and ``where``).

Index tensors hold integers (int64, as in PyTorch; int32 is accepted too); a float index, an
index out of range, or shapes that do not fit raise an error naming the op, the dim and the
sizes.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.elementwise import where
from chainrule.ops.formula import formula
from chainrule.ops.movement import getitem
from chainrule.tensor import Tensor, tensor_method


# ---- arrays ----------------------------------------------------------------------------------
def _positions(index, dim):
    """The full index of the elements that ``index`` addresses along ``dim``.

    Element ``i = (i_0, ..., i_n)`` of ``index`` addresses ``(i_0, ..., index[i], ..., i_n)``:
    its own position with coordinate ``dim`` replaced by the index value.
    """
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _at_least_1d(*arrays):
    return tuple(a.reshape(a.shape or (1,)) for a in arrays)


def gather_array(x, dim, index):
    """out[i][j] = x[index[i][j]][j] (dim 0), out[i][j] = x[i][index[i][j]] (dim 1), ..."""
    x1, index1 = _at_least_1d(x, index)
    return x1[_positions(index1, dim)].reshape(index.shape)


def _src_part(src, index):
    """The leading block of ``src`` that ``index`` pairs with (all of a number)."""
    if np.ndim(src) == 0:
        return src
    (src1,) = _at_least_1d(src)
    return src1[tuple(slice(0, n) for n in index.shape or (1,))]


def scatter_array(x, dim, index, src):
    """A copy of ``x`` with out[index[i][j]][j] = src[i][j] (dim 0); ``src`` may be a number."""
    out, index1 = _at_least_1d(x.copy(), index)
    out[_positions(index1, dim)] = _src_part(src, index)
    return out.reshape(x.shape)


def scatter_add_array(x, dim, index, src):
    """A copy of ``x`` with out[index[i][j]][j] += src[i][j] (dim 0); repeated indices add up."""
    out, index1 = _at_least_1d(x.copy(), index)
    # NOTE: add.at accumulates every occurrence of a repeated index (``+=`` keeps only one).
    np.add.at(out, _positions(index1, dim), _src_part(src, index))
    return out.reshape(x.shape)


def _gradient_of_src(g_at_index, index_shape, src_shape):
    """``g`` gathered at the index, zero-padded to ``src``'s shape where src is larger."""
    if tuple(index_shape) == tuple(src_shape):
        return g_at_index
    block = tuple(slice(0, n) for n in index_shape)
    return fm.index_add(g_at_index, block, src_shape)


# ---- primitives ------------------------------------------------------------------------------
class Gather(Primitive):
    """z[i][j] = x[index[i][j]][j] (dim 0) ; dx = g scatter-added into zeros at ``index``."""

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.args = (x.shape, dim, index)
        return gather_array(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        shape, dim, index = ctx.args
        zeros = np.zeros(shape, dtype=g.dtype)
        return fm.scatter_add(zeros, dim, index, g), None, None


class ScatterAdd(Primitive):
    """z = x, then z[index[i][j]][j] += src[i][j] (dim 0) ; dx = g, dsrc = g gathered at index."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.args = (dim, index, src.shape)
        return scatter_add_array(x, dim, index, src)

    @staticmethod
    def backward(ctx, g):
        nx, _, _, ns = ctx.needs_input_grad
        dim, index, src_shape = ctx.args
        gs = _gradient_of_src(fm.gather(g, dim, index), index.shape, src_shape) if ns else None
        return (g if nx else None), None, None, gs


class Scatter(Primitive):
    """z = x, then z[index[i][j]][j] = src[i][j] (dim 0) ; dx = g with zeros where written,
    dsrc = g gathered at index."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.args = (dim, index, np.shape(src))
        return scatter_array(x, dim, index, src)

    @staticmethod
    def backward(ctx, g):
        nx, _, _, ns = ctx.needs_input_grad
        dim, index, src_shape = ctx.args
        gx = fm.scatter(g, dim, index, 0.0) if nx else None
        gs = _gradient_of_src(fm.gather(g, dim, index), index.shape, src_shape) if ns else None
        return gx, None, None, gs


# ---- checks ----------------------------------------------------------------------------------
def _index_array(op, index):
    """The integer array inside ``index`` (a Tensor or an array); other dtypes are refused."""
    array = index.data if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor (int64), got dtype {array.dtype}")
    return array


def _dim(op, dim, ndim):
    """``dim`` as an axis in [0, ndim) (a 0-d tensor has one dim of size 1, as in PyTorch)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range [{-n}, {n - 1}] for a tensor with "
                         f"{ndim} dims")
    return dim % n


def _check_range(op, index, dim, size):
    """Every value of ``index`` must lie in [0, size)."""
    if index.size == 0:
        return
    low, high = index.min(), index.max()
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise IndexError(f"{op}: index {bad} is out of bounds for dim {dim} with size {size}")


def _checked(op, x, dim, index, src_shape=None):
    """``dim`` normalised and ``index`` as an array, after PyTorch's checks of their shapes.

    ``index`` has as many dims as ``x`` (and as ``src``), is no larger than ``x`` apart from
    ``dim``, no larger than ``src`` anywhere, and holds values in [0, x.shape[dim]).
    """
    index = _index_array(op, index)
    dim = _dim(op, dim, x.ndim)
    shape, ishape = x.shape or (1,), index.shape or (1,)
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index of shape {index.shape} must have as many dims as the "
                         f"input of shape {x.shape}")
    if src_shape is not None and len(src_shape) != index.ndim:
        raise ValueError(f"{op}: index of shape {index.shape} must have as many dims as src "
                         f"of shape {src_shape}")
    too_large = any(d != dim and i > s for d, (i, s) in enumerate(zip(ishape, shape)))
    if src_shape is not None:
        too_large = too_large or any(i > s for i, s in zip(ishape, src_shape or (1,)))
    if too_large:
        src = "" if src_shape is None else f" and no larger than src of shape {src_shape}"
        raise ValueError(f"{op}: index of shape {index.shape} must be no larger than the input "
                         f"of shape {x.shape} apart from dim {dim}{src}")
    _check_range(op, index, dim, shape[dim])
    return dim, index


def _same_dtype(op, x, src):
    if x.dtype != src.dtype:
        raise TypeError(f"{op}: src ({src.dtype}) must have the dtype of the input ({x.dtype})")


# ---- functions -------------------------------------------------------------------------------
@formula(gather_array)
@tensor_method
def gather(input, dim, index, *, sparse_grad=False):  # noqa: A002 - PyTorch's name
    """Values of ``input`` picked along ``dim`` by ``index`` (the adjoint of ``scatter_add``).

    For a 3-D input: ``out[i][j][k] = input[index[i][j][k]][j][k]`` for dim 0,
    ``input[i][index[i][j][k]][k]`` for dim 1 and ``input[i][j][index[i][j][k]]`` for dim 2.

    Args:
        input: the source tensor.
        dim: the dimension to index along.
        index: an integer tensor with as many dims as ``input``, no larger than it apart from
            ``dim``; its values lie in [0, input.shape[dim]).
        sparse_grad: accepted for PyTorch compatibility; the gradient is always dense.

    Returns:
        A tensor of ``index``'s shape. Its gradient is scatter-added back into ``input``'s
        shape (repeated indices add up).

    Example:
        >>> cr.gather(cr.tensor([[1., 2.], [3., 4.]]), 1, cr.tensor([[0, 0], [1, 0]]))
        tensor([[1., 1.], [4., 3.]])
    """
    dim, index = _checked("gather", input, dim, index)
    return Gather.apply(input, dim, index)


@formula(scatter_add_array)
@tensor_method
def scatter_add(input, dim, index, src):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (out of place).

    For a 2-D input: ``out[index[i][j]][j] += src[i][j]`` for dim 0 and
    ``out[i][index[i][j]] += src[i][j]`` for dim 1; repeated indices add up.

    Args:
        input: the tensor to add to.
        dim: the dimension to index along.
        index: an integer tensor with as many dims as ``input``, no larger than ``src``, and no
            larger than ``input`` apart from ``dim``.
        src: a tensor of ``input``'s dtype; only its leading block of ``index``'s shape is used.

    Returns:
        A tensor of ``input``'s shape. Gradients: d input = g, d src = g gathered at ``index``
        (zero outside the block that ``index`` covers).
    """
    if not hasattr(src, "shape"):
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__} (use "
                        "scatter with value= to write a number)")
    _same_dtype("scatter_add", input, src)
    dim, index = _checked("scatter_add", input, dim, index, src.shape)
    return ScatterAdd.apply(input, dim, index, src)


@formula(scatter_array)
@tensor_method
def scatter(input, dim, index, src=None, *, value=None):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with ``src`` (or a number ``value``) written at ``index`` along ``dim``.

    For a 2-D input: ``out[index[i][j]][j] = src[i][j]`` for dim 0 and
    ``out[i][index[i][j]] = src[i][j]`` for dim 1. Where an index repeats, which value is kept
    is unspecified (as in PyTorch).

    Args:
        input: the tensor written into (it is not modified).
        dim: the dimension to index along.
        index: an integer tensor with as many dims as ``input``, no larger than ``src``, and no
            larger than ``input`` apart from ``dim``.
        src: a tensor of ``input``'s dtype, or a number (the same as ``value``).
        value: a number to write everywhere ``index`` points (converted to ``input``'s dtype).

    Returns:
        A tensor of ``input``'s shape. Gradients: d input = g with zeros where written,
        d src = g gathered at ``index``.
    """
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor) and value (a number)")
    src = value if src is None else src
    number = not hasattr(src, "shape")
    if not number:
        _same_dtype("scatter", input, src)
    dim, index = _checked("scatter", input, dim, index, None if number else src.shape)
    return Scatter.apply(input, dim, index, src)


@tensor_method
def index_select(input, dim, index):  # noqa: A002 - PyTorch's name
    """The entries of ``input`` at positions ``index`` along ``dim``, in that order.

    ``out = input[:, ..., index, ...]`` with ``index`` at position ``dim``; repeated indices
    repeat entries and their gradients add up.

    Args:
        input: the source tensor.
        dim: the dimension to select along.
        index: a 1-D (or 0-d) integer tensor of values in [0, input.shape[dim]).

    Returns:
        ``input``'s shape with ``dim`` of size ``len(index)``.

    Example:
        >>> cr.index_select(cr.tensor([[1., 2.], [3., 4.]]), 0, cr.tensor([1, 1]))
        tensor([[3., 4.], [3., 4.]])
    """
    index = _index_array("index_select", index)
    dim = _dim("index_select", dim, input.ndim)
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be a vector (0-d or 1-d), got shape "
                         f"{index.shape}")
    index = index.reshape(-1)
    if input.ndim == 0:
        if index.size != 1:
            raise ValueError(f"index_select: a 0-d input takes exactly one index, got "
                             f"{index.size}")
        _check_range("index_select", index, dim, 1)
        return getitem(input, Ellipsis)
    _check_range("index_select", index, dim, input.shape[dim])
    return getitem(input, (slice(None),) * dim + (index,))


@tensor_method
def masked_fill(input, mask, value):  # noqa: A002 - PyTorch's name
    """``value`` where ``mask`` is True, ``input`` elsewhere (out of place).

    ``out = where(mask, value, input)``, with ``mask`` and ``input`` broadcast together. The
    gradient is 0 for ``input`` where masked and, for a tensor ``value``, the sum of
    ``grad_output`` over the masked positions.

    Args:
        input: the tensor to fill (it is not modified).
        mask: a boolean tensor that broadcasts with ``input``.
        value: a number or a 0-d tensor, converted to ``input``'s dtype.

    Returns:
        A tensor of ``input``'s dtype and the broadcast shape.

    Example:
        >>> x = cr.tensor([1., 2., 3.])
        >>> x.masked_fill(x > 1.5, 0.0)
        tensor([1., 0., 0.])
    """
    mask_array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask_array.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a boolean tensor, got dtype "
                        f"{mask_array.dtype}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got a "
                             f"tensor of shape {value.shape}")
        value = value.to(input.dtype)
    else:
        value = input.dtype.type(value).item()
    try:
        return where(mask_array, value, input)
    except ValueError:
        raise ValueError(f"masked_fill: mask of shape {mask_array.shape} does not broadcast "
                         f"with the input of shape {input.shape}") from None


def _triangle(op, x, diagonal, lower):
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dims, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    keep = np.tri(rows, cols, diagonal, dtype=bool)
    if not lower:
        keep = ~np.tri(rows, cols, diagonal - 1, dtype=bool)
    return where(keep, x, np.zeros((), dtype=x.dtype))


@tensor_method
def tril(input, diagonal=0):  # noqa: A002 - PyTorch's name
    """The lower triangle of the last two dims: ``out[..., i, j] = input[..., i, j]`` where
    ``j - i <= diagonal``, else 0.

    Args:
        input: a tensor of at least 2 dims (a batch of matrices).
        diagonal: 0 keeps the main diagonal, k > 0 that many diagonals above it, k < 0 drops
            the main diagonal and |k| - 1 below it.

    Returns:
        A tensor of ``input``'s shape; the gradient is ``grad_output`` on the kept triangle.

    Example:
        >>> cr.tril(cr.ones(2, 3))
        tensor([[1., 0., 0.], [1., 1., 0.]])
    """
    return _triangle("tril", input, diagonal, lower=True)


@tensor_method
def triu(input, diagonal=0):  # noqa: A002 - PyTorch's name
    """The upper triangle of the last two dims: ``out[..., i, j] = input[..., i, j]`` where
    ``j - i >= diagonal``, else 0.

    Args:
        input: a tensor of at least 2 dims (a batch of matrices).
        diagonal: 0 keeps the main diagonal, k > 0 drops it and k - 1 above it, k < 0 also
            keeps |k| diagonals below it.

    Returns:
        A tensor of ``input``'s shape; the gradient is ``grad_output`` on the kept triangle.

    Example:
        >>> cr.triu(cr.ones(2, 3))
        tensor([[1., 1., 1.], [0., 1., 1.]])
    """
    return _triangle("triu", input, diagonal, lower=False)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["gather", "index_select", "masked_fill", "scatter", "scatter_add", "tril", "triu"]
