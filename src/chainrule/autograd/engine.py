"""The reverse-mode engine: ``grad`` is the core, ``Tensor.backward`` a wrapper around it.

The chain rule dy/dx_i = sum_k dy/du_k du_k/dx_i is applied node by node in reverse
topological order. The order is found iteratively (no recursion: an unrolled RNN or a
10,000-operation chain is deep). Gradients of a node's several consumers are summed before the
node runs. Every gradient must have its input's shape (an op whose inputs broadcast reduces its
gradients itself, see ``ops.broadcast.Broadcasting``); one that does not is an error naming the
op and both shapes. A gradient of another floating dtype is converted to the input's.

The engine is the one place that chooses how a node's backward runs: a built-in ``Primitive``
runs its formula on raw arrays when no graph is wanted (fast), and on Tensors with
``create_graph=True``, recording a graph of the backward pass itself, so that gradients of
gradients (Hessian-vector products) come from the same formulas. A user-defined ``Function``
always runs on Tensors, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.anomaly import check_backward
from chainrule.autograd.function import Primitive, input_key
from chainrule.autograd.mode import set_grad_enabled, state
from chainrule.tensor import ARRAY_TYPES, Tensor, wrap

_GRADIENT_TYPES = (Tensor, *ARRAY_TYPES)


def _topological_order(roots) -> list:
    """Nodes reachable from ``roots``, each after all nodes that consume it."""
    order = []
    visited = set()
    stack = [(r._node, False) for r in roots if r._node is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        edges = node.edges
        if edges is None:
            raise RuntimeError(
                f"{node.name}: trying to backward through the graph a second time (it was freed "
                "by the first backward); call .backward(retain_graph=True) the first time"
            )
        stack.append((node, True))
        for e in edges:
            if e is not None and e not in visited:
                stack.append((e, False))
    order.reverse()
    return order


def _leading_to(order, wanted) -> set:
    """The nodes of ``order`` through which a gradient reaches one of the ``wanted`` tensors.

    ``grad(outputs, inputs)`` runs only these, as PyTorch does: the graph below the inputs, or
    beside them, is not differentiated.
    """
    needed = set()
    for node in reversed(order):  # producers before their consumers
        for p, e in zip(node.parents, node.edges):
            if p is not None and (input_key(p) in wanted or e in needed):
                needed.add(node)
                break
    return needed


def _conform(grad, tensor, node):
    """Check ``grad`` has ``tensor``'s shape and bring it to ``tensor``'s dtype."""
    if grad.shape != tensor.data.shape:
        raise RuntimeError(
            f"{node.name if node is not None else 'backward'}: backward returned a gradient of "
            f"shape {tuple(grad.shape)} for an input of shape {tensor.shape}"
        )
    if grad.dtype != tensor.data.dtype:
        grad = grad.to(tensor.data.dtype) if isinstance(grad, Tensor) \
            else grad.astype(tensor.data.dtype)
    return grad


def _run(roots, root_grads, retain_graph, create_graph, inputs=None):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``inputs=None`` gradients accumulate into the ``.grad`` of every leaf that requires
    grad (``backward``); otherwise the gradients of ``inputs`` are returned (``grad``) and no
    ``.grad`` is touched.
    """
    wanted = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
    found = [None] * (0 if inputs is None else len(inputs))
    pending = {}
    # Arrays that must not become a leaf's .grad as they are: the caller's gradients, and the
    # .grad already given to another leaf (Add hands the same array to both of its inputs).
    shared = {id(g) for g in root_grads}
    held = {}  # the gradients of leaves with hooks, summed until the end of the pass

    def deliver(tensor, g, node, edge):
        """Pass ``g`` to ``tensor``, made by the node ``edge`` (None for a leaf)."""
        if not isinstance(g, _GRADIENT_TYPES):
            g = np.asarray(g)  # NumPy returns scalars for 0-d results
        if g.shape != tensor.data.shape or g.dtype != tensor.data.dtype:
            g = _conform(g, tensor, node)
        if wanted is not None:
            i = wanted.get(input_key(tensor))
            if i is not None:
                found[i] = g if found[i] is None else found[i] + g
        elif edge is None:
            if tensor._hooks:  # the hooks see the total gradient: accumulate it first
                held[id(tensor)] = (tensor, g if id(tensor) not in held
                                    else held[id(tensor)][1] + g)
            else:
                _accumulate_leaf(tensor, g, create_graph, shared)
            return
        if edge is not None:
            pending[edge] = g if edge not in pending else pending[edge] + g

    # NOTE: while cr.compile traces a function, its tracer is told the roots, what each node
    # returned and the gradients found, and writes the pass down as array instructions.
    tracer = state.tracer
    if tracer is not None:
        tracer.backward_begin(roots, root_grads, create_graph, inputs)
    for r, g in zip(roots, root_grads):
        deliver(r, g, r._node, r._node)
    order = _topological_order(roots)
    needed = None if inputs is None else _leading_to(order, wanted)
    with set_grad_enabled(create_graph):
        for node in order:
            g = pending.pop(node, None)
            if g is None or (needed is not None and node not in needed):
                continue
            if node._hooks:
                g = _hooked(node._hooks, g, create_graph)
            if node._retained is not None and node._retained() is not None:
                _accumulate_retained(node._retained(), g, create_graph)
            grads = _call_backward(node, g, create_graph)
            for p, e, pg in zip(node.parents, node.edges, grads):
                if pg is not None and p is not None and p.requires_grad:
                    deliver(p, pg, node, e)
            if tracer is not None:
                tracer.backward_node(node, grads)
            if not retain_graph:
                node._free()
        for tensor, g in held.values():
            _accumulate_leaf(tensor, _hooked(tensor._hooks, g, create_graph), create_graph)
    if wanted is not None:
        for i, t in enumerate(inputs):
            if t._hooks and t._node is None and found[i] is not None:
                found[i] = _hooked(t._hooks, found[i], create_graph)
    if tracer is not None:
        tracer.backward_end(found)
    return found


def _hooked(hooks, g, create_graph):
    """``g`` passed through the tensor hooks in order (each may return a replacement)."""
    as_tensor = g if isinstance(g, Tensor) else wrap(g)
    for hook in list(hooks):
        out = hook(as_tensor)
        if out is not None:
            as_tensor = out
    return as_tensor if create_graph else as_tensor.data


def _call_backward(node, g, create_graph):
    """Run one node's backward in the right mode and return one gradient per argument."""
    as_tensors = create_graph or not isinstance(node, Primitive)
    if as_tensors and not isinstance(g, Tensor):
        g = wrap(g)
    if state.anomaly:
        try:
            grads = node.vjp(g, as_tensors)
        except FloatingPointError as err:
            raise FloatingPointError(f"anomaly in {node.name}Backward: {err}") from err
    else:
        grads = node.vjp(g, as_tensors)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(node.parents):
        raise RuntimeError(
            f"{node.name}: backward returned {len(grads)} gradients for {len(node.parents)} "
            "inputs"
        )
    if create_graph:
        grads = tuple(wrap(x) if isinstance(x, ARRAY_TYPES) else x for x in grads)
    elif as_tensors:
        grads = tuple(x.data if isinstance(x, Tensor) else x for x in grads)
    if state.anomaly:
        check_backward(node.name, [x.data if isinstance(x, Tensor) else x for x in grads])
    return grads


def _accumulate_leaf(tensor, g, create_graph, shared=()):
    if create_graph:
        tensor.grad = g if tensor.grad is None else tensor.grad + g
        return
    if isinstance(g, Tensor):
        g = g.data
    if tensor.grad is None:
        # NOTE: a view, a read-only broadcast, the caller's array or another leaf's gradient must
        # not become .grad: the user (or an optimiser, or clipping) writes into .grad in place.
        if g.base is not None or id(g) in shared or not g.flags.writeable:
            g = g.copy()
        if shared != ():
            shared.add(id(g))
        tensor.grad = wrap(g)
    else:
        tensor.grad = wrap(_array(tensor.grad.data + g))


def _array(x):
    """``x`` as an array: NumPy gives a scalar for the sum of two 0-d arrays."""
    return x if isinstance(x, ARRAY_TYPES) else np.asarray(x)


def _accumulate_retained(tensor, g, create_graph):
    """Accumulate into the .grad of a non-leaf that asked for it with retain_grad()."""
    if tensor.grad is None:
        tensor.grad = g if isinstance(g, Tensor) else wrap(g.copy())
    elif create_graph:
        tensor.grad = tensor.grad + g
    else:
        tensor.grad = wrap(_array(tensor.grad.data + (g.data if isinstance(g, Tensor) else g)))


def _as_list(x):
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _initial_grads(outputs, grad_outputs, create_graph, who):
    grads = []
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_list(grad_outputs) if not isinstance(grad_outputs, ARRAY_TYPES) \
            else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{who}: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{who}: output {i} is a {type(out).__name__}, not a Tensor")
        if not out.requires_grad:
            raise RuntimeError(
                f"{who}: output {i} (shape {out.shape}) does not require grad and has no "
                "grad_fn; did you compute it under no_grad() or from tensors with "
                "requires_grad=False?"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{who}: grad can be implicitly created only for scalar outputs, but output "
                    f"{i} has shape {out.shape}; pass gradient= of that shape"
                )
            g = np.ones_like(out.data)
        elif isinstance(g, Tensor):
            g = g if create_graph else g.data
        if tuple(g.shape) != out.shape:
            raise RuntimeError(
                f"{who}: gradient of shape {tuple(g.shape)} does not match output {i} of shape "
                f"{out.shape}"
            )
        if create_graph and not isinstance(g, Tensor):
            g = wrap(g)
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into the ``.grad`` of every leaf that requires grad.

    Args:
        tensors: a Tensor or a sequence of Tensors to differentiate.
        grad_tensors: the vector of the vector-Jacobian product, one per tensor; may be
            omitted for scalar outputs (it is then 1).
        retain_graph: keep the graph for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass so that ``.grad`` can itself be differentiated.
        inputs: accumulate only into these tensors' ``.grad``.
    """
    outputs = _as_list(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _initial_grads(outputs, grad_tensors, create_graph, "backward")
    if inputs is None:
        _run(outputs, grads, retain_graph, create_graph)
        return
    inputs = _as_list(inputs)
    if state.tracer is not None:
        state.tracer.reject("backward(inputs=...) (call backward() or autograd.grad())")
    found = _run(outputs, grads, retain_graph, create_graph, inputs)
    for t, g in zip(inputs, found):
        if g is not None:
            _accumulate_leaf(t, g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad``.

    Computes the vector-Jacobian product sum_k v_k d(outputs_k)/d(inputs) with v =
    ``grad_outputs`` (ones for scalar outputs). With ``create_graph=True`` the result is itself
    differentiable: ``grad(grad(f, x, create_graph=True)[0] @ v, x)`` is a Hessian-vector product.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors (leaves or intermediate results).
        grad_outputs: the vector v, one per output; optional for scalar outputs.
        retain_graph: keep the graph for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass for higher-order derivatives.
        allow_unused: return None (instead of raising) for inputs the outputs do not depend on.

    Returns:
        A tuple with one gradient Tensor per input.

    Example:
        >>> x = cr.tensor(3.0, requires_grad=True)
        >>> (dx,) = cr.autograd.grad(x ** 2, x)      # 6.0
    """
    outputs = _as_list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = _as_list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _initial_grads(outputs, grad_outputs, create_graph, "grad")
    found = _run(outputs, grads, retain_graph, create_graph, inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else wrap(g))
    return tuple(result) if not single or len(result) != 1 else (result[0],)
