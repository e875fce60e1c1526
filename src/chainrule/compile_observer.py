"""The observer of :func:`chainrule.compile`: what a traced call does that no primitive reports.

:func:`trace_call` runs a function under a :class:`~chainrule.autograd.trace.Tracer`, with an
:class:`Observer` installed by ``sys.setprofile`` and chainrule's random generator replaced by a
:class:`WatchedGenerator`. The observer's ``watch`` table maps code objects to handlers, which
tell the tracer about:

- host calls, run for real at replay: an optimiser's ``step`` and ``zero_grad``, a scheduler's
  ``step``, ``Module.zero_grad``, ``nn.utils.clip_grad_*_``, and functions making a tensor
  without a graph from tensor values (comparisons, ``argmax``, integer casts);
- values read from a tensor (``item``, ``bool``, ``tolist``, ``numpy``, ...), which become guards;
- functions whose result's size depends on tensor values (``nonzero``, ``unique``), which make
  the call not replayable;
- the modules called (their training mode keys the tape; their hooks make it not replayable);
- batch norm's update of its running statistics in training, replayed as an effect;
- tensors made by ``wrap`` outside a primitive from the values of tensors the tracer knows,
  which are *opaque*: a tape using them cannot be replayed.

A draw from the random generator makes the call not replayable, since a replay would repeat it.
"""

from __future__ import annotations

import inspect
import sys

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Function
from chainrule.autograd.mode import state
from chainrule.autograd.trace import Tracer
from chainrule.tensor import ARRAY_TYPES, Tensor, wrap

_SHAPE_ONLY = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "full_like",
               "empty_like", "arange", "linspace", "eye"}
_APPLY = Function.apply.__func__.__code__


def trace_call(fn, args, kwargs, leaves):
    """Call ``fn`` under a tracer, its observer and a watched generator.

    Args:
        fn: the function traced, called as ``fn(*args, **kwargs)``.
        args, kwargs: its arguments.
        leaves: the Tensors and arrays among them, bound afresh at each replay.

    Returns:
        ``(result, tape)``: what ``fn`` returned, and its :class:`~chainrule.autograd.trace.Tape`
        (whose ``reason`` says why it cannot be replayed, if it cannot).
    """
    tracer = Tracer(leaves)
    observer, previous, generator = Observer(tracer), sys.getprofile(), backend._generator
    backend._generator = watched = WatchedGenerator(generator, tracer)
    state.tracer = tracer
    sys.setprofile(observer)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
        state.tracer = None
        if backend._generator is watched:  # (unless fn seeded a new one)
            backend._generator = generator
    return result, tracer.finish(result)


class WatchedGenerator:
    """Stands for chainrule's random generator while tracing: a draw (dropout's mask, randn)
    makes the call not replayable, since a replay would repeat the same numbers."""

    def __init__(self, generator, tracer):
        self._generator, self._tracer = generator, tracer

    def __getattr__(self, name):
        value = getattr(self._generator, name)
        if callable(value) and not self._tracer.depth:
            self._tracer.reject("it draws random numbers (dropout in training mode, randn, "
                                "...), which a replay would repeat")
        return value


class Observer:
    """Watches the Python calls of a function being traced (``sys.setprofile``): it sees what
    no primitive reports. ``watch`` maps code objects to handlers ``handler(observer, frame)``,
    which may ask for a callback when that frame returns (:meth:`on_return`)."""

    def __init__(self, tracer):
        self.tracer, self.watch = tracer, _watch_table()
        self.returns, self.norms, self.reading = [], [], False

    def __call__(self, frame, event, arg):
        try:
            if event == "call":
                handler = self.watch.get(frame.f_code)
                if handler is not None:
                    handler(self, frame)
            elif event == "return" and self.returns and self.returns[-1][0] is frame:
                self.returns.pop()[1](arg)
        except Exception as err:  # pragma: no cover - the observer must never break fn
            self.tracer.reject(f"the tracer failed ({type(err).__name__}: {err})")

    def on_return(self, frame, fn) -> None:
        self.returns.append((frame, fn))


def _host(idempotent: bool, owner: bool = True, test=None):
    """A handler for calls run for real at replay: an optimiser's step (its ``owner``'s state
    is checked by the first replay), or a function making a tensor without a graph from tensor
    values (a comparison: ``idempotent``), when ``test(locals)`` holds."""

    def handler(obs, frame):
        tracer = obs.tracer
        if tracer.depth or tracer.in_backward or (test is not None and not test(frame.f_locals)):
            return
        func, args, kwargs = _call_of(frame)
        if func is None or kwargs.get("closure") is not None:
            return tracer.reject(f"it calls {frame.f_code.co_name} with a closure")
        tracer.check_versions()
        specs = [tracer.host_arg(a) for a in args], {k: tracer.host_arg(v)
                                                       for k, v in kwargs.items()}
        tracer.depth += 1

        def done(result):
            tracer.depth -= 1
            if owner and not hasattr(args[0], "_parameters"):  # not a Module
                tracer.owners[id(args[0])] = args[0]
            tracer.host_call(func, *specs, idempotent, result)

        obs.on_return(frame, done)

    return handler


def _refused(reason):
    """A handler making the traced call not replayable, for ``reason``."""

    def handler(obs, frame):
        if not (obs.tracer.depth or obs.tracer.in_backward):
            obs.tracer.reject(reason)

    return handler


def _read(name, read):
    """A handler making a value read from a tensor a guard."""
    read.__name__ = name

    def handler(obs, frame):
        tracer = obs.tracer
        if tracer.depth or tracer.in_backward or obs.reading:
            return
        obs.reading, tensor = True, frame.f_locals["self"]

        def done(value):
            obs.reading = False
            if value is not None:  # (None: an exception)
                tracer.guard(tensor, read, np.array(value) if name == "numpy" else value)

        obs.on_return(frame, done)

    return handler


def _module_call(obs, frame):
    module = frame.f_locals["self"]
    if not obs.tracer.depth:
        obs.tracer.modules.setdefault(id(module), (module, module.training))
        if (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or module._backward_pre_hooks):
            obs.tracer.reject(f"the module {type(module).__name__} has hooks")


def _norm_module(obs, frame):
    obs.norms.append(frame.f_locals["self"])
    obs.on_return(frame, lambda _: obs.norms.pop())


def _batch_norm(obs, frame):
    """At ``batch_norm``'s return in training: its update of the running statistics, as an
    effect waiting until the first update of the tape (guards may come before it)."""
    tracer, module = obs.tracer, obs.norms[-1] if obs.norms else None

    def done(result):
        loc = frame.f_locals
        mean, var = loc["running_mean"], loc["running_var"]
        if tracer.depth or result is None or not loc["training"] or mean is var is None:
            return
        slots = [tracer.known.get(id(loc[k].data)) for k in ("mean", "var")]
        if None in slots:
            return tracer.reject("batch norm's statistics were not traced")
        counter = module.num_batches_tracked if module is not None and module.training \
            and module.track_running_stats else None
        live = counter is not None and module.momentum is None
        tracer.defer(("call", _running_stats(mean, var, loc["momentum"], loc["n"], loc["c"],
                                             counter, live), slots))
        tracer.rebase_versions([mean, var])

    obs.on_return(frame, done)


def _running_stats(mean, var, momentum, n, c, counter, live):
    """The update ``batch_norm`` makes in training, from the replayed batch statistics."""

    # NOTE: the expressions of nn.functional_norm.batch_norm (and of BatchNormBase.forward for the
    # counter), for the same rounding; the first replay checks them against eager execution.
    def update(batch_mean, batch_var):
        factor = momentum
        if counter is not None:
            counter.data += 1
            if live:  # momentum=None: the cumulative average
                factor = 1.0 / float(counter.data)
        if mean is not None:
            mean.data[...] = (1 - factor) * mean.data + factor * batch_mean.reshape(c)
            mean._version += 1
        if var is not None:
            var.data[...] = (1 - factor) * var.data + \
                factor * batch_var.reshape(c) * (n / (n - 1))
            var._version += 1

    return update


def _made(obs, frame):
    """``wrap`` called outside a primitive. A tensor made by a function that holds arguments,
    captured tensors or modules' parameters and buffers may hold their values (batch norm's
    statistics in eval mode, a mask made from an argument): it is opaque. Other arrays
    (shape-only masks, zeros) are constants; the first replay's check catches what this misses."""
    tracer, caller = obs.tracer, frame.f_back
    if tracer.depth or tracer.in_backward or caller is None or caller.f_code is _APPLY:
        return
    array = frame.f_locals.get("array")
    if array is None or id(array) in tracer.known:
        return
    while caller is not None and caller.f_globals.get("__name__") == "chainrule.creation":
        if caller.f_code.co_name in _SHAPE_ONLY:
            return
        caller = caller.f_back
    if caller is None:
        return
    state_ids = {id(t) for m, _ in tracer.modules.values()
                 for t in (*m._parameters.values(), *m._buffers.values())}
    if any(id(v) in state_ids or tracer.known.get(id(getattr(v, "data", v))) in tracer.external
           for v in caller.f_locals.values() if isinstance(v, (Tensor, *ARRAY_TYPES))):
        tracer.opaque[id(array)] = f"{caller.f_code.co_name} ({caller.f_code.co_filename})"
        tracer.keep.append(array)


def _watch_table() -> dict:
    """The code objects the observer watches: ``{code: handler(observer, frame)}``."""
    from chainrule.nn import functional, functional_norm, module, utils
    from chainrule.nn.layers.normalization import BatchNormBase
    from chainrule.ops import compare, elementwise, reduce, selection, sorting, unary
    from chainrule.optim.lr_scheduler import LRScheduler
    from chainrule.optim.optimizer import Optimizer

    table = {}
    for base, names in ((Optimizer, ("step", "zero_grad")), (LRScheduler, ("step",)),
                        (module.Module, ("zero_grad",))):
        stack = [base]
        while stack:
            cls = stack.pop()
            stack += cls.__subclasses__()
            table.update((vars(cls)[name].__code__, _host(name == "zero_grad"))
                         for name in names if name in vars(cls))
    for fn in (utils.clip_grad_norm_, utils.clip_grad_value_):
        table[fn.__code__] = _host(False, owner=False)
    pure = [getattr(compare, name) for name in compare.__all__ if name not in ("allclose",
                                                                               "equal")]
    for fn in (*pure, reduce.argmax, reduce.argmin, sorting.argsort, selection.count_nonzero,
               unary.sign, functional.one_hot):
        table[fn.__code__] = _host(True, owner=False)
    for fn in (selection.nonzero, selection.unique):
        table[fn.__code__] = _refused(f"it calls {fn.__name__}, whose result's size depends on "
                                      "tensor values")
    table[elementwise.cast.__code__] = _host(True, False, lambda loc: np.dtype(
        loc["dtype"]).kind not in "fc")
    table[reduce.sum.__code__] = _host(True, False, lambda loc: loc["x"].dtype.kind in "biu")
    reads = {"item": lambda a: a.item(), "__bool__": lambda a: bool(a.item()),
             "__float__": lambda a: float(a.item()), "__int__": lambda a: int(a.item()),
             "tolist": lambda a: a.tolist(), "numpy": lambda a: np.asarray(a),
             "__array__": lambda a: np.asarray(a)}
    for name, read in reads.items():
        table[getattr(Tensor, name).__code__] = _read(name, read)
    table[module.Module.__call__.__code__] = _module_call
    table[BatchNormBase.forward.__code__] = _norm_module
    table[functional_norm.batch_norm.__code__] = _batch_norm
    table[wrap.__code__] = _made
    return table


def _call_of(frame):
    """``(function, args, kwargs)`` of the call that ``frame`` starts, from its locals."""
    code, loc = frame.f_code, frame.f_locals
    names, n, k = code.co_varnames, code.co_argcount, code.co_kwonlyargcount
    args, kwargs = [loc[x] for x in names[:n]], {x: loc[x] for x in names[n:n + k]}
    star = bool(code.co_flags & inspect.CO_VARARGS)
    if star:
        args += list(loc[names[n + k]])
    if code.co_flags & inspect.CO_VARKEYWORDS:
        kwargs.update(loc[names[n + k + star]])
    for cls in type(args[0] if args else None).__mro__:  # a method, maybe overridden
        if getattr(vars(cls).get(code.co_name), "__code__", None) is code:
            return vars(cls)[code.co_name], args, kwargs
    fn = frame.f_globals.get(code.co_name)
    return (fn if getattr(fn, "__code__", None) is code else None), args, kwargs
