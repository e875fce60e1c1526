"""Converters of the spatial layers: convolutions, pooling and upsampling.

ONNX's Conv, ConvTranspose, MaxPool and AveragePool take PyTorch's layouts (N, C, ...) and
weights as they are; pads are listed as all the starts, then all the ends. An unbatched input
(C, ...) gets a batch axis of one around the node.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.nn.layers.upsampling import Upsample
from chainrule.onnx.layers import shape_slice
from chainrule.onnx.registry import UnsupportedModuleError, register
from chainrule.ops.pooling import adaptive_pool_matrix
from chainrule.ops.window import ntuple


def _batched(g, x, spatial: int, node) -> str:
    """``node(name)`` on a batch of one when ``x`` is unbatched (C, ...), else on ``x``."""
    if x.ndim == spatial + 2:
        return node(x.name)
    y = node(g.op("Unsqueeze", x, g.ints([0])))
    return g.op("Squeeze", y, g.ints([0]))


def _pads(padding, kernel, dilation, n) -> list:
    """ONNX pads [begin_1, ..., begin_n, end_1, ..., end_n] of PyTorch's ``padding``.

    'same' pads d (k - 1) in total, the odd one at the end, as PyTorch does.
    """
    if padding == "valid":
        return [0] * 2 * n
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    pad = ntuple(padding, n, "padding", "onnx")
    return list(pad) * 2


@register(nn.Conv1d, nn.Conv2d)
def conv(g, module, x):
    """y[n, o] = b[o] + sum_c W[o, c] * x[n, c] (cross-correlation): Conv."""
    n = module._spatial
    kernel = list(module.kernel_size)
    attributes = dict(kernel_shape=kernel, strides=list(module.stride),
                      dilations=list(module.dilation), group=module.groups,
                      pads=_pads(module.padding, kernel, module.dilation, n))
    weight = g.param(module.weight)
    bias = None if module.bias is None else g.param(module.bias)
    return _batched(g, x, n, lambda v: g.op("Conv", v, weight, bias, **attributes))


@register(nn.ConvTranspose2d)
def conv_transpose(g, module, x):
    """Transposed convolution, H_out = (H - 1) s - 2p + d (k - 1) + output_padding + 1:
    ConvTranspose (the weight (C_in, C_out / groups, kH, kW) is ONNX's layout too)."""
    kernel = list(module.kernel_size)
    attributes = dict(kernel_shape=kernel, strides=list(module.stride),
                      dilations=list(module.dilation), group=module.groups,
                      pads=_pads(module.padding, kernel, module.dilation, 2),
                      output_padding=list(module.output_padding))
    weight = g.param(module.weight)
    bias = None if module.bias is None else g.param(module.bias)
    return _batched(g, x, 2, lambda v: g.op("ConvTranspose", v, weight, bias, **attributes))


def _window(module, n) -> dict:
    kernel = ntuple(module.kernel_size, n, "kernel_size", "onnx")
    stride = ntuple(module.stride, n, "stride", "onnx")
    pad = ntuple(module.padding, n, "padding", "onnx")
    return dict(kernel_shape=list(kernel), strides=list(stride), pads=list(pad) * 2,
                ceil_mode=int(bool(module.ceil_mode)))


@register(nn.MaxPool1d, nn.MaxPool2d)
def max_pool(g, module, x):
    """y = the maximum of each window (padding -inf): MaxPool."""
    if module.return_indices:
        raise UnsupportedModuleError(f"onnx.export: {type(module).__name__} with "
                                     "return_indices=True has no ONNX conversion")
    n = module._spatial
    attributes = _window(module, n)
    attributes["dilations"] = list(ntuple(module.dilation, n, "dilation", "onnx"))
    return _batched(g, x, n, lambda v: g.op("MaxPool", v, **attributes))


@register(nn.AvgPool1d, nn.AvgPool2d)
def avg_pool(g, module, x):
    """y = the mean of each window (zero padding counted with count_include_pad): AveragePool."""
    if getattr(module, "divisor_override", None) is not None:
        raise UnsupportedModuleError("onnx.export: AvgPool2d with divisor_override has no ONNX "
                                     "conversion")
    n = module._spatial
    attributes = _window(module, n)
    attributes["count_include_pad"] = int(bool(module.count_include_pad))
    return _batched(g, x, n, lambda v: g.op("AveragePool", v, **attributes))


def _adaptive(g, x, sizes) -> str:
    """Adaptive average pooling of the trailing axes of ``x`` to ``sizes``.

    Output size 1 everywhere is GlobalAveragePool; otherwise y = P_h x P_w^T with chainrule's
    averaging matrices P (bin i averages [floor(i n / m), ceil((i + 1) n / m))), two MatMuls.
    """
    spatial = x.shape[-len(sizes):]
    if all(s == 1 for s in sizes) and x.ndim == len(sizes) + 2:
        return g.op("GlobalAveragePool", x)
    y = x.name
    if len(sizes) == 2:
        rows = adaptive_pool_matrix(spatial[0], sizes[0], x.dtype)
        y = g.op("MatMul", g.const(rows, "pool_rows"), y)
    columns = adaptive_pool_matrix(spatial[-1], sizes[-1], x.dtype).T
    return g.op("MatMul", y, g.const(columns, "pool_columns"))


@register(nn.AdaptiveAvgPool2d)
def adaptive_avg_pool2d(g, module, x):
    """Average pooling to a fixed (h, w), whatever the input's size."""
    size = module.output_size
    size = (size, size) if isinstance(size, int) else tuple(size)
    sizes = [s if o is None else int(o) for o, s in zip(size, x.shape[-2:])]
    return _adaptive(g, x, sizes)


@register(nn.AdaptiveAvgPool1d)
def adaptive_avg_pool1d(g, module, x):
    """Average pooling of sequences to a fixed length."""
    return _adaptive(g, x, [int(module.output_size)])


@register(Upsample)
def upsample(g, module, x):
    """Resize, with PyTorch's source coordinates: nearest (asymmetric, floor), nearest-exact
    (half_pixel, round half up), linear/bilinear (align_corners or pytorch_half_pixel); area is
    adaptive average pooling."""
    out = list(module(x.tensor).shape[2:])
    if module.mode == "area":
        return _adaptive(g, x, out)
    if module.mode in ("nearest", "nearest-exact"):
        exact = module.mode == "nearest-exact"
        attributes = dict(mode="nearest",
                          coordinate_transformation_mode="half_pixel" if exact else "asymmetric",
                          nearest_mode="round_prefer_ceil" if exact else "floor")
    else:
        attributes = dict(mode="linear", coordinate_transformation_mode="align_corners"
                          if module.align_corners else "pytorch_half_pixel")
    if module.scale_factor is not None and not module.recompute_scale_factor:
        factors = module.scale_factor if isinstance(module.scale_factor, tuple) \
            else (module.scale_factor,) * len(out)
        scales = g.const(np.array([1.0, 1.0, *factors], dtype=np.float32), "scales")
        return g.op("Resize", x, None, scales, **attributes)
    sizes = g.op("Concat", shape_slice(g, x, 0, 2), g.ints(out), axis=0)
    return g.op("Resize", x, None, None, sizes, **attributes)
