"""PyTorch's type promotion: the dtype of ``a + b`` when a and b differ.

Dtypes fall in categories, bool < integer < floating < complex. The result has the highest
category among the operands; within it, the operands that decide are, in order of priority,
the tensors with at least one dimension, then 0-d tensors, then Python numbers:

    float32 tensor (3,) + float64 0-d tensor   -> float32   (a dimensioned tensor wins)
    int64 tensor (3,)   + float64 0-d tensor   -> float64   (a higher category wins)
    int64 tensor        + 1.5                  -> float32   (a Python float is the default float)
    int64 tensor        / int64 tensor         -> float32   (true division gives a float)
    float32 tensor      ** int64 tensor        -> float32

NumPy arrays and scalars given as operands count like Python numbers (chainrule's rule: a NumPy
constant never upcasts a tensor's float32 work). :func:`result_type` is ``torch.result_type``.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.tensor import Tensor

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def category(dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point, 3 for complex."""
    return _CATEGORY[np.dtype(dtype).kind]


def promote_types(a, b) -> np.dtype:
    """The smallest dtype to which both ``a`` and ``b`` convert (``torch.promote_types``).

    Within a category NumPy's table; across categories the higher one's dtype, so an integer
    with float16 gives float16 (NumPy would give float64).
    """
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _weak_dtype(value) -> np.dtype:
    """The dtype a Python number (or NumPy constant) stands for: the default of its category."""
    kind = np.asarray(value).dtype.kind
    if kind == "b":
        return np.dtype(np.bool_)
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "f":
        return backend.DEFAULT_FLOAT
    return np.dtype(np.complex64)


def _combine(higher, lower):
    """Merge the result of a lower-priority group of operands into a higher-priority one."""
    if higher is None:
        return lower
    if lower is None or category(higher) >= 2:
        return higher
    if category(higher) == 0 or category(lower) >= 2:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise operation on ``operands``, as ``torch.result_type``.

    Args:
        operands: Tensors, NumPy arrays or scalars, Python numbers.

    Returns:
        The NumPy dtype of the result.

    Example:
        >>> result_type(cr.ones(3), cr.tensor(2.0, dtype=cr.float64))     # float32
    """
    dims = zeros = weak = None
    for x in operands:
        if isinstance(x, Tensor):
            dtype = x.data.dtype
            if x.data.ndim:
                dims = dtype if dims is None else promote_types(dims, dtype)
            else:
                zeros = dtype if zeros is None else promote_types(zeros, dtype)
        else:
            dtype = _weak_dtype(x)
            weak = dtype if weak is None else promote_types(weak, dtype)
    return _combine(dims, _combine(zeros, weak))


def convert(x, dtype):
    """``x`` as an operand of ``dtype``: a Tensor or array converted, a Python number kept."""
    if isinstance(x, Tensor):
        return x if x.data.dtype == dtype else x.to(dtype)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    if isinstance(x, np.generic):
        return x.item()  # a Python number takes the array's dtype in NumPy's arithmetic
    return x


def promoted(a, b):
    """``a`` and ``b`` converted to their result type (operands of a binary op)."""
    # NOTE: the common cases first, cheaply: equal dtypes, or a float tensor and a number.
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.data.dtype == b.data.dtype:
                return a, b
        elif type(b) in (float, int) and a.data.dtype.kind == "f":
            return a, b
    elif isinstance(b, Tensor) and type(a) in (float, int) and b.data.dtype.kind == "f":
        return a, b
    dtype = result_type(a, b)
    return convert(a, dtype), convert(b, dtype)


def floating(x):
    """``x`` itself if its dtype is floating point, else ``x`` converted to the default float
    (``torch.exp`` of an integer tensor is float32)."""
    return x if x.data.dtype.kind in "fc" else x.to(backend.DEFAULT_FLOAT)


# The promotion functions chainrule exports (``torch.result_type``, ``torch.promote_types``).
__all__ = ["promote_types", "result_type"]
