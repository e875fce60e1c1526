"""The array kernels of the window operations: im2col, col2im, convolution and pooling.

These work on raw arrays (NumPy or CuPy) and are wrapped by the primitives of
:mod:`chainrule.ops.window` and :mod:`chainrule.ops.pooling`. Along one spatial axis a window
of ``k`` taps with stride ``s``, dilation ``d`` and padding ``p`` has

    out = floor((size + 2p - d (k - 1) - 1) / s) + 1   positions (SPEC 9).

**Memory layout.** Images are (N, C, H, W) arrays, but the kernels keep them *batch-last* in
memory: a view of a (C, H, W, N) array. Then what a kernel offset (i, j) sees across all the
windows is made of runs of N contiguous numbers (``out_w * N`` with stride 1), so im2col copies,
col2im adds and the pooling passes go through long runs, where the usual (N, C, H, W) order
gives runs of ``out_w`` numbers at best (strided ones when the stride is not 1), each a round
of NumPy's inner loop. Measured on LeNet-5 (batch 64, one thread), im2col and col2im take two
to four times less time this way. The convolution's column matrix
is (C kh kw, out_h out_w N), its output (O, out_h out_w N) is the result (N, O, out_h, out_w)
as a transposed view, and the next layer, the pooling and the backward pass read it as is.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend

NO_PADDING = ((0, 0), (0, 0))


# ---- geometry --------------------------------------------------------------------------------
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1) -> int:
    """Number of window positions along one axis: floor((size + 2p - d(k-1) - 1) / s) + 1.

    With dilation 1 this is the classic h_new = floor((h - f + 2p) / s) + 1 (SPEC 9).

    Args:
        size: the input length along the axis (h).
        kernel: the kernel length (f).
        stride: the step between windows (s).
        padding: zeros added on each side (p); a (before, after) pair is accepted too.
        dilation: the spacing between kernel taps (d).

    Example:
        >>> conv_output_size(12, 3)                       # 10
        >>> conv_output_size(37, 5, stride=2)             # 17
    """
    lo, hi = (padding, padding) if isinstance(padding, (int, np.integer)) else padding
    return (size + lo + hi - dilation * (kernel - 1) - 1) // stride + 1


def window_counts(size, kernel, geom) -> tuple:
    """The number of window positions along both spatial axes (see :func:`conv_output_size`)."""
    return tuple(conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                 zip(size, kernel, geom.stride, geom.padding, geom.dilation))


def tap_slice(axis, tap, geom, count) -> slice:
    """The positions that tap ``tap`` of each of ``count`` windows reads along a padded axis:
    s q + d tap for q = 0 .. count - 1."""
    start, step = geom.dilation[axis] * tap, geom.stride[axis]
    return slice(start, start + step * (count - 1) + 1, step)


# ---- the batch-last layout -------------------------------------------------------------------
def batch_last(x, padding=NO_PADDING, value=0.0):
    """x (N, C, H, W), padded by ((top, bottom), (left, right)) with ``value``, as a view of a
    (C, H', W', N) array. No copy when there is no padding and x is stored so already."""
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr) and x.transpose(1, 2, 3, 0).flags.c_contiguous:
        return x
    xp = backend.namespace(x)
    out = xp.empty((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype)
    if pt or pb or pl or pr:
        out.fill(value)
    out[:, pt:pt + h, pl:pl + w] = x.transpose(1, 2, 3, 0)
    return out.transpose(3, 0, 1, 2)


def _from_batch_last(m, size, padding=NO_PADDING):
    """A (C, H', W', N) array, its padding cut away, as the image (N, C, H, W): a view."""
    (pt, _), (pl, _) = padding
    return m[:, pt:pt + size[0], pl:pl + size[1]].transpose(3, 0, 1, 2)


def _strided(x, shape, strides):
    if backend.is_gpu_array(x):  # pragma: no cover - needs CuPy
        return backend.namespace(x).lib.stride_tricks.as_strided(x, shape, strides)
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


# ---- im2col and col2im -----------------------------------------------------------------------
def im2col(x, kernel, geom, out, groups=1):
    """The columns of a grouped convolution: a (G, C/G kh kw, out_h out_w N) matrix.

    cols[(c, i, j), (p, q, n)] = x_pad[n, c, s p + d i, s q + d j]: the strided view of all the
    windows copied once, in this order, into a new array. An input that is padded, or not
    stored batch-last, is first copied into a batch-last image (the size of the image, kh kw
    times smaller than the columns).
    """
    n, c = x.shape[:2]
    padded = batch_last(x, geom.padding).transpose(1, 2, 3, 0)  # (C, H', W', N)
    sc, sh, sw, sn = padded.strides
    (dh, dw), (th, tw) = geom.dilation, geom.stride
    shape = (c, kernel[0], kernel[1], out[0], out[1], n)
    view = _strided(padded, shape, (sc, sh * dh, sw * dw, sh * th, sw * tw, sn))
    cols = backend.namespace(x).empty(shape, dtype=x.dtype)
    cols[...] = view
    return cols.reshape(groups, -1, out[0] * out[1] * n)


def col2im(cols, size, geom):
    """Scatter-add columns (C, kh, kw, out_h, out_w, N) into an image (N, C, H, W): the adjoint
    of :func:`im2col`.

    x_pad[n, c, s p + d i, s q + d j] += cols[c, i, j, p, q, n]: one ``+=`` of a strided block
    per kernel offset (kh kw of them, never a loop over pixels) into a zero padded image, whose
    padding is then cut away. The result is a batch-last view.
    """
    c, kh, kw, oh, ow, n = cols.shape
    (pt, pb), (pl, pr) = geom.padding
    image = backend.namespace(cols).zeros((c, size[0] + pt + pb, size[1] + pl + pr, n),
                                          dtype=cols.dtype)
    for i in range(kh):
        rows = tap_slice(0, i, geom, oh)
        for j in range(kw):
            image[:, rows, tap_slice(1, j, geom, ow)] += cols[:, i, j]
    return _from_batch_last(image, size, geom.padding)


# ---- convolutions ----------------------------------------------------------------------------
def _grad_matrix(g, groups):
    """An output-shaped (N, O, oh, ow) array as a (G, O/G, oh ow N) matrix (a view when g is
    batch-last, as the convolutions' outputs are)."""
    n, o, oh, ow = g.shape
    return g.transpose(1, 2, 3, 0).reshape(groups, o // groups, oh * ow * n)


def conv_array(x, weight, bias, geom, groups, cols=None):
    """y[n, o] = sum_{c, i, j} W[o, c, i, j] x_pad[n, g(o) C/G + c, s p + d i, s q + d j] + b[o].

    One matrix product per group, Y = W cols, on the columns of :func:`im2col`; the result is
    a batch-last view of Y.
    """
    o = weight.shape[0]
    out = window_counts(x.shape[2:], weight.shape[2:], geom)
    if cols is None:
        cols = im2col(x, weight.shape[2:], geom, out, groups)
    y = (weight.reshape(groups, o // groups, -1) @ cols).reshape(o, out[0], out[1], x.shape[0])
    if bias is not None:
        y += bias.reshape(o, 1, 1, 1)
    return y.transpose(3, 0, 1, 2)


def conv_transpose_array(g, weight, bias, geom, groups, size):
    """The adjoint of ``conv_array`` in x: the columns W^T G scattered back by :func:`col2im`."""
    n, _, oh, ow = g.shape
    o, cg, kh, kw = weight.shape
    w = weight.reshape(groups, o // groups, cg * kh * kw)
    cols = w.transpose(0, 2, 1) @ _grad_matrix(g, groups)
    x = col2im(cols.reshape(groups * cg, kh, kw, oh, ow, n), size, geom)
    if bias is not None:
        x = x + bias.reshape(1, -1, 1, 1)
    return x


def conv_grad_weight_array(x, g, geom, groups, kernel, cols=None):
    """dL/dW[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c', s p + d i, s q + d j].

    Computed as dW^T = cols G^T, (C/G kh kw, O/G) per group: with the long axis (out_h out_w N)
    inner to both operands, BLAS runs this about twice as fast as G cols^T.
    """
    if cols is None:
        cols = im2col(x, kernel, geom, g.shape[2:], groups)
    dw_t = cols @ _grad_matrix(g, groups).transpose(0, 2, 1)
    return dw_t.transpose(0, 2, 1).reshape(g.shape[1], x.shape[1] // groups, *kernel)


def unfold_array(x, kernel, geom):
    """im2col with PyTorch's layout: (N, C kh kw, L), the channel slowest, L = out_h out_w."""
    n, c = x.shape[:2]
    out = window_counts(x.shape[2:], kernel, geom)
    cols = im2col(x, kernel, geom, out)
    return cols.reshape(c * kernel[0] * kernel[1], out[0] * out[1], n).transpose(2, 0, 1)


def fold_array(cols, size, kernel, geom):
    """col2im with PyTorch's layout: (N, C kh kw, L) -> (N, C, H, W), overlaps summed."""
    n, ck, _ = cols.shape
    out = window_counts(size, kernel, geom)
    c = ck // (kernel[0] * kernel[1])
    cols = cols.reshape(n, c, kernel[0], kernel[1], out[0], out[1]).transpose(1, 2, 3, 4, 5, 0)
    return col2im(cols, size, geom)


# ---- pooling ---------------------------------------------------------------------------------
# NOTE: a window's maximum (or sum) is taken along its rows first, then down its columns: the
# kw column taps of every window column on every padded row give an (N, C, H', out_w) array,
# whose kh row taps then give the (N, C, out_h, out_w) result. That is kw - 1 + kh - 1 passes
# over strided blocks instead of kh kw - 1, for any stride, dilation and padding.
def _fill_value(dtype):
    """The padding of max pooling: -inf, or the smallest integer."""
    dtype = np.dtype(dtype)
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _padded(x, geom, value=0.0):
    return batch_last(x, geom.padding, value) if any(map(any, geom.padding)) else x


def _row_taps(padded, kernel, geom, out_w):
    """The kw taps of every window column, on every row: kw views (N, C, H', out_w)."""
    return [padded[:, :, :, tap_slice(1, j, geom, out_w)] for j in range(kernel[1])]


def _column_taps(rows, kernel, geom, out_h):
    """The kh taps of every window row of a row-reduced image: kh views (N, C, out_h, out_w)."""
    return [rows[:, :, tap_slice(0, i, geom, out_h)] for i in range(kernel[0])]


def _index_dtype(count):
    return np.uint8 if count <= 256 else np.intp


def _select(condition, new, old):
    """where(condition, new, old) for unsigned integer arrays, as old + condition (new - old),
    exact in modular arithmetic; a few times faster than ``where`` on these small types."""
    return old + condition * (new - old)


def _first_max(values, nan_last=False, payloads=None):
    """The elementwise maximum of equally shaped arrays, which of them holds it first (a later
    one must be strictly greater, so ties keep the first; with ``nan_last`` a NaN always wins,
    so the last NaN is kept), and the matching element of ``payloads``."""
    xp = backend.namespace(values[0])
    dtype = _index_dtype(len(values))
    best, which = values[0], None
    chosen = None if payloads is None else payloads[0]
    for k in range(1, len(values)):
        later = xp.greater(values[k], best)
        if nan_last:
            later |= xp.isnan(values[k])
        which = later.astype(dtype) if k == 1 else _select(later, dtype(k), which)
        if payloads is not None:
            chosen = _select(later, payloads[k], chosen)
        best = xp.maximum(best, values[k])  # NaN propagates
    if which is None:  # a single value
        which = xp.zeros(best.shape, dtype)
    return best, which, chosen


def _window_max(padded, kernel, geom, out, nan_last):
    """(max, tap) of every window; the tap k = i kw + j of the first maximum in row-major order
    (the first maximum of the first row holding one), or of the last NaN with ``nan_last``."""
    rows, col, _ = _first_max(_row_taps(padded, kernel, geom, out[1]), nan_last)
    best, row, col = _first_max(_column_taps(rows, kernel, geom, out[0]), nan_last,
                                _column_taps(col, kernel, geom, out[0]))
    idx = row.astype(_index_dtype(kernel[0] * kernel[1]))
    idx *= kernel[1]
    idx += col
    return best, idx


def max_pool_array(x, kernel, geom, out, with_indices=True):
    """The largest value of every window and the tap (0 .. kh kw - 1) where it first occurs.

    Ties go to the first maximum in row-major order and a window holding NaN to its last NaN,
    as in PyTorch. ``with_indices=False`` skips the taps (nothing will be differentiated).
    """
    xp = backend.namespace(x)
    padded = _padded(x, geom, _fill_value(x.dtype))
    if with_indices:
        best, idx = _window_max(padded, kernel, geom, out, nan_last=False)
        if x.dtype.kind == "f" and xp.isnan(best).any():
            best, idx = _window_max(padded, kernel, geom, out, nan_last=True)
    else:
        rows = _reduce(xp.maximum, _row_taps(padded, kernel, geom, out[1]))
        best, idx = _reduce(xp.maximum, _column_taps(rows, kernel, geom, out[0])), None
    return (best.copy() if kernel == (1, 1) else best), idx


def _tap_addresses(idx, kernel, geom, padded_size):
    """Flat positions, in a batch-last padded image (C, H', W', N), of the window taps idx:
    ((c H' + s p + d i) W' + s q + d j) N + n for tap k = i kw + j of window (p, q)."""
    xp = backend.namespace(idx)
    n, c, oh, ow = idx.shape
    hp, wp = padded_size
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    tap = xp.arange(kernel[0] * kernel[1])
    offset = ((tap // kernel[1]) * dh * wp + (tap % kernel[1]) * dw) * n
    corner = (xp.arange(c).reshape(c, 1, 1) * hp + xp.arange(oh).reshape(oh, 1) * sh) * wp
    corner = (corner + xp.arange(ow) * sw) * n
    addresses = xp.take(offset, idx.transpose(1, 2, 3, 0))  # (C, oh, ow, N)
    addresses += corner.reshape(c, oh, ow, 1)
    addresses += xp.arange(n)
    return addresses


def gather_array(x, idx, kernel, geom):
    """y[n, c, p, q] = x_pad[n, c, position of tap idx[n, c, p, q] of window (p, q)]."""
    padded = batch_last(x, geom.padding).transpose(1, 2, 3, 0)
    addresses = _tap_addresses(idx, kernel, geom, padded.shape[1:3])
    return padded.reshape(-1)[addresses].transpose(3, 0, 1, 2)


def scatter_array(g, idx, kernel, geom, size):
    """The adjoint of :func:`gather_array`: g added at the chosen positions of a zero image.

    One indexed assignment when the windows do not overlap (every position then belongs to at
    most one window), else an unbuffered indexed addition (``add.at``) that sums the overlaps.
    """
    xp = backend.namespace(g)
    n, c = g.shape[:2]
    (pt, pb), (pl, pr) = geom.padding
    image = xp.zeros((c, size[0] + pt + pb, size[1] + pl + pr, n), dtype=g.dtype)
    addresses = _tap_addresses(idx, kernel, geom, image.shape[1:3])
    values = g.transpose(1, 2, 3, 0)
    if all(s >= d * (k - 1) + 1 for s, d, k in zip(geom.stride, geom.dilation, kernel)):
        image.reshape(-1)[addresses] = values
    else:
        xp.add.at(image.reshape(-1), addresses, values)
    return _from_batch_last(image, size, geom.padding)


def _reduce(ufunc, values):
    total = ufunc(values[0], values[1]) if len(values) > 1 else values[0]
    for v in values[2:]:
        ufunc(total, v, out=total)
    return total


def window_sum_array(x, kernel, geom, out):
    """y[n, c, p, q] = sum_{i, j} x_pad[n, c, s p + d i, s q + d j], zero padding."""
    xp = backend.namespace(x)
    rows = _reduce(xp.add, _row_taps(_padded(x, geom), kernel, geom, out[1]))
    total = _reduce(xp.add, _column_taps(rows, kernel, geom, out[0]))
    return total.copy() if kernel == (1, 1) else total


def window_spread_array(g, kernel, geom, size):
    """The adjoint of :func:`window_sum_array`: x[n, c, h, w] = the sum of g over the windows
    that hold (h, w); g is spread down the window columns, then along the rows."""
    xp = backend.namespace(g)
    n, c, oh, ow = g.shape
    (pt, pb), (pl, pr) = geom.padding
    height, width = size[0] + pt + pb, size[1] + pl + pr
    rows = xp.zeros((c, height, ow, n), dtype=g.dtype).transpose(3, 0, 1, 2)
    for i in range(kernel[0]):
        rows[:, :, tap_slice(0, i, geom, oh)] += g
    image = xp.zeros((c, height, width, n), dtype=g.dtype)
    spread = image.transpose(3, 0, 1, 2)
    for j in range(kernel[1]):
        spread[:, :, :, tap_slice(1, j, geom, ow)] += rows
    return _from_batch_last(image, size, geom.padding)
