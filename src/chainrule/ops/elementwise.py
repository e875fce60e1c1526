"""Elementwise primitives: each forward beside its derivative.

Binary operations broadcast like NumPy: they are ``Broadcasting`` primitives, whose gradients
are reduced back to each input's shape (``sum_to``), so the formulas below are written for equal
shapes. Backward formulas use only operators and the formula functions (:mod:`.formula`), so
they are differentiable themselves.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.ops.movement import Broadcasting
from chainrule.tensor import Tensor, wrap


class Add(Broadcasting):
    """z = a + b ; dz/da = 1, dz/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Broadcasting):
    """z = a - b ; dz/da = 1, dz/db = -1."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Broadcasting):
    """z = a * b ; dz/da = b, dz/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g, a, b):
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Broadcasting):
    """z = a / b ; dz/da = 1/b, dz/db = -a/b^2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g, a, b):
        ga = g / b
        return (ga if ctx.needs_input_grad[0] else None), \
            (-ga * a / b if ctx.needs_input_grad[1] else None)


class Neg(Primitive):
    """z = -a."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Broadcasting):
    """z = a ** b ; dz/da = b a^(b-1), dz/db = a^b log a (0 where a = 0 and b >= 0).

    NOTE: a negative base with a fractional exponent gives NaN, as in NumPy, not an exception.
    """

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            out = a ** b
        # NOTE: constants of the derivative, from the arrays: where the exponent is 0
        # (d/da a^0 = 0 everywhere; the formula would give 0 * inf = NaN at a = 0) and where
        # the base is 0 with b >= 0 (d/db 0^b = 0; the formula would take log 0).
        na, nb = ctx.needs_input_grad
        ctx.b_zero = (b == 0) if na and np.any(b == 0) else None
        ctx.a_zero = ((a == 0) & (b >= 0)) if nb else None
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g, a, b, out):
        na, nb = ctx.needs_input_grad
        with np.errstate(invalid="ignore", divide="ignore"):
            ga = gb = None
            if na:
                ga = g * b * a ** (b - 1)
                if ctx.b_zero is not None:
                    ga = fm.where(ctx.b_zero, 0.0, ga)
            if nb:
                safe_a = fm.where(ctx.a_zero, 1.0, a)
                gb = fm.where(ctx.a_zero, 0.0, g * out * fm.log(safe_a))
        return ga, gb


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


class Maximum(Broadcasting):
    """z = max(a, b) elementwise; at ties the gradient is split evenly (1/2 each)."""

    @staticmethod
    def forward(ctx, a, b, largest=True):
        wins = (a > b) if largest else (a < b)
        weight = wins + 0.5 * (a == b)
        dtype = np.result_type(a, b)
        ctx.weight = weight.astype(dtype, copy=False)
        return np.maximum(a, b) if largest else np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        w = ctx.weight
        na, nb = ctx.needs_input_grad[:2]
        return (g * w if na else None), (g * (1 - w) if nb else None), None


class Minimum(Maximum):
    """z = min(a, b) elementwise (``Maximum`` with ``largest=False``, named for errors)."""


class Where(Broadcasting):
    """z = a where cond else b ; the gradient flows to the chosen side."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        cond = ctx.cond
        na, nb = ctx.needs_input_grad[1:]
        return None, (fm.where(cond, g, 0.0) if na else None), \
            (fm.where(cond, 0.0, g) if nb else None)


class Clamp(Primitive):
    """z = min(max(a, lo), hi) ; the gradient passes where lo <= a <= hi."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        ctx.mask = mask
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None, None


class Cast(Primitive):
    """z = a converted to another floating dtype; the gradient is converted back."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return fm.cast(g, ctx.in_dtype), None


# ---- functions -------------------------------------------------------------------------------
def _const(x, like):
    """Turn a float NumPy constant (array or scalar) into ``like``'s dtype (no silent upcast)."""
    if isinstance(x, (np.ndarray, np.floating)) and x.dtype.kind == "f" \
            and isinstance(like, Tensor) \
            and like.data.dtype.kind == "f" and x.dtype != like.data.dtype:
        return x.astype(like.data.dtype)
    return x


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(_const(a, b), _const(b, a))


def sub(a, b):
    """a - b with broadcasting."""
    return Sub.apply(_const(a, b), _const(b, a))


def mul(a, b):
    """a * b with broadcasting."""
    return Mul.apply(_const(a, b), _const(b, a))


def div(a, b):
    """a / b with broadcasting."""
    return Div.apply(_const(a, b), _const(b, a))


def pow(a, b):  # noqa: A001 - PyTorch's name
    """a ** b (``b`` a number or a tensor)."""
    return Pow.apply(_const(a, b), _const(b, a))


def neg(a):
    return Neg.apply(a)


@formula(np.exp)
def exp(x):
    """e^x."""
    return Exp.apply(x)


@formula(np.log)
def log(x):
    """Natural logarithm."""
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


@formula(np.sin)
def sin(x):
    return Sin.apply(x)


@formula(np.cos)
def cos(x):
    return Cos.apply(x)


def tanh(x):
    """(e^x - e^-x) / (e^x + e^-x); derivative 1 - tanh^2."""
    return Tanh.apply(x)


@formula(_sigmoid_array)
def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow; derivative s (1 - s)."""
    return Sigmoid.apply(x)


def relu(x):
    """max(0, x)."""
    return Relu.apply(x)


def abs(x):  # noqa: A001
    return Abs.apply(x)


def maximum(a, b):
    """Elementwise maximum; ties split the gradient evenly."""
    return Maximum.apply(_const(a, b), _const(b, a), True)


def minimum(a, b):
    """Elementwise minimum; ties split the gradient evenly."""
    return Minimum.apply(_const(a, b), _const(b, a), False)


@formula(np.where)
def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (all broadcast together)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return Where.apply(cond.astype(bool, copy=False), _const(a, b), _const(b, a))


def clamp(x, min=None, max=None):  # noqa: A002
    """Limit x to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min, max)


clip = clamp


@formula(lambda x, dtype: x.astype(dtype))
def cast(x, dtype):
    """Convert a tensor to ``dtype``; differentiable between floating dtypes."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return Cast.apply(x, dtype)
    return wrap(x.data.astype(dtype))


def square(x):
    return mul(x, x)


def reciprocal(x):
    return div(1.0, x)


def rsqrt(x):
    return div(1.0, sqrt(x))


def log1p(x):
    return log(add(x, 1.0))


def sign(x):
    """-1, 0 or 1 (no gradient)."""
    return wrap(np.sign(x.data))
