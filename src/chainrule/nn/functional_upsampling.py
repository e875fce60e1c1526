"""`interpolate`: resizing of (N, C, L) sequences and (N, C, H, W) images.

Resizing is separable: along each spatial axis, output position i reads the input at a
source coordinate computed from i, as PyTorch does (its integer rounding included):

- ``nearest``: src = min(floor(i s), in - 1), with s = in / out, or 1 / scale_factor when a
  scale factor is given (computed in float32, as PyTorch does);
- ``nearest-exact``: src = min(floor((i + 1/2) s), in - 1), the centre of the output pixel;
- ``linear`` / ``bilinear``: the source coordinate is u = i (in - 1) / (out - 1) with
  ``align_corners=True`` (corner pixels' centres line up), else u = max((i + 1/2) s - 1/2, 0)
  (pixel areas line up); then y_i = (1 - l) x[floor(u)] + l x[floor(u) + 1], l = u - floor(u);
- ``area``: adaptive average pooling to the output size.

Everything is a gather (indexing with integer arrays, whose gradient adds up repeated reads)
and a weighted sum, so gradients and second derivatives come from those ops. Import it from
:mod:`chainrule.nn.functional` (``F.interpolate``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from chainrule import backend
from chainrule.creation import from_numpy
from chainrule.ops.movement import getitem
from chainrule.ops.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["interpolate"]

_RANK = {"linear": 3, "bilinear": 4}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of ``input`` to ``size`` or by ``scale_factor``.

    See the module docstring for the source coordinate of each output position per mode.

    Args:
        input: (N, C, L) for ``nearest``, ``nearest-exact``, ``linear`` and ``area``, or
            (N, C, H, W) for ``nearest``, ``nearest-exact``, ``bilinear`` and ``area``.
        size: the output size: an int for every spatial axis, or one per axis.
        scale_factor: a multiplier for every axis, or one per axis; the output size is
            floor(in * scale_factor).
        mode: ``"nearest"``, ``"nearest-exact"``, ``"linear"``, ``"bilinear"`` or ``"area"``.
        align_corners: for ``linear``/``bilinear`` only (default False): map the corner pixels'
            centres onto each other instead of the pixels' outer edges.
        recompute_scale_factor: with ``scale_factor``, compute the coordinates from the
            output size (s = in / out) instead of from the scale factor itself.
        antialias: only False is supported.

    Returns:
        A tensor of shape (N, C, *size).

    Raises:
        ValueError: both or neither of ``size`` and ``scale_factor``, a length that does not
            match the spatial axes, ``align_corners`` with a nearest mode.
        RuntimeError: an empty input or output size; a linear mode on an integer input.
        NotImplementedError: a mode that does not fit the input's rank, or another mode.

    Example:
        >>> F.interpolate(cr.arange(4.0).reshape(1, 1, 2, 2), scale_factor=2).shape
        (1, 1, 4, 4)
        >>> F.interpolate(cr.tensor([[[0.0, 1.0]]]), size=3, mode="linear",
        ...               align_corners=True)
        tensor([[[0.0000, 0.5000, 1.0000]]])
    """
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    sizes, scales = _output_size(input, size, scale_factor, recompute_scale_factor,
                                 mode == "area")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) "
                                  f"input, got shape {tuple(input.shape)}")
    if mode == "area":
        pool = adaptive_avg_pool1d if input.ndim == 3 else adaptive_avg_pool2d
        return pool(input, sizes[0] if input.ndim == 3 else tuple(sizes))
    if mode in _RANK:
        if input.ndim != _RANK[mode]:
            raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                      f"{_RANK[mode]}D input")
        if input.dtype.kind != "f":
            raise RuntimeError(f"interpolate: mode {mode!r} needs a floating-point input, got "
                               f"dtype {input.dtype}")
        out = input
        for axis, (n_in, n_out, scale) in enumerate(zip(input.shape[2:], sizes, scales), 2):
            out = _linear_axis(out, axis, n_in, n_out, scale, align_corners)
        return out
    if mode not in ("nearest", "nearest-exact"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; expected "
                                  "'nearest', 'nearest-exact', 'linear', 'bilinear' or 'area'")
    exact = mode == "nearest-exact"
    xp = backend.namespace(input.data)
    index = [xp.asarray(_nearest_index(n_in, n_out, scale, exact))
             for n_in, n_out, scale in zip(input.shape[2:], sizes, scales)]
    if len(index) == 2:
        index = [index[0][:, None], index[1][None, :]]
    return getitem(input, (slice(None), slice(None), *index))


def _output_size(input, size, scale_factor, recompute_scale_factor, area):
    """The output size of each spatial axis, and the scale factor to use for each (or None)."""
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(sizes) != dim:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of {spatial} "
                             f"and output size of {size}.")
        if not all(isinstance(s, numbers.Integral) for s in sizes):
            raise TypeError(f"interpolate: expected size to be an int or a tuple of ints, got "
                            f"{size!r}")
        scales = [None] * dim
    elif scale_factor is not None:
        scales = list(scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else [scale_factor] * dim
        if len(scales) != dim:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of {spatial} "
                             f"and scale_factor of shape {scale_factor}.")
        sizes = [math.floor(n * float(s)) for n, s in zip(spatial, scales)]
        if recompute_scale_factor or area:
            scales = [None] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    sizes = [int(s) for s in sizes]
    if min(sizes + spatial) <= 0:
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but "
                           f"got input {spatial} and output {sizes}")
    return sizes, scales


def _ratio(n_in, n_out, scale, dtype):
    """in / out, or 1 / scale_factor when one is given, in ``dtype`` (PyTorch's rounding)."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _nearest_index(n_in, n_out, scale, exact):
    """The source index of each output position along one axis (nearest modes)."""
    dst = np.arange(n_out)
    if not exact and n_out == n_in:
        return dst
    if not exact and n_out == 2 * n_in:
        return dst >> 1
    ratio = _ratio(n_in, n_out, scale, np.dtype(np.float32))
    if exact:
        # NOTE: PyTorch forms (i + 0.5) * s in double, then floors it in single precision.
        src = np.floor(((dst + 0.5) * np.float64(ratio)).astype(np.float32))
    else:
        src = np.floor(dst.astype(np.float32) * ratio)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_axis(x, axis, n_in, n_out, scale, align_corners):
    """Linear interpolation of ``x`` along ``axis``: (1 - l) x[i0] + l x[i1]."""
    dtype = np.dtype(x.dtype)
    dst = np.arange(n_out, dtype=dtype)
    if n_out == n_in:  # PyTorch copies: index i, weight 1
        i0, lam = np.arange(n_out), np.zeros(n_out, dtype=dtype)
    else:
        if align_corners:
            ratio = dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)
            src = ratio * dst
        else:
            ratio = _ratio(n_in, n_out, scale, dtype)
            src = np.maximum(ratio * (dst + dtype.type(0.5)) - dtype.type(0.5), 0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        lam = np.clip(src - i0.astype(dtype), 0, 1)
    i1 = i0 + (i0 < n_in - 1)
    xp = backend.namespace(x.data)
    shape = (n_out,) + (1,) * (x.ndim - axis - 1)
    lead = (slice(None),) * axis
    w0 = from_numpy(xp.asarray((dtype.type(1) - lam).reshape(shape)))
    w1 = from_numpy(xp.asarray(lam.reshape(shape)))
    return getitem(x, lead + (xp.asarray(i0),)) * w0 + getitem(x, lead + (xp.asarray(i1),)) * w1
