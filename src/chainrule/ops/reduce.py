"""Reductions: sum, mean, max/min (ties split evenly), and the fused softmax pair.

``dim`` is an int, a tuple of ints or None (all axes), as in PyTorch; ``keepdim`` keeps the
reduced axes with size 1. Variance, standard deviation and log-sum-exp are compositions.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.broadcast import broadcast_to
from chainrule.ops.elementwise import maximum, minimum, where
from chainrule.ops.formula import formula
from chainrule.ops.promotion import promoted
from chainrule.ops.unary import log, sqrt
from chainrule.tensor import Tensor, ValuesIndices, tensor_method, wrap


def normalize_dims(dim, ndim, op="reduction"):
    """``dim`` as a sorted tuple of non-negative axes, or None for all axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -(ndim or 1) <= d < (ndim or 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(int(d) % (ndim or 1))
    return tuple(sorted(set(out)))


def expand_reduced(g, shape, axis, keepdim):
    """Broadcast the gradient of a reduction over ``axis`` back to the input ``shape``."""
    if not keepdim:
        if axis is None:
            kept = (1,) * len(shape)
        else:
            kept = tuple(1 if i in axis else s for i, s in enumerate(shape))
        g = fm.reshape(g, kept)
    return fm.broadcast_to(g, shape)


def reduced_shape(shape, axis) -> tuple:
    """The shape left after reducing ``axis`` (None: all axes) without keepdim."""
    if axis is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axis)


class Sum(Primitive):
    """z = sum_i x_i over ``axis`` ; dz/dx_i = 1 (the gradient is broadcast back)."""

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.in_shape, ctx.args = x.shape, (axis, keepdim)
        return x.sum(axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        axis, keepdim = ctx.args
        return expand_reduced(g, ctx.in_shape, axis, keepdim), None, None


class Mean(Primitive):
    """z = (1/n) sum_i x_i over ``axis`` ; dz/dx_i = 1/n."""

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.in_shape, ctx.args = x.shape, (axis, keepdim)
        out = x.sum(axis=axis, keepdims=keepdim)
        ctx.scale = out.size / x.size if x.size else float("nan")
        return out * ctx.scale

    @staticmethod
    def backward(ctx, g):
        axis, keepdim = ctx.args
        return expand_reduced(g * ctx.scale, ctx.in_shape, axis, keepdim), None, None


class Extremum(Primitive):
    """z = max (or min) over ``axis`` ; the gradient goes to the arg-max, split evenly at ties."""

    @staticmethod
    def forward(ctx, x, axis, keepdim, largest):
        ctx.in_shape, ctx.args = x.shape, (axis, keepdim, largest)
        if x.size == 0:
            raise ValueError(f"{'max' if largest else 'min'}: empty tensor of shape {x.shape}")
        y = x.max(axis=axis, keepdims=True) if largest else x.min(axis=axis, keepdims=True)
        mask = x == y
        # NOTE: splitting evenly among ties makes the result a valid subgradient and keeps the
        # backward symmetric (max([1, 1]) gives [0.5, 0.5], as PyTorch's amax does).
        weight = mask / mask.sum(axis=axis, keepdims=True)
        ctx.weight = weight.astype(x.dtype, copy=False)
        if not keepdim:
            y = y.reshape(reduced_shape(x.shape, axis))
        return y

    @staticmethod
    def backward(ctx, g):
        axis, keepdim, _ = ctx.args
        return expand_reduced(g, ctx.in_shape, axis, keepdim) * ctx.weight, None, None, None


class LogSoftmax(Primitive):
    """y_i = z_i - log sum_j e^{z_j}, stable (the max is subtracted first).

    dy_i/dz_k = delta_ik - softmax_k, so grad_z = g - softmax * sum(g).
    """

    @staticmethod
    def forward(ctx, x, axis):
        ctx.args = (axis,)
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, y):
        (axis,) = ctx.args
        return g - fm.exp(y) * fm.sum(g, axis, keepdim=True), None


class Softmax(Primitive):
    """y_i = e^{z_i} / sum_j e^{z_j}, stable ; grad_z = y * (g - sum(g * y))."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.args = (axis,)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, y):
        (axis,) = ctx.args
        return y * (g - fm.sum(g * y, axis, keepdim=True)), None


# ---- functions -------------------------------------------------------------------------------
def _reduce(cls, x, dim, keepdim, *extra, op):
    axis = normalize_dims(dim, x.ndim, op)
    return cls.apply(x, axis, keepdim, *extra)


@tensor_method
@formula(lambda x, dim=None, keepdim=False: x.sum(axis=dim, keepdims=keepdim))
def sum(x, dim=None, keepdim=False):  # noqa: A001
    """Sum over ``dim`` (all elements when None); bool and integer tensors sum in int64."""
    if x.data.dtype.kind in "biu" and x.data.dtype != np.int64:
        x = wrap(x.data.astype(np.int64))
    return _reduce(Sum, x, dim, keepdim, op="sum")


@tensor_method
def mean(x, dim=None, keepdim=False):
    """Arithmetic mean over ``dim`` (of a floating-point tensor, as in PyTorch)."""
    _require_float(x, "mean")
    return _reduce(Mean, x, dim, keepdim, op="mean")


def _require_float(x, op):
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: input dtype {x.data.dtype} is not floating point (shape "
                           f"{x.shape}); convert it first, e.g. x.float()")


def _extremum(x, dim, keepdim, largest):
    name = "max" if largest else "min"
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return maximum(x, dim) if largest else minimum(x, dim)
    values = _reduce(Extremum, x, dim, keepdim, largest, op=name)
    if dim is None:
        return values
    arg = argmax if largest else argmin
    return ValuesIndices(values, arg(x, dim, keepdim))


@tensor_method
def max(x, dim=None, keepdim=False):  # noqa: A001
    """Maximum; with ``dim`` returns ``(values, indices)`` like PyTorch."""
    return _extremum(x, dim, keepdim, True)


@tensor_method
def min(x, dim=None, keepdim=False):  # noqa: A001
    """Minimum; with ``dim`` returns ``(values, indices)`` like PyTorch."""
    return _extremum(x, dim, keepdim, False)


@tensor_method
def amax(x, dim=None, keepdim=False):
    """The maximum over ``dim`` (an int, a tuple or None), values only; ties share the
    gradient evenly."""
    return _reduce(Extremum, x, dim, keepdim, True, op="amax")


@tensor_method
def amin(x, dim=None, keepdim=False):
    """The minimum over ``dim`` (an int, a tuple or None), values only; ties share the
    gradient evenly."""
    return _reduce(Extremum, x, dim, keepdim, False, op="amin")


@tensor_method
def var(x, dim=None, correction=1, keepdim=False, unbiased=None):
    """Variance: sum (x - mean)^2 / (n - correction); ``unbiased=False`` means correction 0."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    _require_float(x, "var")
    axis = normalize_dims(dim, x.ndim, "var")
    n = x.data.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
    d = x - mean(x, axis, keepdim=True)
    return sum(d * d, axis, keepdim) / builtins_max(n - correction, 0)


def _root(s, p=2):
    """s^(1/p) for s >= 0, with gradient 0 where s = 0 (the subgradient PyTorch uses)."""
    root = sqrt if p == 2 else (lambda t: t ** (1.0 / p))
    zero = s.data == 0
    if not zero.any():
        return root(s)
    # NOTE: the derivative of the root is infinite at 0 and that of s is 0 there, so the chain
    # rule would give 0 * inf = NaN. Sending s = 0 through a constant branch keeps it 0.
    return where(zero, 0.0, root(where(zero, 1.0, s)))


@tensor_method
def std(x, dim=None, correction=1, keepdim=False, unbiased=None):
    """Standard deviation: sqrt(var) (gradient 0 where the variance is 0)."""
    return _root(var(x, dim, correction, keepdim, unbiased))


@tensor_method
def logsumexp(x, dim=None, keepdim=False):
    """log sum_i e^{x_i}, computed as m + log sum e^{x - m} with m the (constant) maximum."""
    axis = normalize_dims(dim, x.ndim, "logsumexp")
    m = x.data.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = log(sum((x - m).exp(), axis, keepdim=True)) + m
    if not keepdim:
        out = out.reshape(reduced_shape(x.shape, axis))
    return out


@tensor_method
def log_softmax(x, dim=-1):
    """z_i - logsumexp(z) along ``dim``, stable for large inputs."""
    (axis,) = normalize_dims(dim, x.ndim, "log_softmax")
    return LogSoftmax.apply(x, axis)


@tensor_method
def softmax(x, dim=-1):
    """e^{z_i} / sum_j e^{z_j} along ``dim``, stable for large inputs."""
    (axis,) = normalize_dims(dim, x.ndim, "softmax")
    return Softmax.apply(x, axis)


def _arg_extremum(x, dim, keepdim, largest):
    data = x.data if isinstance(x, Tensor) else x
    find, xp = (data.argmax if largest else data.argmin), backend.namespace(data)
    if dim is None:
        index = xp.asarray(find(), dtype=np.int64)
        return wrap(index.reshape((1,) * data.ndim) if keepdim else index)
    return wrap(xp.asarray(find(axis=dim, keepdims=keepdim), dtype=np.int64))


@tensor_method
def argmax(x, dim=None, keepdim=False):
    """Index of the maximum (over the flattened tensor when ``dim`` is None); no gradient."""
    return _arg_extremum(x, dim, keepdim, True)


@tensor_method
def argmin(x, dim=None, keepdim=False):
    """Index of the minimum; no gradient."""
    return _arg_extremum(x, dim, keepdim, False)


@tensor_method
def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm (sum |x|^p)^(1/p) (max |x| for p = inf); gradient 0 at the zero vector."""
    if p == 2:
        return _root(sum(x * x, dim, keepdim))
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    if p == float("inf"):
        return amax(x.abs(), dim, keepdim)
    return _root(sum(x.abs() ** p, dim, keepdim), p)


def _norm_at_least(x, dim, eps):
    """||x|| along ``dim`` (kept), with values below ``eps`` raised to ``eps``.

    NOTE: as in PyTorch, the clamp changes the value only: the gradient is that of the norm,
    so it is added as a constant (eps - ||x|| where the norm is smaller, else 0).
    """
    n = norm(x, 2, dim, keepdim=True)
    return n + (np.maximum(n.data, eps) - n.data)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """The cosine of the angle between x1 and x2 along ``dim``.

    cos = sum_d (x1_d / max(||x1||, eps)) (x2_d / max(||x2||, eps)), computed from the
    normalised vectors (so |cos| <= 1) as PyTorch does; x1 and x2 broadcast together.

    Args:
        x1, x2: floating-point tensors that broadcast together.
        dim: the dimension of the vectors.
        eps: the smallest norm divided by (a zero vector has cosine 0 with anything).

    Returns:
        The broadcast shape without ``dim``.

    Example:
        >>> cr.cosine_similarity(cr.tensor([[1.0, 0.0]]), cr.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    x1, x2 = promoted(x1, x2)
    if x1.data.dtype.kind != "f":
        raise TypeError(f"cosine_similarity: expected floating-point inputs, got dtype "
                        f"{x1.dtype}")
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    (axis,) = normalize_dims(dim, len(shape), "cosine_similarity")
    x1, x2 = broadcast_to(x1, shape), broadcast_to(x2, shape)
    unit1, unit2 = x1 / _norm_at_least(x1, axis, eps), x2 / _norm_at_least(x2, axis, eps)
    return sum(unit1 * unit2, axis)


def builtins_max(a, b):
    return a if a > b else b


# The ops that chainrule exports as ``cr.<name>``.
__all__ = [
    "amax", "amin", "argmax", "argmin", "cosine_similarity", "log_softmax", "logsumexp", "max",
    "mean", "min", "norm", "softmax", "std", "sum", "var",
]
