"""In-place operations (``x += y``, ``x.add_(y)``, ``x[i] = v``, ...) with PyTorch's rules.

An in-place change writes into the tensor's memory and bumps its version counter (shared with
its views and detached copies, so a graph node that saved any of them notices). Outside
``no_grad`` it is an error on a leaf that requires grad, and on any other tensor it is recorded:
the tensor takes the graph node of the out-of-place op applied to its old value, while the
nodes recorded before keep the old value's node (their edges). The result must be castable to
the tensor's own dtype (``int_tensor += 1.5`` is an error, as in PyTorch). Without gradients
the arithmetic runs as one NumPy ufunc writing into the tensor's memory (``p -= lr * p.grad``
allocates nothing more).
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.mode import no_grad, state
from chainrule.ops.elementwise import add, cast, clamp, div, mul, pow, sub
from chainrule.ops.indexing import masked_fill, scatter, scatter_add
from chainrule.ops.linalg import matmul
from chainrule.ops.movement import index_arrays, index_put
from chainrule.ops.sampling import normal
from chainrule.tensor import Tensor, tensor_method, wrap

# The op each in-place ufunc records when gradients flow.
_RECORDED = {np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div,
             np.power: pow}


def _recording(x, name, *args) -> bool:
    """Whether the in-place op ``name`` on ``x`` with ``args`` must be recorded in the graph."""
    if not state.grad_enabled:
        return False
    if x.requires_grad and x._node is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad (shape {x.shape}) is used in an "
            "in-place operation; do the update under `with cr.no_grad():` (as an optimiser "
            "step does) or use the out-of-place form (x = x - y)"
        )
    return x.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _take(x, name, result) -> Tensor:
    """Write ``result`` (an op on the old value of ``x``) into ``x``, in place."""
    if not np.can_cast(result.dtype, x.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {result.dtype} can't be cast to the desired "
                           f"output type {x.dtype}")
    if result.shape != x.shape:
        raise RuntimeError(f"{name}: the result of shape {result.shape} does not fit the tensor "
                           f"of shape {x.shape} that is updated in place")
    if result.requires_grad and result.dtype != x.dtype:
        result = cast(result, x.dtype)
    x.data[...] = result.data
    x._version += 1
    if result.requires_grad:
        x._node, x.requires_grad = result._node, True
    return x


def update(x, name, op, *args) -> Tensor:
    """``x = op(x, *args)``, in place, with the rules of the module docstring."""
    if _recording(x, name, *args):
        return _take(x, name, op(wrap(x.data.copy(), x._node), *args))
    with no_grad():
        return _take(x, name, op(x, *args))


def _ufunc(x, name, ufunc, other) -> Tensor:
    """``x = ufunc(x, other)`` in place; recorded like the op when gradients flow."""
    if _recording(x, name, other):
        return update(x, name, _RECORDED[ufunc], other)
    value = other.data if isinstance(other, Tensor) else other
    try:
        ufunc(x.data, value, out=x.data, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"{name}: result type {np.result_type(x.data, value)} can't be cast "
                           f"to the desired output type {x.dtype}") from None
    x._version += 1
    return x


def write(x, name, index, value) -> Tensor:
    """``x[index] = value``, in place (recorded as ``index_put`` when gradients flow)."""
    if _recording(x, name, value):
        return update(x, name, lambda t, v: index_put(t, index, v), value)
    x.data[index] = value.data if isinstance(value, Tensor) else value
    x._version += 1
    return x


def iadd(x, other):
    """x += other."""
    return _ufunc(x, "__iadd__", np.add, other)


def isub(x, other):
    """x -= other."""
    return _ufunc(x, "__isub__", np.subtract, other)


def imul(x, other):
    """x *= other."""
    return _ufunc(x, "__imul__", np.multiply, other)


def itruediv(x, other):
    """x /= other (true division)."""
    return _ufunc(x, "__itruediv__", np.true_divide, other)


def ipow(x, other):
    """x **= other."""
    return _ufunc(x, "__ipow__", np.power, other)


def imatmul(x, other):
    """x @= other (the product must keep x's shape)."""
    return update(x, "__imatmul__", matmul, other)


@tensor_method
def add_(x, other, alpha=1):
    """x += alpha * other, in place."""
    return _ufunc(x, "add_", np.add, other if alpha == 1 else other * alpha)


@tensor_method
def sub_(x, other, alpha=1):
    """x -= alpha * other, in place."""
    return _ufunc(x, "sub_", np.subtract, other if alpha == 1 else other * alpha)


@tensor_method
def mul_(x, other):
    """x *= other, in place."""
    return _ufunc(x, "mul_", np.multiply, other)


@tensor_method
def div_(x, other):
    """x /= other, in place."""
    return _ufunc(x, "div_", np.true_divide, other)


@tensor_method
def clamp_(x, min=None, max=None):  # noqa: A002 - PyTorch's names
    """x = clamp(x, min, max), in place."""
    return update(x, "clamp_", lambda t: clamp(t, min, max))


@tensor_method
def masked_fill_(x, mask, value):
    """x = masked_fill(x, mask, value), in place."""
    return update(x, "masked_fill_", lambda t, v: masked_fill(t, mask, v), value)


@tensor_method
def scatter_(x, dim, index, src=None, value=None):
    """x = scatter(x, dim, index, src), in place (``value`` for a number)."""
    src = value if src is None else src
    return update(x, "scatter_", lambda t, s: scatter(t, dim, index, s), src)


@tensor_method
def scatter_add_(x, dim, index, src):
    """x = scatter_add(x, dim, index, src), in place."""
    return update(x, "scatter_add_", lambda t, s: scatter_add(t, dim, index, s), src)


@tensor_method
def zero_(x):
    """x = 0, in place."""
    return write(x, "zero_", Ellipsis, 0)


@tensor_method
def fill_(x, value):
    """x = value everywhere, in place."""
    return write(x, "fill_", Ellipsis, value)


@tensor_method
def copy_(x, src):
    """x = src (broadcast to x's shape), in place."""
    return write(x, "copy_", Ellipsis, src)


@tensor_method
def normal_(x, mean=0.0, std=1.0, *, generator=None):
    """x = samples of N(mean, std^2), in place (from the global generator unless given)."""
    sample = normal(float(mean), float(std), x.shape, generator=generator, dtype=x.dtype,
                    device=x.device)
    return write(x, "normal_", Ellipsis, sample)


def setitem(x, index, value) -> None:
    """x[index] = value, in place."""
    write(x, "__setitem__", index_arrays(index), value)


for _name, _op in [("__iadd__", iadd), ("__isub__", isub), ("__imul__", imul),
                   ("__itruediv__", itruediv), ("__ipow__", ipow), ("__imatmul__", imatmul),
                   ("__setitem__", setitem)]:
    tensor_method(_op, _name)

__all__: list = []  # the in-place ops are Tensor methods only
