"""Comparisons and logical operations: boolean results, no gradient."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor, tensor_method, wrap


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


@tensor_method
def eq(a, b):
    """a == b elementwise, as a boolean tensor (no gradient)."""
    return wrap(np.equal(_raw(a), _raw(b)))


@tensor_method
def ne(a, b):
    """a != b elementwise, as a boolean tensor (no gradient)."""
    return wrap(np.not_equal(_raw(a), _raw(b)))


@tensor_method
def lt(a, b):
    """a < b elementwise, as a boolean tensor (no gradient)."""
    return wrap(np.less(_raw(a), _raw(b)))


@tensor_method
def le(a, b):
    """a <= b elementwise, as a boolean tensor (no gradient)."""
    return wrap(np.less_equal(_raw(a), _raw(b)))


@tensor_method
def gt(a, b):
    """a > b elementwise, as a boolean tensor (no gradient)."""
    return wrap(np.greater(_raw(a), _raw(b)))


@tensor_method
def ge(a, b):
    """a >= b elementwise, as a boolean tensor (no gradient)."""
    return wrap(np.greater_equal(_raw(a), _raw(b)))


def logical_and(a, b):
    """a and b elementwise, as a boolean tensor."""
    return wrap(np.logical_and(_raw(a), _raw(b)))


def logical_or(a, b):
    """a or b elementwise, as a boolean tensor."""
    return wrap(np.logical_or(_raw(a), _raw(b)))


def logical_not(x):
    return wrap(np.logical_not(_raw(x)))


@tensor_method
def isnan(x):
    return wrap(np.isnan(_raw(x)))


@tensor_method
def isinf(x):
    return wrap(np.isinf(_raw(x)))


@tensor_method
def isfinite(x):
    return wrap(np.isfinite(_raw(x)))


@tensor_method
def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    """True when |a - b| <= atol + rtol |b| everywhere."""
    return bool(np.allclose(_raw(a), _raw(b), rtol=rtol, atol=atol))


def equal(a, b) -> bool:
    """True when both have the same shape and elements."""
    a, b = _raw(a), _raw(b)
    return a.shape == b.shape and bool((a == b).all())


# The ops that chainrule exports as ``cr.<name>``.
__all__ = [
    "allclose", "eq", "equal", "ge", "gt", "isfinite", "isinf", "isnan", "le",
    "logical_and", "logical_not", "logical_or", "lt", "ne",
]
