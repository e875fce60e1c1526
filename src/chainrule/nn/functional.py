"""`chainrule.nn.functional` (imported as F): layers, activations and losses as functions.

Each layer's ``forward`` is one call into this module; each function is either a primitive of
:mod:`chainrule.ops` or a short composition of them, so its gradient (and its gradient's
gradient) comes from the primitives' formulas. Convolution, pooling, ``unfold``/``fold`` and
``pad`` are the functions of :mod:`chainrule.ops` themselves (PyTorch's names and signatures).
The normalisations (``batch_norm``, ``layer_norm``, ``group_norm``) live in
:mod:`chainrule.nn.functional_norm` and ``interpolate`` in
:mod:`chainrule.nn.functional_upsampling`; both are re-exported here, where to import them from.

Checks: a layer checks its input against its own configuration and dtype first (see
:mod:`chainrule.nn.checks`); the checks here serve direct calls and name the function.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.creation import from_numpy
from chainrule.nn.checks import check_dtype
from chainrule.nn.functional_attention import scaled_dot_product_attention  # re-exported
from chainrule.nn.functional_norm import batch_norm, group_norm, layer_norm  # re-exported
from chainrule.nn.functional_upsampling import interpolate  # re-exported
from chainrule.nn.losses import (  # re-exported: F.cross_entropy, ...
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from chainrule.ops.conv import conv1d, conv2d, conv_transpose2d
from chainrule.ops.elementwise import clamp, where
from chainrule.ops.linalg import linear as _linear
from chainrule.ops.movement import getitem, pad
from chainrule.ops.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.ops.reduce import cosine_similarity  # re-exported
from chainrule.ops.reduce import log_softmax as _log_softmax
from chainrule.ops.reduce import softmax as _softmax
from chainrule.ops.sampling import dropout as _dropout
from chainrule.ops.special import heaviside, normal_cdf, signum
from chainrule.ops.special import softplus as _softplus
from chainrule.ops.unary import exp, relu, sigmoid, tanh
from chainrule.ops.window import fold, unfold
from chainrule.tensor import Tensor

__all__ = [
    "linear", "identity", "step", "sign", "piecewise_linear", "sigmoid", "tanh", "relu",
    "leaky_relu", "elu", "gelu", "softplus", "logsigmoid", "log_sigmoid", "softmax",
    "log_softmax", "dropout", "batch_norm", "layer_norm", "group_norm", "one_hot", "mse_loss",
    "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "nll_loss", "cross_entropy", "embedding", "conv1d", "conv2d", "conv_transpose2d", "fold",
    "unfold", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d",
    "max_pool1d", "max_pool2d", "pad", "interpolate", "scaled_dot_product_attention",
    "cosine_similarity", "normalize",
]


# ---- linear ----------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """Affine map over the last axis: y = x W^T + b.

    One fused node; dL/dx = G W, dL/dW = G^T x, dL/db = G summed over all but the last axis.

    Args:
        input: (*, in_features) tensor.
        weight: W, (out_features, in_features).
        bias: b, (out_features,), or None.

    Returns:
        (*, out_features) tensor.

    Example:
        >>> F.linear(cr.randn(4, 3), cr.randn(2, 3)).shape
        (4, 2)
    """
    return _linear(input, weight, bias)


# ---- vectors of unit norm --------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """Each vector along ``dim`` divided by its p-norm: v / max(|v|_p, eps).

    PyTorch's ``F.normalize``; ``eps`` keeps a zero vector at zero (no division by 0).

    Example:
        >>> F.normalize(cr.tensor([[3.0, 4.0]]))
        tensor([[0.6, 0.8]])
    """
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    return input / clamp(input.norm(p, dim=dim, keepdim=True), min=eps)


# ---- activations -----------------------------------------------------------------------------
def identity(input):
    """f(z) = z: the linear activation of regression outputs."""
    return input


def step(input):
    """Unit step (Heaviside): 0 for z < 0, 1/2 at z = 0, 1 for z > 0; equals (sign(z) + 1)/2.

    Its derivative is 0 almost everywhere, so gradient descent cannot train through it (the
    reason the decks move from the perceptron to sigmoid units); the zero gradient still flows.
    """
    return heaviside(input, 0.5)


def sign(input):
    """sign(z) in {-1, 0, 1}, the perceptron's output; zero gradient."""
    return signum(input)


def piecewise_linear(input):
    """Piece-wise linear (hard) sigmoid: 0 for z <= -1/2, z + 1/2 between, 1 for z >= 1/2."""
    return clamp(input + 0.5, 0.0, 1.0)


def leaky_relu(input, negative_slope=0.01):
    """max(alpha z, z) for 0 <= alpha <= 1: z for z > 0, alpha z otherwise (slope alpha at 0).

    Args:
        input: any tensor.
        negative_slope: alpha, the slope for z <= 0.
    """
    return where(input.data > 0, input, input * negative_slope)


def elu(input, alpha=1.0):
    """ELU: z for z > 0, alpha (e^z - 1) otherwise.

    Args:
        input: any tensor.
        alpha: -alpha is the limit for z -> -inf.

    NOTE: e^z is evaluated at min(z, 0) so the unused branch never overflows (an inf there
    would turn the zero gradient of ``where`` into NaN).
    """
    return where(input.data > 0, input, (exp(clamp(input, max=0.0)) - 1.0) * alpha)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input, approximate="none"):
    """GELU: z Phi(z) with Phi the standard normal CDF.

    Args:
        input: any tensor.
        approximate: "none" for the exact 0.5 z (1 + erf(z / sqrt 2)), or "tanh" for
            0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).
    """
    if approximate == "none":
        return input * normal_cdf(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * (tanh(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(input, beta=1.0, threshold=20.0):
    """Softplus: (1/beta) log(1 + e^{beta z}), and z where beta z > threshold.

    A smooth ReLU whose derivative is sigmoid(beta z); stable for any z.

    Args:
        input: any tensor.
        beta: sharpness (larger is closer to ReLU).
        threshold: above beta z > threshold the function is taken as linear.
    """
    return _softplus(input, beta, threshold)


def logsigmoid(input):
    """log sigmoid(z) = -softplus(-z), stable: logsigmoid(-1000) == -1000."""
    return -_softplus(-input)


log_sigmoid = logsigmoid


def softmax(input, dim=-1):
    """softmax(z)_i = e^{z_i} / sum_j e^{z_j} along ``dim`` (the max is subtracted first).

    Args:
        input: any tensor.
        dim: the axis whose entries sum to 1.
    """
    return _softmax(input, dim)


def log_softmax(input, dim=-1):
    """log softmax(z)_i = z_i - logsumexp(z) along ``dim``; log_softmax([1000, 1]) = [0, -999].

    Args:
        input: any tensor.
        dim: the axis normalised.
    """
    return _log_softmax(input, dim)


# ---- dropout ---------------------------------------------------------------------------------
def dropout(input, p=0.5, training=True, generator=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 - p).

    y = x m / (1 - p) with m_i ~ Bernoulli(1 - p), so E[y] = x and evaluation needs no
    rescaling. The identity when ``training`` is False or p = 0.

    Args:
        input: any tensor.
        p: the probability of dropping an element, 0 <= p <= 1.
        training: apply dropout (True) or return the input (False).
        generator: a ``numpy.random.Generator``; default chainrule's global generator.
    """
    return _dropout(input, p, training, generator=generator)


# ---- encoding --------------------------------------------------------------------------------
def one_hot(input, num_classes=-1):
    """One-hot encoding of class indices: y[..., k] = 1 if input[...] == k else 0.

    Args:
        input: integer class indices of any shape (*).
        num_classes: the number of classes K; -1 uses max(input) + 1.

    Returns:
        (*, K) int64 tensor, without gradient.
    """
    y = input.data if isinstance(input, Tensor) else np.asarray(input)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {y.dtype}")
    if num_classes < 0:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y[(y < 0) | (y >= num_classes)].ravel()[0])
        raise IndexError(f"one_hot: class {bad} is out of range for {num_classes} classes")
    return from_numpy((y[..., None] == np.arange(num_classes)).astype(np.int64))


# ---- embedding -------------------------------------------------------------------------------
def _indices(input, num_embeddings):
    """The integer index array of ``input``, checked to lie in [0, num_embeddings)."""
    raw = input.data if isinstance(input, Tensor) else np.asarray(input)
    check_dtype("embedding", raw, None, indices=True)
    if raw.size:
        low, high = int(raw.min()), int(raw.max())
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(f"embedding: index {bad} is out of range for {num_embeddings} "
                             "embeddings (valid: 0 .. num_embeddings - 1)")
    return raw


def _renorm_(weight, raw, max_norm, norm_type):
    """Rescale, in place and outside the graph, the looked-up rows whose norm exceeds max_norm."""
    rows = np.unique(backend.to_numpy(raw))
    with no_grad():
        w = weight.data
        norms = (np.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[rows] = w[rows] * scale[:, None].astype(w.dtype)
        weight._version += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0):
    """Look up rows of ``weight``: y[..., :] = weight[input[...], :].

    The same as one_hot(input) @ weight without building the one-hot matrix; the gradient of
    ``weight`` adds up the output gradients of every position that looked a row up.

    Args:
        input: integer Tensor (or array) of any shape, values in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim) Tensor.
        padding_idx: positions holding this index get the row's value but pass no gradient
            to it (the padding row stays as it is during training).
        max_norm: if given, rows looked up whose ``norm_type``-norm exceeds it are rescaled to
            norm ``max_norm`` in place first (as PyTorch does).
        norm_type: the p of the p-norm for ``max_norm``.

    Returns:
        Tensor of shape ``input.shape + (embedding_dim,)``.

    Example:
        >>> F.embedding(cr.tensor([[0, 2], [1, 1]]), cr.randn(3, 4)).shape
        (2, 2, 4)
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    raw = _indices(input, weight.shape[0])
    if max_norm is not None:
        _renorm_(weight, raw, max_norm, norm_type)
    out = getitem(weight, raw)
    if padding_idx is not None and out.requires_grad:
        pad_positions = raw == padding_idx
        if pad_positions.any():
            # NOTE: same values, no gradient where the index is padding_idx.
            out = where(~pad_positions[..., None], out, out.detach())
    return out
