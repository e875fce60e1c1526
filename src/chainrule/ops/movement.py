"""Shape and indexing primitives: reshape, permute, indexing, cat, pad.

``x[index]`` and ``index_add`` are each other's adjoint. Everything else (flatten, squeeze,
unsqueeze, transpose, stack, split, repeat) is composed. Broadcasting (``broadcast_to``,
``sum_to``, ``expand``) has a module of its own, :mod:`chainrule.ops.broadcast`.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.broadcast import broadcast_to
from chainrule.ops.formula import formula
from chainrule.tensor import Tensor, shape_arg, tensor_method


class Reshape(Primitive):
    """z = x viewed with another shape of the same size."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"shape {tuple(shape)} is invalid for input of size {x.size}") \
                from None

    @staticmethod
    def backward(ctx, g):
        return fm.reshape(g, ctx.in_shape), None


class Permute(Primitive):
    """z = x with its axes reordered; the gradient is permuted back."""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return fm.permute(g, ctx.inverse), None


def _is_basic(index) -> bool:
    """True for indices of ints, slices, None and Ellipsis (they never select twice)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in items)


def index_add_array(g, index, shape):
    """A zero array of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        # NOTE: an integer index may repeat an element; add.at accumulates every occurrence.
        np.add.at(out, index, g)
    return out


class GetItem(Primitive):
    """z = x[index] ; the gradient is scattered back, adding where an index repeats."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return fm.index_add(g, ctx.index, ctx.in_shape), None


class IndexAdd(Primitive):
    """z = zeros(shape) with g added at ``index`` (the adjoint of indexing)."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        return index_add_array(g, index, shape)

    @staticmethod
    def backward(ctx, gg):
        return fm.getitem(gg, ctx.index), None, None


@formula(index_add_array)
def index_add(g, index, shape):
    """A zero tensor of ``shape`` with ``g`` added at ``index`` (the adjoint of ``x[index]``)."""
    return IndexAdd.apply(g, index, shape)


def index_put_array(x, index, value):
    """A copy of ``x`` with ``value`` written at ``index``."""
    out = x.copy()
    out[index] = value
    return out


class IndexPut(Primitive):
    """z = x with z[index] = v ; dz/dx = 1 outside ``index`` and 0 inside, dz/dv = g[index]
    (summed back over the axes along which v was broadcast)."""

    @staticmethod
    def forward(ctx, x, index, value):
        ctx.index = index
        ctx.value_shape = getattr(value, "shape", ())
        return index_put_array(x, index, value)

    @staticmethod
    def backward(ctx, g):
        nx, _, nv = ctx.needs_input_grad
        gx = fm.index_put(g, ctx.index, 0.0) if nx else None
        gv = fm.sum_to(fm.getitem(g, ctx.index), ctx.value_shape) if nv else None
        return gx, None, gv


@formula(index_put_array)
def index_put(x, index, value):
    """A copy of ``x`` with ``value`` written at ``index`` (what ``x[index] = value`` does in
    place): the gradient flows to ``x`` outside ``index`` and to ``value`` inside it."""
    return IndexPut.apply(x, index_arrays(index), value)


class Cat(Primitive):
    """z = the inputs joined along ``axis`` ; each gets back its slice of the gradient."""

    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        grads = [None]
        for i, need in enumerate(ctx.needs_input_grad[1:]):
            start, stop = int(ctx.bounds[i]), int(ctx.bounds[i + 1])
            grads.append(fm.getitem(g, lead + (slice(start, stop),)) if need else None)
        return tuple(grads)


class Clone(Primitive):
    """z = a copy of x ; dz/dx = 1."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Pad(Primitive):
    """z = x surrounded by ``value`` ; the gradient is the inner slice."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return fm.getitem(g, ctx.inner), None, None


# ---- functions -------------------------------------------------------------------------------
@tensor_method
@formula(lambda x, *shape: x.reshape(shape_arg(shape)))
def reshape(x, *shape):
    """The same elements in a new shape (one dimension may be -1)."""
    shape = shape_arg(shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape)


view = tensor_method(reshape, "view")


@tensor_method
def view_as(x, other):
    return reshape(x, other.shape)


reshape_as = tensor_method(view_as, "reshape_as")


@tensor_method
def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return reshape(x, shape)


@tensor_method
@formula(lambda x, *dims: x.transpose(shape_arg(dims)))
def permute(x, *dims):
    """Reorder the axes: ``x.permute(2, 0, 1)``."""
    dims = shape_arg(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {len(dims)} dims given for a tensor of shape {x.shape}")
    dims = tuple(_axis(d, x.ndim, "permute") for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims)


def _axis(dim, n, op):
    """``dim`` as an axis in [0, n), counting from the end when negative."""
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range [{-n}, {n - 1}]")
    return dim % n


@tensor_method
@formula(lambda x, dim0, dim1: x.swapaxes(dim0, dim1))
def transpose(x, dim0, dim1):
    """Swap two axes."""
    n = max(x.ndim, 1)
    dim0, dim1 = _axis(dim0, n, "transpose"), _axis(dim1, n, "transpose")
    if x.ndim == 0:
        return x
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, tuple(axes))


@tensor_method
def t(x):
    """Transpose of a matrix (a vector is returned as is)."""
    return x if x.ndim < 2 else transpose(x, 0, 1)


@tensor_method
def squeeze(x, dim=None):
    """Drop axes of size 1 (only ``dim`` when given)."""
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = {_axis(d, max(x.ndim, 1), "squeeze")
                for d in ((dim,) if isinstance(dim, int) else dim)}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


@tensor_method
def unsqueeze(x, dim):
    """Insert an axis of size 1 at ``dim``."""
    dim = _axis(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def index_arrays(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


@formula(lambda x, index: x[index])
def getitem(x, index):
    """``x[index]`` with slices, integers, integer arrays (repeats add up) or boolean masks."""
    return GetItem.apply(x, index_arrays(index))


def cat(tensors, dim=0):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    ndim = tensors[0].ndim
    shapes = [t.shape for t in tensors]
    axis = dim % ndim
    for s in shapes:
        if len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(f"cat: shapes {shapes} do not match outside dim {dim}")
    return Cat.apply(axis, *tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join tensors of equal shape along a new axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


@tensor_method
def split(x, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (an int) or of the given sizes (a list)."""
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [min(step, n - i) for i in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n} (dim {dim} of "
                             f"{x.shape})")
    lead = (slice(None),) * (dim % x.ndim)
    out, start = [], 0
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(out)


@tensor_method
def chunk(x, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces."""
    n = x.shape[dim]
    return split(x, -(-n // chunks), dim)


def pad(x, pad, mode="constant", value=0.0):
    """Pad with a constant; ``pad`` lists (left, right) pairs from the last dimension back."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: pad {tuple(pad)} must hold (left, right) pairs for at most "
                         f"{x.ndim} dims")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(x, tuple(widths), value)


@tensor_method
def repeat(x, *sizes):
    """Tile the tensor ``sizes[i]`` times along each axis (PyTorch's ``repeat``)."""
    sizes = shape_arg(sizes)
    lead = len(sizes) - x.ndim
    x = reshape(x, (1,) * lead + x.shape)
    inter = []
    final = []
    for r, s in zip(sizes, x.shape):
        inter += [r, s]
        final.append(r * s)
    expanded = broadcast_to(reshape(x, tuple(v for s in x.shape for v in (1, s))), tuple(inter))
    return reshape(expanded, tuple(final))


@tensor_method
def clone(x):
    """A copy that stays in the graph (gradient passes through unchanged)."""
    return Clone.apply(x)


@tensor_method
def contiguous(x):
    return x


@tensor_method
def type_as(x, other):
    return x.to(other.dtype)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = [
    "cat", "chunk", "clone", "concatenate", "contiguous", "flatten", "getitem", "index_arrays",
    "pad", "permute", "repeat", "reshape", "reshape_as", "split", "squeeze", "stack", "t",
    "transpose", "type_as", "unsqueeze", "view", "view_as",
]
