"""Rearranging and joining: flip, roll, tile, unbind, hstack, vstack, concat, meshgrid.

All are compositions of slicing, ``cat``, ``repeat``, ``reshape`` and ``expand``, so their
gradients (and the gradients of those) come from those primitives: a flip or a roll moves the
gradient back to where each element came from, a tile sums it over the copies.
"""

from __future__ import annotations

from chainrule.ops.broadcast import broadcast_to
from chainrule.ops.movement import cat, clone, getitem, repeat, reshape
from chainrule.tensor import Tensor, shape_arg, tensor_method


def _axes(op, dims, ndim):
    """``dims`` (an int or a sequence) as distinct axes in [0, max(ndim, 1))."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    n = max(ndim, 1)
    axes = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range [{-n}, {n - 1}] for a tensor with "
                             f"{ndim} dims")
        if d % n in axes:
            raise ValueError(f"{op}: dim {d} appears more than once in dims {dims}")
        axes.append(d % n)
    return axes


def flip(input, dims):  # noqa: A002 - PyTorch's name
    """The elements in reverse order along each of ``dims``: out[i] = x[n - 1 - i].

    ``cr.flip(x, (0, 1))`` is ``x.flip(0, 1)``; the gradient is flipped back.

    Example:
        >>> cr.flip(cr.tensor([[1, 2], [3, 4]]), (1,))
        tensor([[2, 1], [4, 3]])
    """
    axes = _axes("flip", dims, input.ndim)
    if input.ndim == 0:
        return clone(input)
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(input.ndim))
    return clone(getitem(input, index))


def _flip_method(self, *dims, **kwargs):
    """``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=[0, 1])``: see :func:`flip`."""
    return flip(self, shape_arg(_dims_argument("flip", dims, kwargs)))


def _dims_argument(op, dims, kwargs):
    """The dims of ``x.op(*dims)`` or ``x.op(dims=...)`` (PyTorch's keyword)."""
    if set(kwargs) - {"dims"} or (dims and kwargs):
        raise TypeError(f"{op}: expected dims as positional arguments or as dims=, got "
                        f"{dims} and {kwargs}")
    return (kwargs["dims"],) if kwargs else dims


tensor_method(_flip_method, "flip")


def _roll_axis(x, shift, axis):
    """``x`` rolled by ``shift`` along ``axis``: the last ``shift`` elements come first."""
    n = x.shape[axis]
    shift = shift % n if n else 0
    if shift == 0:
        return clone(x)
    lead = (slice(None),) * axis
    return cat([getitem(x, lead + (slice(n - shift, None),)),
                getitem(x, lead + (slice(0, n - shift),))], axis)


@tensor_method
def roll(input, shifts, dims=None):  # noqa: A002 - PyTorch's name
    """Shift the elements cyclically: out[(i + shift) mod n] = x[i] along each dim.

    Args:
        input: any tensor.
        shifts: an int or a tuple, one shift per dim (negative shifts go the other way).
        dims: an int or a tuple; None rolls the flattened tensor and restores the shape.

    Returns:
        A tensor of ``input``'s shape; the gradient is rolled back.

    Example:
        >>> cr.roll(cr.tensor([1, 2, 3, 4]), 1)
        tensor([4, 1, 2, 3])
    """
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: {len(shifts)} shifts given without dims (one shift rolls "
                             "the flattened tensor)")
        return reshape(_roll_axis(reshape(input, (-1,)), shifts[0], 0), input.shape)
    axes = _axes("roll", dims, input.ndim)
    if len(axes) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    if input.ndim == 0:
        return clone(input)
    out = input
    for shift, axis in zip(shifts, axes):
        out = _roll_axis(out, shift, axis)
    return out


def tile(input, dims):  # noqa: A002 - PyTorch's name
    """The tensor repeated ``dims[i]`` times along each dim; missing leading dims count as 1.

    ``cr.tile(x, (2,))`` of a (2, 3) tensor is ``x.repeat(1, 2)``; more ``dims`` than ``x`` has
    dims add leading dims, as in ``repeat``. The gradient sums over the copies.

    Example:
        >>> cr.tile(cr.tensor([1, 2]), (2,))
        tensor([1, 2, 1, 2])
    """
    dims = shape_arg((dims,))
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def _tile_method(self, *dims, **kwargs):
    """``x.tile(2, 2)``, ``x.tile((2, 2))`` or ``x.tile(dims=(2, 2))``: see :func:`tile`."""
    return tile(self, shape_arg(_dims_argument("tile", dims, kwargs)))


tensor_method(_tile_method, "tile")


@tensor_method
def unbind(input, dim=0):  # noqa: A002 - PyTorch's name
    """The slices of ``input`` along ``dim``, as a tuple of tensors without that dim.

    Example:
        >>> cr.unbind(cr.tensor([[1, 2], [3, 4]]), 1)
        (tensor([1, 3]), tensor([2, 4]))
    """
    if input.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dim to unbind")
    (axis,) = _axes("unbind", dim, input.ndim)
    lead = (slice(None),) * axis
    return tuple(getitem(input, lead + (i,)) for i in range(input.shape[axis]))


def _at_least(x, ndim):
    """``x`` with dims of size 1 added: a scalar becomes (1,) or (1, 1), a vector (1, n)."""
    if x.ndim >= ndim:
        return x
    if x.ndim == 0:
        return reshape(x, (1,) * ndim)
    return reshape(x, (1,) + x.shape)


def _tensors(op, tensors):
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{op}: expected a non-empty sequence of tensors")
    return tensors


def hstack(tensors):
    """Join tensors column-wise: along dim 0 for vectors (and scalars), dim 1 otherwise.

    Example:
        >>> cr.hstack([cr.tensor([1, 2]), cr.tensor([3])])
        tensor([1, 2, 3])
    """
    tensors = [_at_least(t, 1) for t in _tensors("hstack", tensors)]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Join tensors row-wise (along dim 0), vectors of size n taken as rows (1, n).

    Example:
        >>> cr.vstack([cr.tensor([1, 2]), cr.tensor([3, 4])])
        tensor([[1, 2], [3, 4]])
    """
    return cat([_at_least(t, 2) for t in _tensors("vstack", tensors)], 0)


def concat(tensors, dim=0):
    """PyTorch's other name of ``cat``: join tensors along an existing dim."""
    return cat(tensors, dim)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of vectors x_1 .. x_k: out_i[j_1, ..., j_k] = x_i[j_i].

    Args:
        tensors: k tensors of 0 or 1 dims (or one list of them).
        indexing: "ij" (matrix indexing, the default, as PyTorch's present default) gives
            grids of shape (n_1, ..., n_k); "xy" (Cartesian) swaps the first two sizes.

    Returns:
        A tuple of k tensors of the grid's shape; each gradient sums over the copies.

    Example:
        >>> xs, ys = cr.meshgrid(cr.tensor([1, 2]), cr.tensor([3, 4, 5]), indexing="ij")
        >>> xs.shape, ys.shape
        ((2, 3), (2, 3))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = _tensors("meshgrid", tensors)
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ValueError(f"meshgrid: expected 0-d or 1-d tensors, got shapes "
                         f"{[t.shape for t in tensors]}")
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        order[0], order[1] = 1, 0  # axis of the grid along which each input varies
    sizes = [t.data.size for t in tensors]
    shape = tuple(sizes[order.index(axis)] for axis in range(len(tensors)))
    grids = []
    for t, axis in zip(tensors, order):
        lined = [1] * len(tensors)
        lined[axis] = -1
        grids.append(broadcast_to(reshape(t, tuple(lined)), shape))
    return tuple(grids)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["concat", "flip", "hstack", "meshgrid", "roll", "tile", "unbind", "vstack"]
