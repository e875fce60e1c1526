"""Elementwise functions of one argument (exp, log, the activations...): each with its derivative.

Each is a ``Primitive`` whose forward runs on arrays and whose backward formula uses operators
and the formula functions (:mod:`.formula`), so it is differentiable again. An integer or bool
input is first converted to the default float, as ``torch.exp`` does.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.elementwise import add, div, mul
from chainrule.ops.formula import formula
from chainrule.ops.promotion import floating
from chainrule.tensor import tensor_method, wrap


def _sigmoid_array(x):
    # NOTE: exp(-|x|) never overflows; for x < 0, sigmoid(x) = e^x / (1 + e^x) keeps relative
    # precision far into the tail (sigmoid(-1000) is 0 without a warning, sigmoid(-20) ~ 2e-9).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Exp(Primitive):
    """z = e^a ; dz/da = e^a = z."""

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * out


class Log(Primitive):
    """z = ln a ; dz/da = 1 / a."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g, a):
        return g / a


class Sqrt(Primitive):
    """z = sqrt(a) ; dz/da = 1 / (2 z)."""

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g / (2 * out)


class Sin(Primitive):
    """z = sin a ; dz/da = cos a."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, g, a):
        return g * fm.cos(a)


class Cos(Primitive):
    """z = cos a ; dz/da = -sin a."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, g, a):
        return -g * fm.sin(a)


class Tanh(Primitive):
    """z = tanh a ; dz/da = 1 - z^2."""

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * (1 - out * out)


class Sigmoid(Primitive):
    """z = 1 / (1 + e^-a) ; dz/da = z (1 - z)."""

    @staticmethod
    def forward(ctx, a):
        out = _sigmoid_array(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * out * (1 - out)


class Expm1(Primitive):
    """z = e^a - 1 (exact for small a) ; dz/da = e^a = z + 1."""

    @staticmethod
    def forward(ctx, a):
        out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * (out + 1)


class LogBase(Primitive):
    """z = log_b a (b = 2 or 10) ; dz/da = 1 / (a ln b)."""

    @staticmethod
    def forward(ctx, a, base):
        ctx.save_for_backward(a)
        ctx.log_base = math.log(base)
        return np.log2(a) if base == 2 else np.log10(a)

    @staticmethod
    def backward(ctx, g, a):
        return g / (a * ctx.log_base), None


class Rounding(Primitive):
    """z = floor a, ceil a, trunc a or round a (``decimals`` places) ; dz/da = 0.

    The zero gradient flows (as in PyTorch), so a graph through a rounding still backpropagates.
    """

    @staticmethod
    def forward(ctx, a, fn, decimals):
        return np.round(a, decimals) if fn is np.round else fn(a)

    @staticmethod
    def backward(ctx, g):
        return g * 0, None, None


class Relu(Primitive):
    """z = max(0, a) ; dz/da = 1 where a > 0, else 0 (the subgradient at 0 is 0)."""

    @staticmethod
    def forward(ctx, a):
        ctx.mask = a > 0
        return a * ctx.mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask


class Abs(Primitive):
    """z = |a| ; dz/da = sign(a) (0 at 0)."""

    @staticmethod
    def forward(ctx, a):
        ctx.sign = np.sign(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


@tensor_method
@formula(np.exp)
def exp(x):
    """e^x."""
    return Exp.apply(floating(x))


@tensor_method
@formula(np.log)
def log(x):
    """Natural logarithm."""
    return Log.apply(floating(x))


@tensor_method
def sqrt(x):
    return Sqrt.apply(floating(x))


@tensor_method
@formula(np.sin)
def sin(x):
    return Sin.apply(floating(x))


@tensor_method
@formula(np.cos)
def cos(x):
    return Cos.apply(floating(x))


@tensor_method
def tanh(x):
    """(e^x - e^-x) / (e^x + e^-x); derivative 1 - tanh^2."""
    return Tanh.apply(floating(x))


@tensor_method
@formula(_sigmoid_array)
def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow; derivative s (1 - s)."""
    return Sigmoid.apply(floating(x))


@tensor_method
def expm1(x):
    """e^x - 1, accurate where x is near 0 (``log1p``'s inverse)."""
    return Expm1.apply(floating(x))


@tensor_method
def log2(input):  # noqa: A002 - PyTorch's name
    """Logarithm to base 2, log2(x) = ln x / ln 2 (exact at powers of 2); derivative
    1 / (x ln 2)."""
    return LogBase.apply(floating(input), 2)


@tensor_method
def log10(input):  # noqa: A002 - PyTorch's name
    """Logarithm to base 10, log10(x) = ln x / ln 10 (exact at powers of 10); derivative
    1 / (x ln 10)."""
    return LogBase.apply(floating(input), 10)


def _rounded(op, fn, x, decimals=0):
    """``fn`` applied to a floating tensor; an integer tensor is returned as a copy (it is
    already whole), a boolean one refused (as in PyTorch)."""
    kind = x.data.dtype.kind
    if kind == "b":
        raise TypeError(f"{op}: not defined for a bool tensor (shape {x.shape})")
    if kind in "iu":
        if decimals:
            raise TypeError(f"{op}: decimals={decimals} is not supported for an integer "
                            f"tensor ({x.dtype})")
        return wrap(x.data.copy())
    return Rounding.apply(x, fn, decimals)


@tensor_method
def floor(input):  # noqa: A002 - PyTorch's name
    """The largest integer <= x, in the input's dtype; zero gradient."""
    return _rounded("floor", np.floor, input)


@tensor_method
def ceil(input):  # noqa: A002 - PyTorch's name
    """The smallest integer >= x, in the input's dtype; zero gradient."""
    return _rounded("ceil", np.ceil, input)


@tensor_method
def trunc(input):  # noqa: A002 - PyTorch's name
    """x rounded towards zero (sign(x) floor|x|), in the input's dtype; zero gradient."""
    return _rounded("trunc", np.trunc, input)


@tensor_method
def round(input, *, decimals=0):  # noqa: A001, A002 - PyTorch's names
    """x rounded to the nearest integer, halves to even (round(2.5) = 2), in the input's dtype.

    With ``decimals`` d: round(x 10^d) / 10^d (for d < 0, round(x / 10^-d) 10^-d), as PyTorch
    computes it. Zero gradient.

    Example:
        >>> cr.round(cr.tensor([0.5, 1.5, 1.234]), decimals=0)
        tensor([0., 2., 1.])
    """
    return _rounded("round", np.round, input, int(decimals))


@tensor_method
def relu(x):
    """max(0, x)."""
    return Relu.apply(x)


@tensor_method
def abs(x):  # noqa: A001
    return Abs.apply(x)


@tensor_method
def square(x):
    return mul(x, x)


@tensor_method
def reciprocal(x):
    return div(1.0, x)


@tensor_method
def rsqrt(x):
    return div(1.0, sqrt(x))


@tensor_method
def log1p(x):
    return log(add(x, 1.0))


@tensor_method
def sign(x):
    """-1, 0 or 1 (no gradient)."""
    return wrap(np.sign(x.data))


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["abs", "ceil", "cos", "exp", "expm1", "floor", "log", "log10", "log1p", "log2", "relu",
           "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "tanh",
           "trunc"]
