"""Converters of the normalisation layers: BatchNorm (evaluation), LayerNorm and GroupNorm.

BatchNorm in evaluation uses its running statistics: ONNX's BatchNormalization. LayerNorm is
LayerNormalization from opset 17. Where ONNX has no node (GroupNorm, LayerNorm before opset 17,
BatchNorm without running statistics) the formula x_hat = (x - mean) / sqrt(var + eps) is
written out with ReduceMean, the biased variance as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx.registry import register


def standardize(g, x, axes, eps: float, like) -> str:
    """(x - mean) / sqrt(var + eps) over ``axes``, var the biased variance E[(x - mean)^2]."""
    centred = g.op("Sub", x, g.reduce_mean(x, axes))
    var = g.reduce_mean(g.op("Mul", centred, centred), axes)
    return g.op("Div", centred, g.op("Sqrt", g.op("Add", var, g.scalar(eps, like))))


def _per_channel(g, tensor, ndim: int) -> str:
    """A (C,) parameter as (C, 1, ..., 1), to broadcast over the axes after the channels."""
    shape = (-1,) + (1,) * (ndim - 2)
    return g.param(tensor, lambda a: a.reshape(shape), f"rank{ndim}")


def _affine(g, y, module, ndim: int) -> str:
    """gamma y + beta, per channel, with the parameters the module has."""
    if module.weight is not None:
        y = g.op("Mul", y, _per_channel(g, module.weight, ndim))
    if module.bias is not None:
        y = g.op("Add", y, _per_channel(g, module.bias, ndim))
    return y


@register(nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm)  # SyncBatchNorm: BatchNorm in eval
def batch_norm(g, module, x):
    """y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta with the running mu and sigma^2:
    BatchNormalization (batch statistics when the module keeps none)."""
    if module.running_mean is None:
        axes = [0] + list(range(2, x.ndim))
        return _affine(g, standardize(g, x, axes, module.eps, x), module, x.ndim)
    count = module.num_features
    ones, zeros = np.ones(count, dtype=x.dtype), np.zeros(count, dtype=x.dtype)
    scale = g.const(ones, "ones") if module.weight is None else g.param(module.weight)
    bias = g.const(zeros, "zeros") if module.bias is None else g.param(module.bias)
    return g.op("BatchNormalization", x, scale, bias, g.param(module.running_mean),
                g.param(module.running_var), epsilon=float(module.eps))


@register(nn.LayerNorm)
def layer_norm(g, module, x):
    """y = (x - mean) / sqrt(var + eps) gamma + beta over the trailing ``normalized_shape``
    axes: LayerNormalization (opset 17 on), its formula before."""
    k = len(module.normalized_shape)
    weight = None if module.weight is None else g.param(module.weight)
    bias = None if module.bias is None else g.param(module.bias)
    if g.opset >= 17:
        if weight is None:
            weight = g.const(np.ones(module.normalized_shape, dtype=x.dtype), "ones")
        return g.op("LayerNormalization", x, weight, bias, axis=-k, epsilon=float(module.eps))
    y = standardize(g, x, list(range(x.ndim - k, x.ndim)), module.eps, x)
    y = y if weight is None else g.op("Mul", y, weight)
    return y if bias is None else g.op("Add", y, bias)


@register(nn.GroupNorm)
def group_norm(g, module, x):
    """Each sample's channels in ``num_groups`` groups, each standardised over its channels and
    positions, then gamma_c y + beta_c: Reshape to (N, G, -1), the formula, Reshape back."""
    grouped = g.op("Reshape", x, g.ints([0, module.num_groups, -1]))
    y = standardize(g, grouped, [2], module.eps, x)
    y = g.op("Reshape", y, g.op("Shape", x))
    return _affine(g, y, module, x.ndim)
