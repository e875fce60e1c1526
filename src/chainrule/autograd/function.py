"""`Function`: one node of the computational graph, a forward and its backward.

A Function's ``forward(ctx, *args)`` works on raw arrays (Tensor arguments arrive as their
``.data``; other arguments such as axes or shapes arrive unchanged) and returns one array.
``backward(ctx, grad_output)`` returns one gradient per argument (``None`` where there is none).

Built-in operations set ``formula_backward = True``: their backward formulas are written only with
operators and the functions of :mod:`chainrule.ops.formula`, so the same formula runs on raw arrays
when no graph is wanted (fast) and on Tensors when ``create_graph=True`` (so second derivatives come
from the same code). User-defined Functions keep the default ``False`` and always receive Tensors
in backward, as in PyTorch.

Example:
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

from chainrule.autograd.mode import state
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


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    formula_backward = False

    # Defaults shared by all nodes (set per node only when they differ).
    _saved = ()
    _out_ref = None
    _out_version = 0
    _retained = None
    _tensor_mode = False

    # Set on each node by apply(): the parent Tensors (None for non-Tensor arguments), which of
    # them need a gradient, and what forward saved for backward.
    parents: tuple
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
        needs = []
        versions = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                parents.append(a)
                versions.append(a._version)
                if a.requires_grad:
                    needs.append(True)
                    record = True
                else:
                    needs.append(False)
            else:
                arrays.append(a)
                parents.append(None)
                versions.append(0)
                needs.append(False)
        ctx = cls.__new__(cls)
        ctx.needs_input_grad = needs
        try:
            out = cls.forward(ctx, *arrays)
        except (ValueError, IndexError) as err:
            shapes = [a.shape for a in arrays if hasattr(a, "shape")]
            raise type(err)(f"{cls.__name__.lower()}: {err} (input shapes {shapes})") from err
        if type(out) is not np.ndarray and not isinstance(out, ARRAY_TYPES):
            raw, out = out, np.asarray(out)  # NumPy returns scalars for 0-d results
            ctx._saved = tuple(out if s is raw else s for s in ctx._saved)
        if state.anomaly:
            from chainrule.autograd.anomaly import check_forward

            check_forward(cls.__name__, out)
        shared = _viewed_versions(out, parents) if out.base is not None else None
        if not (record and state.grad_enabled):
            return wrap(out, versions=shared)
        ctx.parents = parents
        ctx._versions = versions
        result = wrap(out, ctx, shared)
        for s in ctx._saved:
            if s is out:
                ctx._out_ref = weakref.ref(result)
                ctx._out_version = result._version
                break
        return result

    # ---------------------------------------------------------------------------------------
    def save_for_backward(self, *arrays) -> None:
        """Keep arrays (inputs, the output or intermediates) for backward."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved: raw arrays in fast backward, Tensors when building a graph.

        In Tensor mode a saved input is the input Tensor itself and a saved output is the output
        Tensor, so formulas using them are differentiable; other saved arrays are constants.
        """
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time "
                "(its saved values were freed after the first backward); call "
                ".backward(retain_graph=True) the first time if you need to"
            )
        self._check_versions()
        if not self._tensor_mode:
            return saved
        return tuple(self._as_tensor(s) for s in saved)

    def _as_tensor(self, array):
        for p in self.parents:
            if p is not None and p.data is array:
                return p
        ref = self._out_ref
        if ref is not None:
            out = ref()
            if out is not None and out.data is array:
                return out
        return array if not isinstance(array, ARRAY_TYPES) else wrap(array)

    def _check_versions(self) -> None:
        saved = self._saved
        for p, v in zip(self.parents, self._versions):
            if p is not None and p._version != v and any(s is p.data for s in saved):
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

    @property
    def name(self) -> str:
        """The operation's name, as shown in errors and graph drawings."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"
