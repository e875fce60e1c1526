"""The formula namespace: one formula, two execution modes.

A built-in op's backward (see :class:`chainrule.autograd.Primitive`) is written with operators
(``+ - * / ** @``, which arrays and Tensors both have) and with the functions of this namespace.
Each of them is an op paired with its array twin, declared once where the op is defined::

    @formula(np.exp)
    def exp(x):
        return Exp.apply(x)

registers ``formula.exp``: on arrays it calls ``np.exp`` (the fast backward, no graph), and as
soon as one argument is a Tensor it calls the op (a backward with ``create_graph=True``, whose
graph gives second derivatives). This is the only place where arrays and Tensors are told apart;
backward formulas never test types. The functions are registered when their op module is
imported (``chainrule.ops`` imports them all), and looked up when a backward runs.
"""

from __future__ import annotations

import functools

from chainrule.autograd.engine import grad
from chainrule.tensor import Tensor


def formula(array_fn):
    """Pair the decorated op with ``array_fn`` and register the pair under the op's name.

    Args:
        array_fn: the same function on raw arrays, with the same arguments.

    Returns:
        A decorator that registers ``formula.<name>`` and returns the op unchanged.
    """

    def register(op):
        @functools.wraps(op)
        def either(*args, **kwargs):
            for a in args:
                if isinstance(a, Tensor):
                    return op(*args, **kwargs)
            return array_fn(*args, **kwargs)

        globals()[op.__name__] = either
        return op

    return register


def derived_vjp(fn, grad_output, inputs, needs):
    """The vector-Jacobian product of ``fn(*inputs)`` with ``grad_output``, on Tensors.

    The Tensor twin of a fused op's backward: ``fn`` is the op written as a composition, which
    is recomputed on the inputs and differentiated with ``create_graph=True`` (running only the
    recomputed part, as ``grad`` stops at its inputs), so the result is a graph of the
    composition's own operations, differentiable again. Returns one gradient per input (None
    where ``needs`` is False).
    """
    wanted = [x for x, need in zip(inputs, needs) if need]
    found = iter(grad(fn(*inputs), wanted, grad_output, create_graph=True, allow_unused=True))
    return tuple(next(found) if need else None for need in needs[:len(inputs)])


def sum_to_array(x, shape):
    """Sum ``x`` over the axes that broadcasting added or stretched, giving ``shape``.

    The adjoint of broadcasting: leading axes are summed away, and axes of size 1 in ``shape``
    that ``x`` stretched are summed with keepdims.
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot reduce shape {x.shape} to {shape}")
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and x.shape[i + lead] != 1:
            axes.append(i + lead)
        elif s != x.shape[i + lead]:
            raise ValueError(f"sum_to: cannot reduce shape {x.shape} to {shape}")
    y = x.sum(axis=tuple(axes), keepdims=True) if axes else x
    return y.reshape(shape) if lead else y
