"""`Function` and `Primitive`: one node of the computational graph, a forward and its backward.

- ``Function`` is the base of user-defined operations, as in PyTorch: ``forward(ctx, *args)``
  receives the Tensors (and other arguments) as they were given, runs without recording a
  graph and returns one Tensor; ``backward(ctx, grad_output)`` receives Tensors and reads what
  forward saved from ``ctx.saved_tensors``.
- ``Primitive`` is the base of chainrule's built-in operations. Its ``forward(ctx, *arrays)``
  works on raw arrays (Tensor arguments arrive as their ``.data``) and returns one array; its
  ``backward(ctx, grad_output, *saved)`` receives what forward saved as arguments and is a
  formula written only with operators and the formula functions of :mod:`chainrule.ops` (each
  one an array function paired with its op). The engine alone chooses how it runs: on raw
  arrays when no graph is wanted (fast), on Tensors when ``create_graph=True``, so second
  derivatives come from the same code.

Example (a user-defined operation):
    >>> class Cube(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         (x,) = ctx.saved_tensors
    ...         return grad_output * 3 * x ** 2
    >>> y = Cube.apply(cr.tensor([2.0], requires_grad=True))
"""

from __future__ import annotations

import weakref

import numpy as np

from chainrule.autograd.anomaly import check_forward
from chainrule.autograd.mode import no_grad, state
from chainrule.tensor import ARRAY_TYPES, Tensor, wrap


def _root(array):
    """The array that owns the memory ``array`` views."""
    while array.base is not None and isinstance(array.base, ARRAY_TYPES):
        array = array.base
    return array


def _viewed_versions(out, parents):
    """The version counter of the input whose memory ``out`` views, or None.

    A view (reshape, transpose, slicing, expand, ...) shares its input's version counter, as in
    PyTorch, so that an in-place change through the view or through the input is detected by
    the graph nodes that saved the other.
    """
    root = _root(out)
    inputs = [p for p in parents if p is not None and isinstance(p.data, ARRAY_TYPES)]
    for p in inputs:
        if _root(p.data) is root:
            return p._versions
    # NOTE: broadcast_to's result has a base of its own that owns no memory: fall back on the
    # bounds of the memory (a cheap test, exact enough for the views that ops return)
    for p in inputs:
        if isinstance(p.data, np.ndarray) and np.may_share_memory(out, p.data):
            return p._versions
    return None


def _sum_to_input(grad, parent):
    """``grad`` summed over the axes that broadcasting ``parent`` would add or stretch."""
    if not isinstance(grad, Tensor) or parent is None or grad.shape == parent.shape:
        return grad
    try:
        return grad.sum_to(parent.shape)
    except ValueError:
        return grad  # not a broadcast of the input's shape: the engine names the op and shapes


# An intermediate input larger than this, which backward does not read, is not kept alive by
# the node that consumed it (see ReleasedInput); smaller ones are kept for graph drawings.
RELEASE_BYTES = 64 * 1024


class ArrayMeta:
    """The shape and dtype of an array that is no longer held (what the engine checks)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)


class ReleasedInput:
    """Stands, in a node's ``parents``, for an intermediate Tensor whose array backward never
    reads: the node keeps its shape, dtype and producer (``grad_fn``), and the Tensor itself
    only weakly, so its memory is returned as soon as the program drops it (as PyTorch does:
    the graph holds what the formulas saved, not every input).
    """

    __slots__ = ("data", "_node", "_ref")
    requires_grad = True
    is_leaf = False
    grad = None
    _hooks = ()

    def __init__(self, tensor):
        self.data = ArrayMeta(tensor.data.shape, tensor.data.dtype)
        self._node = tensor._node
        self._ref = weakref.ref(tensor)

    @property
    def grad_fn(self):
        return self._node

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def tensor(self):
        """The Tensor this stands for while the program still holds it, else None."""
        return self._ref()


def input_key(parent) -> int:
    """The identity of the Tensor a node's parent stands for (``grad(outputs, inputs)``
    matches its ``inputs`` by it)."""
    if type(parent) is ReleasedInput:
        tensor = parent.tensor
        return id(parent) if tensor is None else id(tensor)
    return id(parent)


class Function:
    """Base class of user-defined differentiable operations (see the module docstring)."""

    # Defaults shared by all nodes (set per node only when they differ).
    _saved = ()
    _out_ref = None
    _out_version = 0
    _retained = None
    _hooks = None  # hooks registered on the output tensor (Tensor.register_hook)

    # Set on each node by apply(): the parent Tensors (None for non-Tensor arguments), the nodes
    # that made them (None for leaves), which of them need a gradient, and what forward saved.
    parents: tuple
    edges: list
    needs_input_grad: tuple

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses implement forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses implement backward(ctx, grad_output)")

    # ---------------------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args):
        """Run forward on the arrays of ``args`` and record a graph node when one is needed."""
        arrays = []
        parents = []
        edges = []
        needs = []
        versions = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                parents.append(a)
                edges.append(a._node)
                versions.append(a._versions[0])
                if a.requires_grad:
                    needs.append(True)
                    record = True
                else:
                    needs.append(False)
            else:
                arrays.append(a)
                parents.append(None)
                edges.append(None)
                versions.append(0)
                needs.append(False)
        ctx = cls.__new__(cls)
        ctx.needs_input_grad = needs
        try:
            out = ctx._forward(args, arrays)
        except (ValueError, IndexError) as err:
            shapes = [a.shape for a in arrays if hasattr(a, "shape")]
            raise type(err)(f"{cls.__name__.lower()}: {err} (input shapes {shapes})") from err
        if type(out) is not np.ndarray and not isinstance(out, ARRAY_TYPES):
            raw, out = out, np.asarray(out)  # NumPy returns scalars for 0-d results
            ctx._saved = tuple(out if s is raw else s for s in ctx._saved)
        if state.anomaly:
            check_forward(cls.__name__, out)
        shared = _viewed_versions(out, parents) if out.base is not None else None
        if not (record and state.grad_enabled):
            result = wrap(out, versions=shared)
        else:
            # NOTE: the graph's edges are the nodes that made the inputs when this node was
            # recorded; an input changed in place later gets a new node without rewiring it.
            ctx.edges = edges
            ctx._versions = versions
            result = wrap(out, ctx, shared)
            saved = ctx._saved
            for s in saved:
                if s is out or (isinstance(s, Tensor) and s.data is out):
                    ctx._out_ref = weakref.ref(result)
                    ctx._out_version = result._version
                    break
            for i, e in enumerate(edges):
                if e is not None and arrays[i].nbytes > RELEASE_BYTES and \
                        not any(s is arrays[i] or s is parents[i] for s in saved):
                    parents[i] = ReleasedInput(parents[i])
            ctx.parents = parents
        if state.tracer is not None:  # cr.compile is tracing: it writes this call down
            state.tracer.record_op(ctx, args, result)
        return result

    def _forward(self, args, arrays):
        """Run ``forward`` as PyTorch does for a user-defined Function: on the Tensors
        themselves, recording nothing; the result's array becomes the node's output."""
        with no_grad():
            out = type(self).forward(self, *args)
        return out.data if isinstance(out, Tensor) else out

    # ---------------------------------------------------------------------------------------
    def save_for_backward(self, *arrays) -> None:
        """Keep arrays (inputs, the output or intermediates) for backward."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved, as Tensors.

        A saved input is the input Tensor itself and a saved output is the output Tensor, so
        formulas using them are differentiable; other saved arrays become constant Tensors.
        """
        return tuple(wrap(s) if isinstance(s, ARRAY_TYPES) else s for s in self.unpack(True))

    def unpack(self, as_tensors: bool) -> tuple:
        """What forward saved, after checking it is still there and unchanged.

        With ``as_tensors`` a saved input or output is replaced by its Tensor (so that a formula
        using it records a graph); every other saved value is returned as it was saved.
        """
        saved = self._saved
        if not saved:  # nothing saved, nothing to check (the common case of Add, Reshape, ...)
            if saved is None:
                raise RuntimeError(
                    f"{type(self).__name__}: trying to backward through the graph a second time "
                    "(its saved values were freed after the first backward); call "
                    ".backward(retain_graph=True) the first time if you need to"
                )
            return saved
        self._check_versions()
        if not as_tensors:
            return saved
        return tuple(self._tensor_of(s) for s in saved)

    def _tensor_of(self, value):
        """The input or output Tensor that ``value`` (an array or a Tensor) stands for."""
        array = value.data if isinstance(value, Tensor) else value
        for p in self.parents:
            if p is not None and p.data is array:
                return p
        ref = self._out_ref
        if ref is not None:
            out = ref()
            if out is not None and out.data is array:
                return out
        return value

    def vjp(self, grad_output, as_tensors: bool) -> tuple:
        """The node's vector-Jacobian product: one gradient per argument of forward.

        Called by the engine, which chooses ``as_tensors``; a user-defined Function always
        runs on Tensors. As in PyTorch, a gradient returned in the broadcast shape of an input
        is summed back to that input's shape; any other shape is an error (raised by the engine).
        """
        grads = type(self).backward(self, grad_output)
        if not isinstance(grads, tuple):
            grads = (grads,)
        return tuple(_sum_to_input(g, p) for g, p in zip(grads, self.parents))

    def _check_versions(self) -> None:
        saved = self._saved
        for p, v in zip(self.parents, self._versions):
            if p is not None and type(p) is not ReleasedInput and p._versions[0] != v and \
                    any(s is p.data or s is p for s in saved):
                raise RuntimeError(
                    f"{type(self).__name__}: a tensor of shape {p.shape} saved for backward was "
                    f"modified in place (version {v} -> {p._version}); gradients would be wrong. "
                    "Use an out-of-place operation (e.g. x = x + 1 instead of x.add_(1))"
                )
        ref = self._out_ref
        if ref is not None:
            out = ref()
            if out is not None and out._version != self._out_version:
                raise RuntimeError(
                    f"{type(self).__name__}: its output of shape {out.shape}, saved for backward, "
                    f"was modified in place (version {self._out_version} -> {out._version}); "
                    "gradients would be wrong"
                )

    def _free(self) -> None:
        """Drop what the graph holds so memory is returned after backward."""
        self._saved = None
        self.parents = None
        self.edges = None

    @property
    def name(self) -> str:
        """The operation's name, as shown in errors and graph drawings."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class Primitive(Function):
    """Base class of chainrule's built-in operations: a forward and a backward formula.

    ``forward(ctx, *arrays)`` computes the result on arrays and saves with
    ``ctx.save_for_backward`` what the derivative needs; ``backward(ctx, grad_output, *saved)``
    returns one gradient per argument (``None`` where none is needed, see
    ``ctx.needs_input_grad``). The formula uses operators and the formula functions of
    :mod:`chainrule.ops` only, so it runs unchanged on arrays (no graph, fast) and on Tensors
    (a graph of the backward pass, for second derivatives); the engine chooses which. Saved
    values that are neither an input nor the output (masks, indices) stay arrays: constants.

    Example:
        >>> class Square(Primitive):
        ...     # z = a^2 ; dz/da = 2a
        ...     @staticmethod
        ...     def forward(ctx, a):
        ...         ctx.save_for_backward(a)
        ...         return a * a
        ...     @staticmethod
        ...     def backward(ctx, grad_output, a):
        ...         return 2 * a * grad_output
    """

    def _forward(self, args, arrays):
        return type(self).forward(self, *arrays)

    def vjp(self, grad_output, as_tensors: bool) -> tuple:
        return type(self).backward(self, grad_output, *self.unpack(as_tensors))
