"""Pooling: max, average and adaptive average over sliding windows (1-D and 2-D).

Max pooling keeps, in every window, the first largest value (row-major order inside the
window, as PyTorch), so ties are deterministic: only that position receives the gradient.
Its backward scatters the gradient to those positions and its double backward gathers from
them again: ``MaxPool`` -> ``PoolScatter`` <-> ``PoolGather`` (the positions are constants).
Average pooling is a window sum divided by the window count; the sum's backward spreads the
gradient over the windows and the spread's backward sums it again (``WindowSum`` <->
``WindowSpread``, each the other's adjoint). Adaptive average pooling is two matrix products
with constant averaging matrices. All are differentiable to any order. The array kernels are in
:mod:`chainrule.ops.window_kernels`.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.autograd.mode import state
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.ops.linalg import matmul
from chainrule.ops.movement import squeeze, unsqueeze
from chainrule.ops.window import Geometry, ntuple
from chainrule.ops.window_kernels import (
    gather_array,
    max_pool_array,
    scatter_array,
    window_spread_array,
    window_sum_array,
)
from chainrule.tensor import wrap


# ---- geometry --------------------------------------------------------------------------------
def pool_geometry(op, size, kernel_size, stride, padding, dilation, ceil_mode, n=2):
    """Window arguments of a pooling layer and its output size (PyTorch's rules).

    out = floor((size + 2p - d (k - 1) - 1) / s) + 1, rounded up instead with ``ceil_mode``
    (the last window must still start inside the input or its left padding); the padding at
    the end grows so that the last window fits.

    Returns:
        (Geometry, kernel, out) with n-tuples.
    """
    kernel = ntuple(kernel_size, n, "kernel_size", op)
    stride = kernel if stride is None or stride == () or stride == [] else \
        ntuple(stride, n, "stride", op)
    pad = ntuple(padding, n, "padding", op)
    dilation = ntuple(dilation, n, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(pad) < 0:
        raise ValueError(f"{op}: kernel_size {kernel}, stride {stride}, dilation {dilation} "
                         f"must be positive and padding {pad} non-negative")
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise ValueError(f"{op}: padding {pad} should be at most half of kernel_size {kernel}")
    out, pairs = [], []
    for length, k, s, p, d in zip(size, kernel, stride, pad, dilation):
        span = d * (k - 1) + 1
        o = (length + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= length + p:
            o -= 1
        if o < 1:
            raise ValueError(f"{op}: input of spatial size {tuple(size)} (padding {pad}) is "
                             f"smaller than the kernel {kernel} (dilation {dilation})")
        out.append(o)
        pairs.append((p, p + max(0, (o - 1) * s + span - length - 2 * p)))
    return Geometry(stride, tuple(pairs), dilation), kernel, tuple(out)


def _positions(idx, kernel, geom, width):
    """Flat positions, in the padded image of row length ``width``, of the chosen taps."""
    xp = backend.namespace(idx)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    oh, ow = idx.shape[2:]
    i, j = xp.divmod(idx.astype(np.int64), kernel[1])
    rows = xp.arange(oh).reshape(oh, 1) * sh + i * dh
    cols = xp.arange(ow) * sw + j * dw
    return rows, cols, rows * width + cols


# ---- formula functions: each primitive paired with its array function -------------------------
@formula(scatter_array)
def pool_scatter(g, idx, kernel, geom, size):
    """g placed at the window taps ``idx`` of a zero image, on arrays or Tensors."""
    return PoolScatter.apply(g, idx, kernel, geom, size)


@formula(gather_array)
def pool_gather(x, idx, kernel, geom):
    """The window taps ``idx`` of an image, on arrays or Tensors."""
    return PoolGather.apply(x, idx, kernel, geom)


@formula(window_sum_array)
def window_sum(x, kernel, geom, out):
    """The sum over every window of an image, on arrays or Tensors."""
    return WindowSum.apply(x, kernel, geom, out)


@formula(window_spread_array)
def window_spread(g, kernel, geom, size):
    """g[n, c, p, q] added to every position of window (p, q), on arrays or Tensors."""
    return WindowSpread.apply(g, kernel, geom, size)


# ---- primitives ------------------------------------------------------------------------------
class MaxPool(Primitive):
    """y = max over each window ; dx = the gradient scattered to each window's first argmax."""

    @staticmethod
    def forward(ctx, x, kernel, geom, out):
        needed = ctx.needs_input_grad[0] and state.grad_enabled  # no backward will come
        y, idx = max_pool_array(x, kernel, geom, out, with_indices=needed)
        ctx.idx, ctx.kernel, ctx.geom, ctx.size = idx, kernel, geom, x.shape[2:]
        return y

    @staticmethod
    def backward(ctx, g):
        return fm.pool_scatter(g, ctx.idx, ctx.kernel, ctx.geom, ctx.size), None, None, None


class PoolScatter(Primitive):
    """x = g placed at fixed window taps (linear) ; dg = the taps gathered from the gradient."""

    @staticmethod
    def forward(ctx, g, idx, kernel, geom, size):
        ctx.idx, ctx.kernel, ctx.geom = idx, kernel, geom
        return scatter_array(g, idx, kernel, geom, size)

    @staticmethod
    def backward(ctx, gx):
        return fm.pool_gather(gx, ctx.idx, ctx.kernel, ctx.geom), None, None, None, None


class PoolGather(Primitive):
    """y = x at fixed window taps (linear) ; dx = the gradient scattered back to the taps."""

    @staticmethod
    def forward(ctx, x, idx, kernel, geom):
        ctx.idx, ctx.kernel, ctx.geom, ctx.size = idx, kernel, geom, x.shape[2:]
        return gather_array(x, idx, kernel, geom)

    @staticmethod
    def backward(ctx, g):
        return fm.pool_scatter(g, ctx.idx, ctx.kernel, ctx.geom, ctx.size), None, None, None


class WindowSum(Primitive):
    """y[n, c, p, q] = sum of x over window (p, q) (linear) ; dx = g spread over the windows."""

    @staticmethod
    def forward(ctx, x, kernel, geom, out):
        ctx.kernel, ctx.geom, ctx.size = kernel, geom, x.shape[2:]
        return window_sum_array(x, kernel, geom, out)

    @staticmethod
    def backward(ctx, g):
        return fm.window_spread(g, ctx.kernel, ctx.geom, ctx.size), None, None, None


class WindowSpread(Primitive):
    """x = g spread over the windows (linear, the adjoint of ``WindowSum``) ; dg = window sums."""

    @staticmethod
    def forward(ctx, g, kernel, geom, size):
        ctx.kernel, ctx.geom, ctx.out = kernel, geom, g.shape[2:]
        return window_spread_array(g, kernel, geom, size)

    @staticmethod
    def backward(ctx, gx):
        return fm.window_sum(gx, ctx.kernel, ctx.geom, ctx.out), None, None, None


# ---- public functions ------------------------------------------------------------------------
def _as_images(op, x, n):
    """View an (N, C, *spatial) or unbatched (C, *spatial) input as images (N, C, H, W)."""
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected a {n + 2}-D input (N, C, ...) or a {n + 1}-D unbatched "
                         f"one, got shape {x.shape}")
    images = unsqueeze(x, 0) if x.ndim == n + 1 else x
    return unsqueeze(images, 2) if n == 1 else images


def _restore(y, x, n):
    """Undo :func:`_as_images` on a pooled result."""
    y = squeeze(y, 2) if n == 1 else y
    return squeeze(y, 0) if x.ndim == n + 1 else y


def _lift(geom, kernel, out):
    """A 1-D geometry as the 2-D one of an image of height 1."""
    return (Geometry((1,) + geom.stride, ((0, 0),) + geom.padding, (1,) + geom.dilation),
            (1,) + kernel, (1,) + out)


def _max_pool(op, n, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    geom, kernel, out = pool_geometry(op, x.shape[-n:], kernel_size, stride, padding, dilation,
                                      ceil_mode, n)
    if n == 1:
        geom, kernel, out = _lift(geom, kernel, out)
    images = _as_images(op, x, n)
    y = MaxPool.apply(images, kernel, geom, out)
    if not return_indices:
        return _restore(y, x, n)
    idx = y._node.idx if y._node is not None else max_pool_array(images.data, kernel, geom,
                                                                 out)[1]
    rows, cols, _ = _positions(idx, kernel, geom, 0)
    (pt, _), (pl, _) = geom.padding
    flat = (rows - pt) * images.shape[3] + (cols - pl)
    return _restore(y, x, n), _restore(wrap(flat.astype(np.int64)), x, n)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """2-D max pooling: y[n, c, p, q] = max over the window (p, q) of x (padded with -inf).

    The first maximum of a window (row-major) gets the gradient, as in PyTorch, so ties are
    deterministic. Output size floor((h + 2p - d(k - 1) - 1) / s) + 1 (ceil with ``ceil_mode``).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or a pair.
        stride: step between windows (default: ``kernel_size``).
        padding: implicit -inf on both sides, at most half the kernel.
        dilation: spacing between window taps.
        ceil_mode: round the output size up.
        return_indices: also return the flat index (h * W + w) of every maximum in its plane.

    Example:
        >>> F.max_pool2d(cr.randn(1, 3, 8, 8), 2).shape              # (1, 3, 4, 4)
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """1-D max pooling of (N, C, L) sequences; see :func:`max_pool2d`.

    Example:
        >>> F.max_pool1d(cr.randn(2, 4, 9), 3).shape                 # (2, 4, 3)
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _window_divisor(size, kernel, geom, out, count_include_pad):
    """How many positions of each window count: padding included or not (PyTorch's rules)."""
    counts = []
    for length, k, s, (lo, hi), o in zip(size, kernel, geom.stride, geom.padding, out):
        mask = np.zeros(length + lo + hi)
        # NOTE: the extra padding of ceil_mode never counts; the symmetric padding may.
        mask[0 if count_include_pad else lo:(2 * lo if count_include_pad else lo) + length] = 1
        running = np.concatenate([[0.0], np.cumsum(mask)])
        starts = np.arange(o) * s
        counts.append(running[starts + k] - running[starts])
    return np.outer(counts[0], counts[1])


def _avg_pool(op, n, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    geom, kernel, out = pool_geometry(op, x.shape[-n:], kernel_size, stride, padding, 1,
                                      ceil_mode, n)
    if n == 1:
        geom, kernel, out = _lift(geom, kernel, out)
    images = _as_images(op, x, n)
    size = images.shape[2:]
    total = WindowSum.apply(images, kernel, geom, out)
    if divisor_override:
        divisor = float(divisor_override)
    else:
        divisor = _window_divisor(size, kernel, geom, out, count_include_pad)
        divisor = float(divisor.flat[0]) if (divisor == divisor.flat[0]).all() else \
            backend.namespace(images.data).asarray(divisor.astype(images.dtype))
    return _restore(total / divisor, x, n)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """2-D average pooling: y[n, c, p, q] = (1 / |window|) sum over the window (p, q) of x.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride (default ``kernel_size``), padding: as in :func:`max_pool2d`.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in |window| (PyTorch's default).
        divisor_override: divide every window sum by this number instead.

    Example:
        >>> F.avg_pool2d(cr.ones(1, 1, 4, 4), 2)                     # all ones, (1, 1, 2, 2)
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """1-D average pooling of (N, C, L) sequences; see :func:`avg_pool2d`.

    Example:
        >>> F.avg_pool1d(cr.arange(6.0).reshape(1, 1, 6), 2)         # [[[0.5, 2.5, 4.5]]]
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def adaptive_pool_matrix(size, out_size, dtype=np.float32):
    """The (out_size, size) matrix averaging bin i = [floor(i n / m), ceil((i + 1) n / m))."""
    start = (np.arange(out_size) * size) // out_size
    stop = -((-(np.arange(out_size) + 1) * size) // out_size)
    pos = np.arange(size)
    member = (pos >= start[:, None]) & (pos < stop[:, None])
    return (member / (stop - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average pooling to a fixed output size, whatever the input size.

    Output bin (i, j) averages rows [floor(i H / h), ceil((i + 1) H / h)) and the same for the
    columns, as PyTorch; this is y = P_h x P_w^T with constant averaging matrices P.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: an int, or a pair (h, w) where None keeps the input's size.

    Example:
        >>> F.adaptive_avg_pool2d(cr.randn(2, 8, 7, 5), 1).shape     # (2, 8, 1, 1)
    """
    if input.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected a 4-D or 3-D input, got shape "
                         f"{input.shape}")
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    h, w = (s if o is None else int(o) for o, s in zip(output_size, input.shape[-2:]))
    if min(h, w) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size {tuple(output_size)} must be "
                         "positive")
    xp = backend.namespace(input.data)
    ph = wrap(xp.asarray(adaptive_pool_matrix(input.shape[-2], h, input.dtype)))
    pw = wrap(xp.asarray(adaptive_pool_matrix(input.shape[-1], w, input.dtype).T))
    return matmul(matmul(ph, input), pw)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """Average pooling of (N, C, L) sequences to length ``output_size``: y = x P^T.

    Example:
        >>> F.adaptive_avg_pool1d(cr.randn(2, 3, 10), 4).shape       # (2, 3, 4)
    """
    if input.ndim not in (2, 3) or int(output_size) < 1:
        raise ValueError(f"adaptive_avg_pool1d: expected a 3-D or 2-D input and a positive "
                         f"output_size, got shape {input.shape} and {output_size}")
    xp = backend.namespace(input.data)
    p = adaptive_pool_matrix(input.shape[-1], int(output_size), input.dtype)
    return matmul(input, wrap(xp.asarray(p.T)))
