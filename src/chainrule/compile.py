"""`compile`: trace a training step once, then replay it as straight-line array operations.

In eager mode a training step builds a Tensor and a graph node for every operation, walks the
graph backward and updates the parameters; for given input shapes that work is always the same.
``cr.compile(fn)`` runs ``fn`` once under a tracer (:mod:`chainrule.autograd.trace`) that writes
down each primitive's ``forward``, the engine's backward work on arrays and the optimiser's
calls (seen by the observer of :mod:`chainrule.compile_observer`), as one generated Python
function; later calls run it on the new inputs, with no Tensor, no graph and none of ``fn``'s
Python. PyTorch's ``torch.compile`` has the same name and use:

    >>> @cr.compile
    ... def train_step(x, y):
    ...     opt.zero_grad()
    ...     loss = loss_fn(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> for x, y in loader:
    ...     loss = train_step(x, y)          # the first call traces, the next ones replay

- Parameters, buffers and other tensors made before the call are read at each replay, so their
  updates are seen; the tensors returned are new and carry no graph. ``Optimizer.step`` and
  ``zero_grad``, ``Module.zero_grad``, a scheduler's ``step`` and ``nn.utils.clip_grad_*_``
  are *host calls*, run for real at replay; batch norm's running statistics are updated too.
- ``fn`` is traced again for new shapes, dtypes or ``requires_grad`` of its tensor arguments,
  other values of its other arguments, another grad mode, or a module switched between
  ``train()`` and ``eval()``. Reading a tensor's value (``item``, ``bool``, ``float``, ``int``,
  ``tolist``, ``numpy``) is a *guard*: a replay reading another value (a Python branch going
  the other way) is abandoned before any update and ``fn`` is traced again. Comparisons,
  ``argmax`` and integer casts are replayed as calls.
- ``fn`` runs eagerly, with a warning giving the reason, when it draws random numbers (dropout
  in training mode: a replay would repeat one mask), calls a user-defined ``Function``, uses
  tensor or module hooks, ``create_graph=True`` or in-place changes of its tensors, reads a
  value after ``backward``, uses arrays the library computes with NumPy from its arguments or
  a module's state (batch norm in eval mode), or when anomaly detection is on. The first
  replay of every tape is checked against eager execution, so that work the tracer cannot see
  (NumPy on ``.data``) makes ``fn`` run eagerly instead of being replayed wrongly.
- Other Python side effects of ``fn`` (printing, appending to a list) happen only when tracing.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from chainrule.autograd.mode import state
from chainrule.autograd.tape_code import GuardFailed
from chainrule.compile_observer import trace_call
from chainrule.tensor import ARRAY_TYPES, Tensor


def compile(model=None, *, fullgraph: bool = False, disable: bool = False,  # noqa: A001
            cache_size: int = 8, check: bool = True):
    """Compile a function of tensors (a training step) into replays of its array work.

    PyTorch's name and first arguments; ``cr.compile`` also works as a decorator, with or
    without arguments.

    Args:
        model: the function (or module) to compile.
        fullgraph: raise a RuntimeError where ``model`` would run eagerly instead.
        disable: return ``model`` itself.
        cache_size: the most tapes traced for ``model`` (shapes, modes, branches) before it
            runs eagerly for good.
        check: run the first replay of each tape against eager execution (parameters,
            gradients, optimiser state, results) and run eagerly for good if they differ.

    Returns:
        A :class:`CompiledFunction`, called like ``model``.
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, disable=disable,
                                 cache_size=cache_size, check=check)
    return model if disable else CompiledFunction(model, cache_size, check, fullgraph)


class CompiledFunction:
    """``fn`` and its tapes, keyed by its arguments' shapes (see the module docstring).

    Attributes:
        fn: the function compiled.
        cache: ``{key: [tapes, most recently used first]}``.
        traces: how many times ``fn`` was traced.
        disabled: why ``fn`` now always runs eagerly, or None.
    """

    def __init__(self, fn, cache_size: int = 8, check: bool = True, fullgraph: bool = False):
        functools.update_wrapper(self, fn, updated=())
        self.fn, self.cache_size, self.check, self.fullgraph = fn, cache_size, check, fullgraph
        self.cache, self.traces, self.disabled, self._warned = {}, 0, None, set()

    def __get__(self, instance, owner=None):
        """As a method decorator: the instance becomes the first argument."""
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args, **kwargs):
        if self.disabled is not None or state.tracer is not None or state.anomaly:
            if state.anomaly:
                self._warn("anomaly detection is on")
            return self.fn(*args, **kwargs)
        leaves, key = (args, _tensors_key(args)) if not kwargs else (None, None)
        if key is None:
            leaves, key = _flatten(args, kwargs)
        tapes = self.cache.setdefault((key, state.grad_enabled), [])
        for tape in tapes:
            if not tape.matches():
                continue
            if tape.reason is not None:
                return self.fn(*args, **kwargs)
            try:
                result = tape.replay(leaves) if tape.verified or not self.check else \
                    self._verify(tape, leaves, args, kwargs)
            except GuardFailed:
                continue
            tape.verified = True
            if tape is not tapes[0]:
                tapes.remove(tape)
                tapes.insert(0, tape)
            return result
        if self.traces >= self.cache_size:
            self.disabled = f"it was traced {self.traces} times (cache_size): shapes, modes " \
                            "or values read keep changing"
            self._warn(self.disabled)
            return self.fn(*args, **kwargs)
        self.traces += 1
        result, tape = trace_call(self.fn, args, kwargs, leaves)
        if tape.reason is not None:
            self._warn(tape.reason)
        tapes.insert(0, tape)
        return result

    def _warn(self, reason: str, stacklevel: int = 3) -> None:
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        if self.fullgraph:
            raise RuntimeError(f"compile(fullgraph=True): {name} cannot be replayed: {reason}")
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"compile: {name} runs eagerly: {reason}", RuntimeWarning,
                          stacklevel=stacklevel)

    def _verify(self, tape, leaves, args, kwargs):
        """Replay, then run ``fn`` eagerly from the same state; keep the tape if they agree."""
        tensors = [*tape.tensors, *(x for x in leaves if isinstance(x, Tensor)),
                   *(p for o in tape.owners for g in getattr(o, "param_groups", ())
                     for p in g["params"]),
                   *(t for m, _ in tape.modules for t in [*m._parameters.values(),
                                                          *m._buffers.values()])]
        tensors = list({id(t): t for t in tensors if t is not None}.values())
        before = _snapshot(tensors, tape.owners)
        try:
            replayed = tape.replay(leaves)
        except GuardFailed:
            _restore(before)
            raise
        except Exception as err:
            _restore(before)
            self.disabled = f"its replay failed ({type(err).__name__}: {err})"
            self._warn(self.disabled, stacklevel=4)
            return self.fn(*args, **kwargs)
        replayed = _snapshot(tensors, tape.owners, replayed)
        _restore(before)
        result = self.fn(*args, **kwargs)
        difference = _difference(replayed, _snapshot(tensors, tape.owners, result))
        if difference is not None:
            self.disabled = (f"its replay differs from eager execution in {difference}; work "
                             "outside chainrule's operations (NumPy on .data) is not traced")
            self._warn(self.disabled, stacklevel=4)
        return result


def _tensors_key(args):
    """The key of arguments that are all Tensors (the common case, quickly), else None."""
    key = []
    for a in args:
        if type(a) is not Tensor:
            return None
        key.append((a.data.shape, a.data.dtype, a.requires_grad))
    return tuple(key), None


def _flatten(args, kwargs):
    """The Tensors and arrays in ``(args, kwargs)``, and a hashable key of everything else."""
    leaves = []

    def visit(x):
        if isinstance(x, (Tensor, *ARRAY_TYPES)):
            leaves.append(x)
            return (x.data.shape, x.data.dtype, x.requires_grad) if isinstance(x, Tensor) \
                else (x.shape, x.dtype)
        if type(x) in (tuple, list, dict):
            items = x.items() if type(x) is dict else enumerate(x)
            return type(x), tuple((k, visit(v)) for k, v in items)
        try:
            hash(x)
        except TypeError:
            return "id", id(x)
        return type(x), x

    return leaves, (tuple(visit(a) for a in args), visit(kwargs) if kwargs else None)


# ---- checking a replay against eager execution ----------------------------------------------
def _copy(value):
    """A copy of the arrays in dicts, lists and tuples; other objects are kept."""
    if isinstance(value, ARRAY_TYPES):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_copy(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def _snapshot(tensors, owners, result=None) -> list:
    """Labelled records of what a call may change: tensors (their data, version and gradient),
    the host calls' owners (optimiser and scheduler state), and the result."""
    records = [(f"a tensor of shape {t.shape}", (t, t.data, t.data.copy(), t._version, t.grad,
                None if t.grad is None else (t.grad.data, t.grad.data.copy())))
               for t in tensors]
    records += [(f"the state of a {type(o).__name__}", (o, _copy(vars(o)))) for o in owners]
    return records + [("the result", _copy(_arrays(result)))]


def _arrays(x):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple, dict)):
        return {k: _arrays(v) for k, v in (x.items() if isinstance(x, dict) else enumerate(x))}
    return x


def _restore(snapshot) -> None:
    for label, record in snapshot[:-1]:
        if not label.startswith("a tensor"):  # an owner
            vars(record[0]).clear()
            vars(record[0]).update(_copy(record[1]))
            continue
        t, data, copy, version, grad, grad_arrays = record
        t.data, t._version, t.grad = data, version, grad
        data[...] = copy
        if grad is not None:
            grad.data = grad_arrays[0]
            grad.data[...] = grad_arrays[1]


def _difference(a, b):
    """The label of the first record that differs between two snapshots, or None."""

    def same(x, y) -> bool:
        if isinstance(x, ARRAY_TYPES) or isinstance(y, ARRAY_TYPES):
            return isinstance(x, ARRAY_TYPES) and isinstance(y, ARRAY_TYPES) and \
                x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
        if isinstance(x, dict) and isinstance(y, dict):
            return len(x) == len(y) and all(k in y and same(v, y[k]) for k, v in x.items())
        if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
            return len(x) == len(y) and all(same(u, v) for u, v in zip(x, y))
        if isinstance(x, Tensor) or isinstance(y, Tensor):
            return x is y
        return bool(x == y) or (x != x and y != y)  # NaN equals NaN here

    for (label, x), (_, y) in zip(a, b):
        if label.startswith("a tensor"):  # the copies of its data and gradient
            x, y = (x[2], x[5] and x[5][1]), (y[2], y[5] and y[5][1])
        elif label != "the result":  # an owner's state
            x, y = x[1], y[1]
        if not same(x, y):
            return label
    return None
