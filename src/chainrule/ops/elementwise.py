"""Elementwise primitives: each forward beside its derivative.

Binary operations broadcast like NumPy; the engine reduces each gradient back to its input's
shape (``sum_to``), so the formulas below are written for equal shapes. Backward formulas use
only operators and :mod:`chainrule.ops.formula`, so they are differentiable themselves.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops import formula as fm
from chainrule.tensor import Tensor, wrap


class Add(Function):
    """z = a + b ; dz/da = 1, dz/db = 1."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """z = a - b ; dz/da = 1, dz/db = -1."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = a * b ; dz/da = b, dz/db = a."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    """z = a / b ; dz/da = 1/b, dz/db = -a/b^2."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b
        return (ga if ctx.needs_input_grad[0] else None), \
            (-ga * a / b if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """z = -a."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """z = a ** b ; dz/da = b a^(b-1), dz/db = a^b log a (0 where a = 0 and b >= 0).

    NOTE: a negative base with a fractional exponent gives NaN, as in NumPy, not an exception.
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        a_raw = a.data if isinstance(a, Tensor) else a
        b_raw = b.data if isinstance(b, Tensor) else b
        with np.errstate(invalid="ignore", divide="ignore"):
            ga = gb = None
            if na:
                ga = g * b * a ** (b - 1)
                # NOTE: d/da a^0 = 0 everywhere; the formula would give 0 * inf = NaN at a = 0.
                if np.any(b_raw == 0):
                    ga = fm.where(b_raw == 0, 0.0, ga)
            if nb:
                zero = (a_raw == 0) & (b_raw >= 0)
                safe_a = fm.where(zero, 1.0, a)
                gb = fm.where(zero, 0.0, g * out * fm.log(safe_a))
        return ga, gb


def _unary(name, fn, grad, save="input"):
    """Build a unary primitive from its forward ``fn`` and ``grad(g, saved)``."""

    def forward(ctx, a):
        out = fn(a)
        ctx.save_for_backward(a if save == "input" else out)
        return out

    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return grad(g, s)

    return type(name, (Function,), {
        "formula_backward": True,
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": f"Elementwise {name.lower()} and its derivative.",
    })


def _sigmoid_array(x):
    # NOTE: exp(-|x|) never overflows; for x < 0, sigmoid(x) = e^x / (1 + e^x) keeps relative
    # precision far into the tail (sigmoid(-1000) is 0 without a warning, sigmoid(-20) ~ 2e-9).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


Exp = _unary("Exp", np.exp, lambda g, y: g * y, save="output")
Log = _unary("Log", np.log, lambda g, x: g / x)
Sqrt = _unary("Sqrt", np.sqrt, lambda g, y: g / (2 * y), save="output")
Sin = _unary("Sin", np.sin, lambda g, x: g * fm.cos(x))
Cos = _unary("Cos", np.cos, lambda g, x: -g * fm.sin(x))
Tanh = _unary("Tanh", np.tanh, lambda g, y: g * (1 - y * y), save="output")
Sigmoid = _unary("Sigmoid", _sigmoid_array, lambda g, y: g * y * (1 - y), save="output")


class Relu(Function):
    """z = max(0, a) ; dz/da = 1 where a > 0, else 0 (the subgradient at 0 is 0)."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a):
        mask = a > 0
        ctx.save_for_backward(mask)
        return a * mask

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class Abs(Function):
    """z = |a| ; dz/da = sign(a) (0 at 0)."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(np.sign(a))
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        (sign,) = ctx.saved_tensors
        return g * sign


class Maximum(Function):
    """z = max(a, b) elementwise; at ties the gradient is split evenly (1/2 each)."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, b, largest=True):
        wins = (a > b) if largest else (a < b)
        weight = wins + 0.5 * (a == b)
        dtype = np.result_type(a, b)
        ctx.save_for_backward(weight.astype(dtype, copy=False))
        return np.maximum(a, b) if largest else np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        return (g * w if na else None), (g * (1 - w) if nb else None), None


class Minimum(Maximum):
    """z = min(a, b) elementwise (``Maximum`` with ``largest=False``, named for errors)."""


class Where(Function):
    """z = a where cond else b ; the gradient flows to the chosen side."""

    formula_backward = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        cond = cond.data if isinstance(cond, Tensor) else cond
        na, nb = ctx.needs_input_grad[1:]
        return None, (fm.where(cond, g, 0.0) if na else None), \
            (fm.where(cond, 0.0, g) if nb else None)


class Clamp(Function):
    """z = min(max(a, lo), hi) ; the gradient passes where lo <= a <= hi."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, lo, hi):
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        ctx.save_for_backward(mask)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None, None


class Cast(Function):
    """z = a converted to another floating dtype; the gradient is converted back."""

    formula_backward = True

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return cast(g, ctx.in_dtype), None
        return g.astype(ctx.in_dtype), None


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


def exp(x):
    """e^x."""
    return Exp.apply(x)


def log(x):
    """Natural logarithm."""
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


def tanh(x):
    """(e^x - e^-x) / (e^x + e^-x); derivative 1 - tanh^2."""
    return Tanh.apply(x)


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
