"""Convolutions: ``conv1d``, ``conv2d`` and ``conv_transpose2d`` (the public functions).

They validate their operands (errors name the operation and the shapes), work out the window
geometry, and call the primitives of :mod:`chainrule.ops.window` (``Conv``, ``ConvTranspose``),
whose backward passes are themselves convolutions, so second derivatives flow through a CNN.
On a GPU with cuDNN, conv1d and conv2d run through :mod:`chainrule.ops.conv_cudnn` instead.
Output size along one axis (SPEC 9): floor((h - f + 2p) / s) + 1.
"""

from __future__ import annotations

import numpy as np

from chainrule.ops.conv_cudnn import convolution
from chainrule.ops.movement import squeeze, unsqueeze
from chainrule.ops.window import (
    ConvTranspose,
    Geometry,
    add_batch_axis,
    geometry,
    ntuple,
    output_shape,
)


def _check_conv(op, x, weight, bias, groups, spatial):
    """Validate a convolution's operands; errors name the operation and the shapes."""
    if x.ndim not in (spatial + 1, spatial + 2) or weight.ndim != spatial + 2:
        raise ValueError(f"{op}: expected a {spatial + 2}-D input (N, C, ...) or a "
                         f"{spatial + 1}-D unbatched one and a {spatial + 2}-D weight, got "
                         f"shapes {x.shape} and {weight.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    channels = x.shape[-spatial - 1]
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: out_channels {weight.shape[0]} (weight shape {weight.shape}) "
                         f"is not divisible by groups={groups}")
    if channels != weight.shape[1] * groups:
        raise ValueError(f"{op}: input has {channels} channels, shape {x.shape}, but the weight "
                         f"of shape {weight.shape} with groups={groups} expects "
                         f"{weight.shape[1] * groups}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match "
                         f"{weight.shape[0]} output channels")
    if x.dtype.kind != "f" or x.dtype != weight.dtype:
        raise TypeError(f"{op}: input ({x.dtype}) and weight ({weight.dtype}) must have the same "
                        "floating-point dtype")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation, as in every framework) of images with filters.

    y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, c, s p + d i, s q + d j],
    where the channels c run over the group of o. Output size per axis:
    floor((h + 2p - d(k - 1) - 1) / s) + 1.

    Args:
        input: images (N, C_in, H, W), or one image (C_in, H, W).
        weight: filters (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: an int or a pair.
        padding: an int, a pair, 'valid' (no padding) or 'same' (output size = input size).
        groups: split the channels into this many independent convolutions.

    Returns:
        (N, C_out, H_out, W_out). Its backward is a transposed convolution (input) and a
        convolution (weight), both differentiable, so double backward works.

    Example:
        >>> y = cr.nn.functional.conv2d(cr.randn(8, 3, 32, 32), cr.randn(16, 3, 3, 3), padding=1)
        >>> y.shape                                    # (8, 16, 32, 32)
    """
    _check_conv("conv2d", input, weight, bias, groups, 2)
    geom = geometry("conv2d", weight.shape[2:], stride, padding, dilation)
    x, added = add_batch_axis(input, 2)
    output_shape("conv2d", x.shape[2:], weight.shape[2:], geom)
    y = convolution(x, geom).apply(x, weight, bias, geom, int(groups))
    return squeeze(y, 0) if added else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution of sequences (N, C_in, L) with filters (C_out, C_in / groups, k).

    y[n, o, p] = b[o] + sum_{c, i} W[o, c, i] x_pad[n, c, s p + d i]; the same arguments as
    :func:`conv2d` with one spatial axis (computed as an image of height 1).

    Example:
        >>> cr.nn.functional.conv1d(cr.randn(4, 2, 50), cr.randn(8, 2, 5)).shape   # (4, 8, 46)
    """
    _check_conv("conv1d", input, weight, bias, groups, 1)
    g1 = geometry("conv1d", weight.shape[2:], stride, padding, dilation, n=1)
    geom = Geometry((1,) + g1.stride, ((0, 0),) + g1.padding, (1,) + g1.dilation)
    x, added = add_batch_axis(input, 1)
    output_shape("conv1d", x.shape[2:], weight.shape[2:], g1)
    y = convolution(x, geom).apply(unsqueeze(x, 2), unsqueeze(weight, 2), bias, geom, int(groups))
    y = squeeze(y, 2)
    return squeeze(y, 0) if added else y


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """Transposed convolution: the adjoint (gradient) of :func:`conv2d` in its input.

    Every input pixel adds its value times the filter into the output (an "up-convolution");
    H_out = (H - 1) s - 2p + d (kH - 1) + output_padding + 1.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW), PyTorch's layout.
        bias: (C_out,) or None.
        output_padding: extra rows/columns at the end (smaller than the stride), to pick
            among the input sizes a strided convolution maps to the same output size.

    Example:
        >>> up = cr.nn.functional.conv_transpose2d(cr.randn(1, 4, 7, 7), cr.randn(4, 2, 4, 4),
        ...                                        stride=2, padding=1)
        >>> up.shape                                   # (1, 2, 14, 14)
    """
    op = "conv_transpose2d"
    if input.ndim not in (3, 4) or weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (or 3-D unbatched) input and a 4-D weight, got "
                         f"shapes {input.shape} and {weight.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1 or weight.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups!r} must be a positive int dividing in_channels "
                         f"(weight shape {weight.shape})")
    if input.shape[-3] != weight.shape[0]:
        raise ValueError(f"{op}: input has {input.shape[-3]} channels, shape {input.shape}, but "
                         f"the weight of shape {weight.shape} expects {weight.shape[0]}")
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match {out_channels} "
                         "output channels")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair, got {padding!r}")
    geom = geometry(op, weight.shape[2:], stride, padding, dilation)
    extra = ntuple(output_padding, 2, "output_padding", op)
    if any(e < 0 or e >= s for e, s in zip(extra, geom.stride)):
        raise ValueError(f"{op}: output_padding {extra} must be non-negative and smaller than "
                         f"the stride {geom.stride}")
    x, added = add_batch_axis(input, 2)
    size = tuple((n - 1) * s - lo - hi + d * (k - 1) + e + 1 for n, s, (lo, hi), d, k, e in
                 zip(x.shape[2:], geom.stride, geom.padding, geom.dilation, weight.shape[2:],
                     extra))
    if min(size) < 1:
        raise ValueError(f"{op}: input of spatial size {x.shape[2:]} gives an empty output "
                         f"{size}")
    y = ConvTranspose.apply(x, weight, bias, geom, int(groups), size)
    return squeeze(y, 0) if added else y


