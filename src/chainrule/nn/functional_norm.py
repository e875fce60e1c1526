"""Normalisation functions of :mod:`chainrule.nn.functional`: batch, layer and group norm.

Each normalises x to x_hat = (x - mean) / sqrt(var + eps) (biased variance) over its own axes,
then applies the per-channel (or per-element) affine map y = gamma x_hat + beta. Batch and
group norm are compositions of differentiable ops, so second derivatives come for free; layer
norm is one node whose second derivatives come from the same composition
(:mod:`chainrule.ops.layer_norm`). Import them from
:mod:`chainrule.nn.functional` (``F.batch_norm``, ``F.layer_norm``, ``F.group_norm``).
"""

from __future__ import annotations

import numpy as np

from chainrule.creation import from_numpy
from chainrule.ops.layer_norm import layer_norm as fused_layer_norm
from chainrule.tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _stat_array(t, shape):
    return (t.data if isinstance(t, Tensor) else np.asarray(t)).reshape(shape)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over all axes but the channel axis 1.

    Training: x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps) with the batch mean and (biased)
    variance, and the running statistics (when given) are updated in place:
    r_mean <- (1 - momentum) r_mean + momentum mu_B, r_var likewise with the unbiased
    variance sigma_B^2 n / (n - 1). Evaluation uses the running statistics instead.
    Then y = gamma x_hat + beta.

    Args:
        input: (N, C) or (N, C, *) tensor.
        running_mean, running_var: (C,) tensors, or None (training only).
        weight, bias: gamma and beta, (C,) each, or None.
        training: use batch statistics (True) or the running ones (False).
        momentum: weight of the new batch in the running averages.
        eps: added to the variance for stability.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected a (N, C, ...) input, got shape "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        axes = (0,) + tuple(range(2, input.ndim))
        n = input.data.size // max(c, 1)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {input.shape}")
        mean = input.mean(axes, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(axes, keepdim=True)
        out = centered * (var + eps) ** -0.5
        if running_mean is not None:
            running_mean.data[...] = (1 - momentum) * running_mean.data + \
                momentum * mean.data.reshape(c)
            running_mean._version += 1
        if running_var is not None:
            running_var.data[...] = (1 - momentum) * running_var.data + \
                momentum * var.data.reshape(c) * (n / (n - 1))
            running_var._version += 1
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False")
        inv_std = 1.0 / np.sqrt(_stat_array(running_var, (c,)) + eps)
        scale = from_numpy(inv_std.astype(input.dtype, copy=False))
        if weight is not None:
            scale = weight * scale
        shift = -(_stat_array(running_mean, (c,)).astype(input.dtype, copy=False)) * scale
        if bias is not None:
            shift = shift + bias
        return input * _channels(scale, shape) + _channels(shift, shape)
    if weight is not None:
        out = out * _channels(weight, shape)
    if bias is not None:
        out = out + _channels(bias, shape)
    return out


def _channels(t, shape):
    """A (C,) tensor shaped to broadcast over (N, C, *) (no reshape node for (N, C) inputs)."""
    return t if len(shape) == 2 else t.reshape(shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the trailing ``normalized_shape`` axes of each sample.

    y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and (biased) variance taken over
    the last len(normalized_shape) axes; one graph node (:mod:`chainrule.ops.layer_norm`).

    Args:
        input: (*, *normalized_shape) tensor.
        normalized_shape: an int or the tuple of trailing dimensions to normalise over.
        weight, bias: gamma and beta, of shape ``normalized_shape``, or None.
        eps: added to the variance for stability.
    """
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        trailing = tuple(input.shape[max(input.ndim - k, 0):])
        raise ValueError(f"layer_norm(normalized_shape={normalized_shape}): input has trailing "
                         f"shape {trailing}, shape {tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise ValueError(f"layer_norm: expected {name} of the normalized shape "
                             f"{normalized_shape}, got shape {tuple(t.shape)}")
    return fused_layer_norm(input, k, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation: each sample's channels split into groups normalised separately.

    x of shape (N, C, *) is viewed as (N, G, C/G * prod(*)) with G = ``num_groups``; for each
    sample n and group k, x_hat = (x - mean_nk) / sqrt(var_nk + eps), mean and (biased)
    variance over the group's channels and positions; then y = gamma_c x_hat + beta_c per
    channel c. G = 1 normalises each sample over all its channels (layer norm over (C, *)),
    G = C each channel alone (instance norm). The same in training and evaluation.

    Args:
        input: (N, C, *) tensor.
        num_groups: G, a divisor of C.
        weight, bias: gamma and beta, (C,) each, or None.
        eps: added to the variance for stability.

    Returns:
        A tensor of the input's shape.

    Example:
        >>> F.group_norm(cr.randn(2, 6, 5), 3).shape
        (2, 6, 5)
    """
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected at least 2 dimensions (N, C, *), got input "
                           f"of shape {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {tuple(input.shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(f"group_norm: expected {name} to be a vector of size equal to "
                               f"the number of channels in input, but got {name} of shape "
                               f"{tuple(t.shape)} and input of shape {tuple(input.shape)}")
    if n * (c // num_groups) * int(np.prod(input.shape[2:])) == 1:
        raise ValueError(f"group_norm: expected more than 1 value per group, got input of "
                         f"shape {tuple(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean((2,), keepdim=True)
    centered = grouped - mean
    var = (centered * centered).mean((2,), keepdim=True)
    out = (centered * (var + eps) ** -0.5).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * _channels(weight, shape)
    if bias is not None:
        out = out + _channels(bias, shape)
    return out
