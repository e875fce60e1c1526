"""Elementwise arithmetic primitives: each forward beside its derivative.

Binary operations broadcast like NumPy: they are ``Broadcasting`` primitives, whose gradients
are reduced back to each input's shape (``sum_to``), so the formulas below are written for equal
shapes. Backward formulas use only operators and the formula functions (:mod:`.formula`), so
they are differentiable themselves.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.backend import DEFAULT_FLOAT
from chainrule.ops import formula as fm
from chainrule.ops.broadcast import Broadcasting
from chainrule.ops.formula import formula
from chainrule.ops.promotion import convert, promoted
from chainrule.tensor import Tensor, tensor_method, wrap


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


class RoundedDiv(Broadcasting):
    """z = floor(a / b) or trunc(a / b) ; no slope: dz/da = dz/db = 0 (a step function).

    The quotient is rounded as PyTorch rounds it: ``floor`` is Python's floor division (NumPy's
    ``floor_divide``), ``trunc`` rounds toward zero; integers stay integers.
    """

    @staticmethod
    def forward(ctx, a, b, mode):
        with np.errstate(divide="ignore", invalid="ignore"):  # x / 0: inf or nan, as PyTorch
            floored = np.floor_divide(a, b)
            if mode == "floor":
                return floored
            if floored.dtype.kind in "fc":
                return np.trunc(a / b).astype(floored.dtype, copy=False)
        inexact = (a - floored * b != 0) & ((a < 0) != (b < 0))
        return floored + inexact.astype(floored.dtype)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad[:2]
        return (g * 0 if na else None), (g * 0 if nb else None), None


# ---- functions -------------------------------------------------------------------------------
@tensor_method
def add(input, other, *, alpha=1):  # noqa: A002 - PyTorch's names
    """input + alpha * other with broadcasting, in the operands' result type (PyTorch's
    promotion); ``x.add(y, alpha=2)`` as PyTorch."""
    return Add.apply(*promoted(input, other if alpha == 1 else mul(other, alpha)))


@tensor_method
def sub(input, other, *, alpha=1):  # noqa: A002 - PyTorch's names
    """input - alpha * other with broadcasting, in the operands' result type."""
    return Sub.apply(*promoted(input, other if alpha == 1 else mul(other, alpha)))


@tensor_method
def mul(input, other):  # noqa: A002 - PyTorch's names
    """input * other with broadcasting, in the operands' result type."""
    return Mul.apply(*promoted(input, other))


@tensor_method
def div(input, other, *, rounding_mode=None):  # noqa: A002 - PyTorch's names
    """input / other with broadcasting.

    ``rounding_mode=None``: true division, integers divide into the default float.
    ``"trunc"``: the quotient rounded toward zero; ``"floor"``: rounded down (Python's ``//``).
    Both keep the operands' result type (integers stay integers) and pass a zero gradient.

    Raises:
        ValueError: an unknown ``rounding_mode``.
        ZeroDivisionError: an integer division by zero with a rounding mode.
    """
    a, b = promoted(input, other)
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                             f"{rounding_mode!r}")
        divisor = b.data if isinstance(b, Tensor) else b
        if not _is_float(a) and not _is_float(b) and not np.all(divisor != 0):
            raise ZeroDivisionError(f"div: integer division by zero (rounding_mode="
                                    f"{rounding_mode!r}, shapes {np.shape(a)} and "
                                    f"{np.shape(divisor)})")
        return RoundedDiv.apply(a, b, rounding_mode)
    if not _is_float(a) and not _is_float(b):
        a, b = convert(a, DEFAULT_FLOAT), convert(b, DEFAULT_FLOAT)
    return Div.apply(a, b)


multiply = tensor_method(mul, "multiply")
subtract = tensor_method(sub, "subtract")
divide = tensor_method(div, "divide")
true_divide = tensor_method(div, "true_divide")


@tensor_method
def floor_divide(input, other):  # noqa: A002 - PyTorch's names
    """floor(input / other): ``div(input, other, rounding_mode="floor")``, Python's ``//``."""
    return div(input, other, rounding_mode="floor")


@tensor_method
def pow(a, b):  # noqa: A001 - PyTorch's name
    """a ** b (``b`` a number or a tensor), in the operands' result type."""
    return Pow.apply(*promoted(a, b))


def _is_float(x) -> bool:
    kind = x.data.dtype.kind if isinstance(x, Tensor) else np.asarray(x).dtype.kind
    return kind in "fc"


@tensor_method
def neg(a):
    return Neg.apply(a)


@tensor_method
def maximum(a, b):
    """Elementwise maximum; ties split the gradient evenly."""
    return Maximum.apply(*promoted(a, b), True)


@tensor_method
def minimum(a, b):
    """Elementwise minimum; ties split the gradient evenly."""
    return Minimum.apply(*promoted(a, b), False)


@formula(np.where)
def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (all broadcast together)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return Where.apply(cond.astype(bool, copy=False), *promoted(a, b))


@tensor_method
def clamp(x, min=None, max=None):  # noqa: A002
    """Limit x to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min, max)


clip = tensor_method(clamp, "clip")


@formula(lambda x, dtype: x.astype(dtype))
def cast(x, dtype):
    """Convert a tensor to ``dtype``; differentiable between floating dtypes."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return Cast.apply(x, dtype)
    return wrap(x.data.astype(dtype))


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["add", "cast", "clamp", "clip", "div", "divide", "floor_divide", "maximum", "minimum",
           "mul", "multiply", "neg", "pow", "sub", "subtract", "true_divide", "where"]
