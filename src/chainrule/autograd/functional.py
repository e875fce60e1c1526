"""`chainrule.autograd.functional`: Jacobians, Hessians and their products with vectors.

Each function takes a function ``func`` of Tensors and the point ``inputs`` at which to
differentiate it, and is built on :func:`chainrule.autograd.grad` alone:

- ``vjp``: v^T J, one backward pass;
- ``jvp``: J v by the double-vjp trick, J v = d/du (u^T J)^T v: u^T J is linear in u, so its
  vector-Jacobian product with v (a second backward pass, through the first) is J v;
- ``jacobian``: J row by row, one backward pass per output element (e_k^T J);
- ``vhp``: v^T H = d/dx (grad f . v), the gradient of <grad f, v>;
- ``hvp``: H v, by the double-vjp trick applied to the gradient;
- ``hessian``: the Jacobian of the gradient.

Structures follow PyTorch: a Tensor argument gives a Tensor result, a tuple of Tensors gives a
tuple (the Jacobian of tuple outputs with respect to tuple inputs is a tuple of tuples,
``jac[i][j] = d out_i / d in_j``). Results are detached unless ``create_graph=True``, which
records them for higher derivatives. ``strict=True`` raises when an output does not depend on
an input instead of returning zeros. Each function's docstring has an example.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd.engine import grad
from chainrule.autograd.mode import enable_grad, is_grad_enabled, set_grad_enabled
from chainrule.creation import zeros, zeros_like
from chainrule.ops.movement import stack
from chainrule.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "vhp", "hvp", "hessian"]


# ---- argument handling (PyTorch's rules and messages) -----------------------------------------
def _as_tuple(value, arg_name, fn_name):
    """(whether ``value`` was a tuple, ``value`` as a tuple of Tensors)."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            which = (f"the value at index {i} has type {type(item).__name__}" if is_tuple
                     else f"the given {arg_name} has type {type(item).__name__}")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {which}.")
    return is_tuple, items


def _prepare(tensors, create_graph, need_graph):
    """Fresh tensors to differentiate with respect to: connected to the caller's tensors only
    when ``create_graph`` (so the results can be differentiated further), detached otherwise."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad
                 else t.detach().requires_grad_(need_graph) for t in tensors)


def _finish(tensors, create_graph):
    """Detach results (nested tuples too) unless a graph was asked for."""
    if isinstance(tensors, Tensor):
        return tensors if create_graph else tensors.detach()
    return tuple(_finish(t, create_graph) for t in tensors)


def _unpack(result, was_tuple):
    """Undo the tuple wrapping: one flag, or (outer, inner) flags for nested results."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            result = tuple(r[0] for r in result)
        return result if outer else result[0]
    return result if was_tuple else result[0]


def _check_v(v, like, like_is_tuple):
    """``v`` must have one Tensor of the shape of each of ``like``."""
    if len(v) != len(like):
        if like_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            where = f"Entry {i} in " if like_is_tuple else ""
            raise RuntimeError(f"{where}v has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")


def _vector(v, like, like_is_tuple, fn_name, create_graph):
    """The checked tuple of ``v``; None is allowed only for a single one-element ``like``."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            which = ("the user-provided function returns" if fn_name == "vjp"
                     else "the input to the user-provided function is")
            raise RuntimeError(f"The vector v can only be None if {which} a single Tensor "
                               "with a single element.")
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, like, like_is_tuple)
    return v


# What strict mode refuses, by the check that finds it.
_STRICT = {
    "outputs": "Output {i} of the user-provided function does not require gradients",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the "
                   "user-provided function",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided "
                "function with respect to input {i} is independent of the input",
    "hessian": "The hessian of the user-provided function with respect to input {i} is "
               "independent of the input",
    "back": "The output of the user-provided function is independent of input {i}",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick",
    "double_back": "The jacobian of the user-provided function is independent of input {i}",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian",
}


def _strict_error(kind, i, when=""):
    return RuntimeError(_STRICT[kind].format(i=i) + f". This is not allowed in strict mode{when}.")


def _check_requires_grad(tensors, kind, strict):
    if strict:
        for i, t in enumerate(tensors):
            if t is None or not t.requires_grad:
                raise _strict_error("back" if t is None else kind, i)


def _zeros_for_none(grads, like, strict, create_graph, stage):
    """Replace the None of unused inputs by zeros (or raise in strict mode)."""
    out = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise _strict_error(stage, i)
            g = zeros_like(like[i])
        elif strict and create_graph and not g.requires_grad:
            kind = "double_back" if "double" not in stage else "hessian"
            raise _strict_error(kind, i, " when create_graph=True")
        out.append(g)
    return tuple(out)


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``grad`` over the outputs that require grad; None for every input when none does."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


def _scalar_output(outputs, is_tuple, fn_name):
    if is_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


# ---- products with vectors --------------------------------------------------------------------
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """Vector-Jacobian product v^T J of ``func`` at ``inputs``: one backward pass.

    (v^T J)_j = sum_i v_i d func_i / d x_j.

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors, the point x.
        v: the vector, shaped like the outputs; may be omitted for a one-element output.
        create_graph: record the result's graph for higher derivatives.
        strict: raise when an output does not depend on an input (else zeros).

    Returns:
        ``(func_output, vjp)``, the vjp shaped like ``inputs``.

    Example:
        >>> vjp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))[1]
        tensor([2., 4.])
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _vector(v, outputs, outputs_tuple, "vjp", create_graph)
        result = _grad(outputs, inputs, v, create_graph)
        result = _zeros_for_none(result, inputs, strict, create_graph, "back")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(result, create_graph), inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """Jacobian-vector product J v of ``func`` at ``inputs``, by the double-vjp trick.

    With u a dummy vector shaped like the outputs, g(u) = u^T J is linear in u, so its
    vector-Jacobian product with v is (J v)^T: two backward passes, the second through the
    graph of the first.

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors, the point x.
        v: the direction, shaped like ``inputs``; may be omitted for a one-element input.
        create_graph: record the result's graph for higher derivatives.
        strict: raise when an output does not depend on an input (else zeros).

    Returns:
        ``(func_output, jvp)``, the jvp shaped like the outputs.

    Example:
        >>> jvp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.0]))[1]
        tensor([2., 0.])
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _vector(v, inputs, inputs_tuple, "jvp", create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # NOTE: u's value never enters the result (u^T J is linear in u); zeros are safe.
        dummy = tuple(zeros_like(o).requires_grad_() for o in outputs)
        grad_inputs = _grad(outputs, inputs, dummy, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        result = _grad(grad_inputs, dummy, v, create_graph)
        result = _zeros_for_none(result, outputs, strict, create_graph, "back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(result, create_graph), outputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """Vector-Hessian product v^T H of a scalar ``func`` at ``inputs``.

    v^T H = d/dx <grad f(x), v>: the gradient, recorded, then one more backward pass.

    Args:
        func: a function of Tensors returning a one-element Tensor.
        inputs: a Tensor or a tuple of Tensors, the point x.
        v: the vector, shaped like ``inputs``; may be omitted for a one-element input.
        create_graph: record the result's graph for higher derivatives.
        strict: raise when the Hessian does not depend on an input (else zeros).

    Returns:
        ``(func_output, vhp)``, the vhp shaped like ``inputs``.

    Example:
        >>> vhp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))[1]
        tensor([ 6., 12.])
    """
    outputs, inputs, inputs_tuple, v, jac = _gradient_graph(func, inputs, v, create_graph,
                                                            strict, "vhp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        result = _grad(jac, inputs, v, create_graph)
        result = _zeros_for_none(result, inputs, strict, create_graph, "double_back")
    return (_finish(outputs[0], create_graph),
            _unpack(_finish(result, create_graph), inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """Hessian-vector product H v of a scalar ``func`` at ``inputs``, by the double-vjp trick.

    The gradient's vector-Jacobian product u^T H with a dummy u is linear in u; its own
    vector-Jacobian product with v is (H v)^T. For twice continuously differentiable
    functions H is symmetric and :func:`vhp` gives the same result with one pass less.

    Args:
        func, inputs, v, create_graph, strict: as for :func:`vhp`.

    Returns:
        ``(func_output, hvp)``, the hvp shaped like ``inputs``.

    Example:
        >>> hvp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.0]))[1]
        tensor([6., 0.])
    """
    outputs, inputs, inputs_tuple, v, jac = _gradient_graph(func, inputs, v, create_graph,
                                                            strict, "hvp")
    with enable_grad():
        dummy = tuple(zeros_like(t).requires_grad_() for t in inputs)
        double_back = _grad(jac, inputs, dummy, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        result = _grad(double_back, dummy, v, create_graph)
        result = _zeros_for_none(result, inputs, strict, create_graph, "double_back_trick")
    return (_finish(outputs[0], create_graph),
            _unpack(_finish(result, create_graph), inputs_tuple))


def _gradient_graph(func, inputs, v, create_graph, strict, fn_name):
    """The common start of vhp and hvp: the recorded gradient of a scalar function."""
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _vector(v, inputs, inputs_tuple, fn_name, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", fn_name)
        _check_requires_grad(outputs, "outputs", strict)
        _scalar_output(outputs, outputs_tuple, fn_name)
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    return outputs, inputs, inputs_tuple, v, jac


# ---- full matrices ----------------------------------------------------------------------------
def _check_strategy(strategy, create_graph, vectorize, strict):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f"jacobian: strategy must be 'forward-mode' or 'reverse-mode', got "
                         f"{strategy!r}")
    if strategy == "forward-mode" and (create_graph or not vectorize or strict):
        raise NotImplementedError("jacobian: strategy='forward-mode' needs vectorize=True, "
                                  "create_graph=False and strict=False")
    if vectorize and strict:
        raise RuntimeError("jacobian: `strict=True` and `vectorize=True` are not supported "
                           "together. Please either set `strict=False` or `vectorize=False`.")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian J_ij = d func_i / d x_j of ``func`` at ``inputs``, one row at a time.

    Row k of J is e_k^T J, the vector-Jacobian product with the k-th unit vector: one backward
    pass per output element, through a graph recorded once.

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors, the point x.
        create_graph: record the result's graph for higher derivatives.
        strict: raise when an output does not depend on an input (else zeros).
        vectorize, strategy: accepted for compatibility (the same result is computed row by
            row); PyTorch's rules on their combinations are enforced.

    Returns:
        For a Tensor input and output, a Tensor of shape ``output.shape + input.shape``; a
        tuple over inputs and/or outputs otherwise (``jac[i][j]`` for output i, input j).

    Example:
        >>> jacobian(lambda a, b: a * b, (cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])))
        (tensor([[3., 0.], [0., 4.]]), tensor([[1., 0.], [0., 2.]]))
    """
    _check_strategy(strategy, create_graph, vectorize, strict)
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        result = tuple(_jacobian_rows(i, out, inputs, create_graph, strict)
                       for i, out in enumerate(outputs))
    return _unpack(_finish(result, create_graph), (outputs_tuple, inputs_tuple))


def _jacobian_rows(i, out, inputs, create_graph, strict):
    """d out / d inputs, one Tensor of shape ``out.shape + input.shape`` per input."""
    rows = [[] for _ in inputs]
    xp = backend.namespace(out.data)
    for k in range(out.numel()):
        unit = xp.zeros(out.data.size, dtype=out.data.dtype)
        unit[k] = 1
        grads = _grad((out,), inputs, (unit.reshape(out.shape),), create_graph,
                      retain_graph=True)
        for j, (g, x) in enumerate(zip(grads, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is "
                                       f"independent of input {j}. This is not allowed in "
                                       "strict mode.")
                g = zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                raise _strict_error("double_back", j, " when create_graph=True")
            rows[j].append(g)
    return tuple(stack(r).reshape(out.shape + x.shape) if r else
                 zeros(out.shape + x.shape, dtype=x.dtype) for r, x in zip(rows, inputs))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian H_jk = d^2 func / dx_j dx_k of a scalar ``func`` at ``inputs``.

    The Jacobian of the gradient: the gradient is recorded (``create_graph=True``) and
    :func:`jacobian` differentiates it row by row.

    Args:
        func: a function of Tensors returning a one-element Tensor.
        inputs: a Tensor or a tuple of Tensors, the point x.
        create_graph: record the result's graph for higher derivatives.
        strict: raise when the gradient does not depend on an input (else zeros).
        vectorize, outer_jacobian_strategy: as in :func:`jacobian`.

    Returns:
        For a Tensor input, a Tensor of shape ``input.shape + input.shape``; for a tuple of
        inputs, a tuple of tuples with ``H[j][k]`` of shape ``in_j.shape + in_k.shape``.

    Example:
        >>> hessian(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]))      # diag(6x)
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar_func(*inp):
        out = func(*inp)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outs, "outputs", strict)
        _scalar_output(outs, out_tuple, "hessian")
        return out.reshape(())

    def gradient(*inp):
        jac = jacobian(scalar_func, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack(result, (inputs_tuple, inputs_tuple))
