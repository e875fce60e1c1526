"""Comparisons and logical operations: boolean results, no gradient."""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.ops.reduce import normalize_dims
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
def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:  # noqa: A002
    """True when |input - other| <= atol + rtol |other| everywhere (NaNs equal when
    ``equal_nan``)."""
    return bool(np.allclose(_raw(input), _raw(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


@tensor_method
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """|input - other| <= atol + rtol |other| elementwise, as a boolean tensor (no gradient).

    Equal elements (infinities included) are always close; NaNs are close to each other only
    when ``equal_nan``. Both tensors must have the same dtype, as in PyTorch; they broadcast.

    Example:
        >>> cr.isclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0 + 1e-9, 2.1]))
        tensor([ True, False])
    """
    a, b = _raw(input), _raw(other)
    if isinstance(input, Tensor) and isinstance(other, Tensor) and a.dtype != b.dtype:
        raise TypeError(f"isclose: input ({a.dtype}) and other ({b.dtype}) must have the same "
                        "dtype")
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose: rtol ({rtol}) and atol ({atol}) must be non-negative")
    xp = backend.namespace(a, b)
    return wrap(xp.asarray(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def _truth_reduction(np_fn, input, dim, keepdim):  # noqa: A002
    """``np_fn`` (all or any) of ``input != 0`` over ``dim``: bool, uint8 for uint8 input."""
    data = _raw(input)
    axis = normalize_dims(dim, data.ndim, np_fn.__name__)
    if data.ndim == 0:
        axis = None
    out = backend.namespace(data).asarray(np_fn(data, axis=axis, keepdims=keepdim))
    return wrap(out.astype(np.uint8) if data.dtype == np.uint8 else out)


@tensor_method
def all(input, dim=None, keepdim=False):  # noqa: A001, A002 - PyTorch's names
    """True where every element along ``dim`` (all elements when None) is non-zero.

    ``dim`` is an int or a tuple of ints; ``keepdim`` keeps the reduced dims with size 1. The
    result is a bool tensor (uint8 for a uint8 input, as in PyTorch); there is no gradient.

    Example:
        >>> cr.tensor([[1, 0], [2, 3]]).all(dim=1)
        tensor([False,  True])
    """
    return _truth_reduction(np.all, input, dim, keepdim)


@tensor_method
def any(input, dim=None, keepdim=False):  # noqa: A001, A002 - PyTorch's names
    """True where at least one element along ``dim`` (any element when None) is non-zero.

    ``dim`` is an int or a tuple of ints; ``keepdim`` keeps the reduced dims with size 1. The
    result is a bool tensor (uint8 for a uint8 input, as in PyTorch); there is no gradient.

    Example:
        >>> cr.tensor([[1, 0], [0, 0]]).any(dim=1)
        tensor([ True, False])
    """
    return _truth_reduction(np.any, input, dim, keepdim)


@tensor_method
def equal(input, other) -> bool:  # noqa: A002 - PyTorch's name
    """True when both have the same shape and elements."""
    a, b = _raw(input), _raw(other)
    return a.shape == b.shape and bool((a == b).all())


# The ops that chainrule exports as ``cr.<name>``.
__all__ = [
    "all", "allclose", "any", "eq", "equal", "ge", "gt", "isclose", "isfinite", "isinf", "isnan",
    "le", "logical_and", "logical_not", "logical_or", "lt", "ne",
]
