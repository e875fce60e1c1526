"""Sliding windows: convolution, its transpose and weight gradient, and unfold/fold (im2col).

A window operation looks at every position of a ``kernel`` slid over a padded image with a
``stride`` and a ``dilation``. Along one spatial axis the number of positions is (SPEC 9)

    out = floor((size + 2p - d (k - 1) - 1) / s) + 1,   i.e. floor((h - f + 2p) / s) + 1 for d = 1.

The windows are a strided view of the padded image (no copy); a convolution then copies them
once into a matrix of columns (im2col) and does one BLAS matrix product per group with the
filters. The array kernels, and the batch-last memory layout they keep images in, are in
:mod:`chainrule.ops.window_kernels`.
Three primitives close under differentiation, as in Chainer (``Convolution2DGradW``):

* ``Conv``:           y = conv(x, W);  dx = conv_transpose(g, W), dW = conv_grad_weight(x, g)
* ``ConvTranspose``:  z = conv_transpose(g, W);  dg = conv(gz, W), dW = conv_grad_weight(gz, g)
* ``ConvGradWeight``: V = conv_grad_weight(x, g);  dx = conv_transpose(g, gV), dg = conv(x, gV)

so a backward pass run with ``create_graph=True`` is itself made of these primitives and second
derivatives flow through a CNN. ``unfold`` (im2col) and ``fold`` (its adjoint, a scatter-add that
loops over kernel offsets only) are likewise each other's backward. Everything is 2-D; the 1-D
forms view a sequence as an image of height 1. Pooling lives in :mod:`chainrule.ops.pooling`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.autograd.mode import state
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.ops.movement import squeeze, unsqueeze
from chainrule.ops.window_kernels import (
    conv_array,
    conv_grad_weight_array,
    conv_transpose_array,
    fold_array,
    im2col,
    unfold_array,
    window_counts,
)
from chainrule.ops.window_kernels import (
    conv_output_size as conv_output_size,  # re-exported: layers and models import it here
)


# ---- geometry --------------------------------------------------------------------------------
class Geometry(NamedTuple):
    """Where a 2-D window sits: stride, (before, after) padding per axis, and dilation."""

    stride: tuple
    padding: tuple
    dilation: tuple


def ntuple(value, n, name, op) -> tuple:
    """``value`` (an int or a sequence of ``n`` ints) as a tuple of ``n`` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value}")
    return value


def geometry(op, kernel, stride, padding, dilation, n=2) -> Geometry:
    """Check and normalise window arguments; ``padding`` may be an int, a tuple, 'valid', 'same'.

    'same' pads d (k - 1) in total, the extra zero (when odd) after, as PyTorch does; it needs
    stride 1.
    """
    stride = ntuple(stride, n, "stride", op)
    dilation = ntuple(dilation, n, "dilation", op)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    if isinstance(padding, str):
        if padding == "valid":
            pairs = ((0, 0),) * n
        elif padding == "same":
            if max(stride) != 1:
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride {stride})")
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            pairs = tuple((t // 2, t - t // 2) for t in totals)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got "
                             f"{padding!r}")
    else:
        pairs = tuple((p, p) for p in ntuple(padding, n, "padding", op))
        if min(min(pairs)) < 0:
            raise ValueError(f"{op}: padding {padding} must be non-negative")
    return Geometry(stride, pairs, dilation)


def output_shape(op, size, kernel, geom) -> tuple:
    """The window counts along both axes; an error names the sizes when the input is too small."""
    out = window_counts(size, kernel, geom)
    if min(out) < 1:
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, geom.padding))
        span = tuple(d * (k - 1) + 1 for d, k in zip(geom.dilation, kernel))
        raise ValueError(f"{op}: input of spatial size {tuple(size)} (padded {padded}) is "
                         f"smaller than the kernel {tuple(kernel)} (dilated {span})")
    return out


# ---- formula functions: each primitive paired with its array function -------------------------
@formula(lambda x, weight, geom, groups: conv_array(x, weight, None, geom, groups))
def convolve(x, weight, geom, groups):
    """conv(x, W) without bias, on arrays or Tensors."""
    return Conv.apply(x, weight, None, geom, groups)


@formula(lambda g, weight, geom, groups, size:
         conv_transpose_array(g, weight, None, geom, groups, size))
def convolve_transpose(g, weight, geom, groups, size):
    """conv_transpose(g, W) without bias, on arrays or Tensors."""
    return ConvTranspose.apply(g, weight, None, geom, groups, size)


@formula(conv_grad_weight_array)
def convolve_grad_weight(x, g, geom, groups, kernel, cols=None):
    """conv_grad_weight(x, g); ``cols``, the im2col of x when forward kept it, saves work on
    arrays (an op recomputes it)."""
    return ConvGradWeight.apply(x, g, geom, groups, kernel)


@formula(unfold_array)
def unfold_columns(x, kernel, geom):
    """im2col of a batch of images, on arrays or Tensors."""
    return Unfold.apply(x, kernel, geom)


@formula(fold_array)
def fold_columns(cols, size, kernel, geom):
    """col2im of a batch of columns, on arrays or Tensors."""
    return Fold.apply(cols, size, kernel, geom)


# ---- primitives ------------------------------------------------------------------------------
class Conv(Primitive):
    """y = conv(x, W) + b ; dx = conv_transpose(g, W), dW = conv_grad_weight(x, g), db = sum g."""

    @staticmethod
    def forward(ctx, x, weight, bias, geom, groups):
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, weight)
        out = window_counts(x.shape[2:], weight.shape[2:], geom)
        cols = im2col(x, weight.shape[2:], geom, out, groups)
        # NOTE: the weight gradient needs the same columns; keeping them saves a second im2col.
        ctx.cols = cols if ctx.needs_input_grad[1] and state.grad_enabled else None
        return conv_array(x, weight, bias, geom, groups, cols)

    @staticmethod
    def backward(ctx, g, x, w):
        nx, nw, nb = ctx.needs_input_grad[:3]
        geom, groups = ctx.geom, ctx.groups
        cols, ctx.cols = ctx.cols, None
        gx = fm.convolve_transpose(g, w, geom, groups, x.shape[2:]) if nx else None
        gw = fm.convolve_grad_weight(x, g, geom, groups, w.shape[2:], cols) if nw else None
        gb = fm.sum(g, (0, 2, 3)) if nb else None
        return gx, gw, gb, None, None


class ConvTranspose(Primitive):
    """x' = conv_transpose(g, W) + b ; dg = conv(g', W), dW = conv_grad_weight(g', g)."""

    @staticmethod
    def forward(ctx, g, weight, bias, geom, groups, size):
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(g, weight)
        return conv_transpose_array(g, weight, bias, geom, groups, size)

    @staticmethod
    def backward(ctx, gg, g, w):
        ng, nw, nb = ctx.needs_input_grad[:3]
        geom, groups = ctx.geom, ctx.groups
        d_g = fm.convolve(gg, w, geom, groups) if ng else None
        d_w = fm.convolve_grad_weight(gg, g, geom, groups, w.shape[2:]) if nw else None
        d_b = fm.sum(gg, (0, 2, 3)) if nb else None
        return d_g, d_w, d_b, None, None, None


class ConvGradWeight(Primitive):
    """W' = conv_grad_weight(x, g), bilinear ; dx = conv_transpose(g, W''), dg = conv(x, W'')."""

    @staticmethod
    def forward(ctx, x, g, geom, groups, kernel):
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, g)
        return conv_grad_weight_array(x, g, geom, groups, kernel)

    @staticmethod
    def backward(ctx, gw, x, g):
        nx, ng = ctx.needs_input_grad[:2]
        geom, groups = ctx.geom, ctx.groups
        d_x = fm.convolve_transpose(g, gw, geom, groups, x.shape[2:]) if nx else None
        d_g = fm.convolve(x, gw, geom, groups) if ng else None
        return d_x, d_g, None, None, None


class Unfold(Primitive):
    """cols = unfold(x) (im2col) ; dx = fold(g)."""

    @staticmethod
    def forward(ctx, x, kernel, geom):
        ctx.kernel, ctx.geom, ctx.size = kernel, geom, x.shape[2:]
        return unfold_array(x, kernel, geom)

    @staticmethod
    def backward(ctx, g):
        return fm.fold_columns(g, ctx.size, ctx.kernel, ctx.geom), None, None


class Fold(Primitive):
    """x = fold(cols) (col2im: overlapping taps add up) ; dcols = unfold(g)."""

    @staticmethod
    def forward(ctx, cols, size, kernel, geom):
        ctx.kernel, ctx.geom = kernel, geom
        return fold_array(cols, size, kernel, geom)

    @staticmethod
    def backward(ctx, g):
        return fm.unfold_columns(g, ctx.kernel, ctx.geom), None, None, None


# ---- public functions (the convolutions themselves are in chainrule.ops.conv) -------------
def add_batch_axis(x, spatial):
    """Add the batch axis to an unbatched input; returns the input and whether it was added."""
    return (unsqueeze(x, 0), True) if x.ndim == spatial + 1 else (x, False)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """im2col: every sliding block of an image as a column (PyTorch's ``F.unfold``).

    out[n, (c, i, j), l] = x_pad[n, c, s p_l + d i, s q_l + d j], with blocks l in row-major
    order over the L = out_h * out_w window positions.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, dilation, padding, stride: an int or a pair each.

    Returns:
        (N, C * kH * kW, L). Its backward is :func:`fold`.

    Example:
        >>> cr.nn.functional.unfold(cr.randn(2, 3, 5, 5), 3).shape     # (2, 27, 9)
    """
    kernel = ntuple(kernel_size, 2, "kernel_size", "unfold")
    if input.ndim not in (3, 4):
        raise ValueError(f"unfold: expected a 4-D (or 3-D unbatched) input, got shape "
                         f"{input.shape}")
    geom = geometry("unfold", kernel, stride, padding, dilation)
    x, added = add_batch_axis(input, 2)
    output_shape("unfold", x.shape[2:], kernel, geom)
    y = Unfold.apply(x, kernel, geom)
    return squeeze(y, 0) if added else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """col2im, the adjoint of :func:`unfold`: columns summed back into an image.

    x[n, c, h, w] = sum over the blocks l and taps (i, j) that land on (h, w) of
    cols[n, (c, i, j), l]; ``fold(unfold(x))`` multiplies each pixel by the number of blocks
    covering it.

    Args:
        input: (N, C * kH * kW, L) or (C * kH * kW, L).
        output_size: (H, W) of the image.
        kernel_size, dilation, padding, stride: as given to :func:`unfold`.

    Example:
        >>> cr.nn.functional.fold(cr.ones(1, 4, 9), (4, 4), 2).shape     # (1, 1, 4, 4)
    """
    kernel = ntuple(kernel_size, 2, "kernel_size", "fold")
    size = ntuple(output_size, 2, "output_size", "fold")
    geom = geometry("fold", kernel, stride, padding, dilation)
    if input.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 3-D (or 2-D unbatched) input, got shape "
                         f"{input.shape}")
    x, added = (unsqueeze(input, 0), True) if input.ndim == 2 else (input, False)
    out = output_shape("fold", size, kernel, geom)
    k = kernel[0] * kernel[1]
    if x.shape[1] % k or x.shape[2] != out[0] * out[1]:
        raise ValueError(f"fold: input of shape {input.shape} does not hold C * {k} rows and "
                         f"{out[0] * out[1]} blocks for output_size {size} and kernel {kernel}")
    y = Fold.apply(x, size, kernel, geom)
    return squeeze(y, 0) if added else y

