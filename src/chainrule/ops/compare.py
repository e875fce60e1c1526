"""Comparisons and logical operations: boolean results, no gradient."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor, wrap


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _compare(fn):
    def op(a, b):
        return wrap(fn(_raw(a), _raw(b)))

    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise ``{fn.__name__}`` as a boolean tensor (no gradient)."
    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)


def logical_not(x):
    return wrap(np.logical_not(_raw(x)))


def isnan(x):
    return wrap(np.isnan(_raw(x)))


def isinf(x):
    return wrap(np.isinf(_raw(x)))


def isfinite(x):
    return wrap(np.isfinite(_raw(x)))


def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    """True when |a - b| <= atol + rtol |b| everywhere."""
    return bool(np.allclose(_raw(a), _raw(b), rtol=rtol, atol=atol))


def equal(a, b) -> bool:
    """True when both have the same shape and elements."""
    a, b = _raw(a), _raw(b)
    return a.shape == b.shape and bool((a == b).all())
