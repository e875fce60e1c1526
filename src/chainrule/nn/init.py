"""`chainrule.nn.init`: filling weights in place with the classic initialisation schemes.

Each function writes into ``tensor.data`` (outside the graph) and returns the tensor. Random
values come from chainrule's global generator (seeded by ``cr.manual_seed``) or from the
``generator`` argument, so the same seed gives the same network.

For a weight of shape (out, in, *kernel): fan_in = in * prod(kernel), fan_out = out *
prod(kernel). Glorot/Xavier keeps the variance of activations and gradients equal across
layers for linear/tanh units: Var(w) = gain^2 * 2 / (fan_in + fan_out). He/Kaiming does so for
ReLU units: Var(w) = gain^2 / fan.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.tensor import Tensor

_LINEAR = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, conv and sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope a:
    sqrt(2 / (1 + a^2)) (a = 0.01 by default); selu: 3/4.
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor) -> tuple:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dims, got shape "
                         f"{tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _gen(generator):
    return generator if generator is not None else backend.default_generator()


def _assign(tensor, values):
    """Write ``values`` into ``tensor`` in place (no graph), keeping its dtype and device.

    ``tensor`` may also be a parameter's array, as in PyTorch's idiom
    ``nn.init.normal_(m.weight.data, 0.0, 0.02)`` (``.data`` is the array in chainrule).
    """
    target = tensor.data if isinstance(tensor, Tensor) else tensor
    values = np.asarray(values).astype(target.dtype, copy=False)
    if backend.is_gpu_array(target):  # pragma: no cover - GPU only
        values = backend.to_device(values, "cuda")
    target[...] = values
    if isinstance(tensor, Tensor):
        tensor._version += 1
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples of U(a, b)."""
    if a > b:
        raise ValueError(f"uniform_: a ({a}) must not exceed b ({b})")
    return _assign(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _assign(tensor, _gen(generator).normal(mean, std, tensor.shape))


def constant_(tensor, val: float):
    """Fill with ``val``."""
    return _assign(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {tensor.shape}")
    return _assign(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot uniform: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """He uniform: U(-b, b) with b = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    ``Linear`` and ``Conv`` use a = sqrt(5), which gives b = 1 / sqrt(fan_in).
    """
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """A (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a Gaussian one.

    The tensor is viewed as (shape[0], prod(shape[1:])); its rows (or columns, whichever are
    fewer) are orthonormal.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: expected at least 2 dims, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = int(np.prod(tensor.shape[1:]))
    flat = _gen(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # NOTE: makes the decomposition unique (uniform over O(n))
    if rows < cols:
        q = q.T
    return _assign(tensor, gain * q.reshape(tensor.shape))


# PyTorch's private name, used by code ported from PyTorch layers.
_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out
