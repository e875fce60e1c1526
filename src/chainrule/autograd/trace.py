"""The tracer of :func:`chainrule.compile`: one call's array work, written down as code.

While ``state.tracer`` holds a :class:`Tracer`, ``Function.apply`` reports every primitive call
and the engine every backward pass (its roots, what each node returned, the gradients found).
The tracer writes them down as steps on *slots*, one per array, and :class:`Tape` turns the
steps into one generated Python function of straight-line code on local variables:

- forward: a fresh ctx, ``y = cls.forward(ctx, *arrays)`` in the grad mode seen while tracing;
- backward: ``grads = cls.backward(ctx, g, *ctx._saved)`` (the engine's array mode), then what
  the engine's ``deliver`` did, in its order: broadcast gradients reduced, conversions, sums of
  a tensor's several gradients, and the engine's ``_accumulate_leaf`` for every ``.grad``;
- host calls run a method for real (an optimiser's ``step``); guards raise :class:`GuardFailed`
  when a value read while tracing is read differently; effects update state that no primitive
  makes (batch norm's running statistics).

A slot is found from an array's identity: the function's arguments are bound afresh at each
replay; tensors made before the call (parameters, buffers) are *captured*, their ``.data`` read
at the start of each replay; other arrays are constants. Every array seen is kept alive until
the tape is made, so that no identity is reused meanwhile.
"""

from __future__ import annotations

import inspect

import numpy as np

from chainrule.autograd.engine import _accumulate_leaf
from chainrule.autograd.function import Primitive, input_key
from chainrule.autograd.mode import state
from chainrule.tensor import ARRAY_TYPES, Tensor, wrap

_UNSET = object()  # the value of a slot that a step fills
_LARGE = 1 << 16  # bytes: a replay drops arrays this large after their last use, as eager does


class GuardFailed(Exception):
    """A value read while tracing is read differently: the function would take another path."""


class Tracer:
    """Writes down the primitive calls, backward passes and host calls of one call.

    Args:
        leaves: the Tensors and arrays among the function's arguments, bound at each replay.

    Attributes:
        reason: why the call cannot be replayed, or None (see :meth:`reject`).
        depth: above 0 inside a host call, whose work runs for real at replay.
        in_backward: True during a backward pass.
    """

    def __init__(self, leaves):
        self.steps, self.after = [], {}  # after: step index -> guards checked right after it
        self.values = []  # slot -> a constant, a captured Tensor, or _UNSET
        self.bind, self.captured = [], []  # (slot, leaf index, whole leaf?), (slot, tensor)
        self.known, self.opaque = {}, {}  # id(array) -> slot, and -> what made it unseen
        self.made_at, self.sizes = {}, {}  # slot -> the step filling it, the bytes it holds
        self.versions = {}  # id(tensor) -> [tensor, the version it must still have]
        self.objects = {}  # id(tensor) -> the slot of the Tensor itself (for .grad)
        self.external = set()  # the slots of the arguments' and the captured tensors' arrays
        self.arguments = {id(leaf): i for i, leaf in enumerate(leaves)}
        self.modules, self.owners = {}, {}  # id -> (module, training); id -> optimiser...
        self.keep, self.deferred = [], []  # what ids refer to; effects waiting (see defer)
        self.first_effect, self.depth, self.in_backward, self.reason = None, 0, False, None
        for i, leaf in enumerate(leaves):
            whole = not isinstance(leaf, Tensor)
            slot = self.new_slot()
            self.bind.append((slot, i, whole))
            self.external.add(slot)
            self.register(leaf if whole else leaf.data, slot, None if whole else leaf)
            if not whole:
                self.objects[id(leaf)] = self.new_slot()
                self.bind.append((self.objects[id(leaf)], i, True))

    def reject(self, reason: str) -> None:
        """Mark the call as not replayable (the first reason is kept); it goes on eagerly."""
        if self.reason is None:
            self.reason = reason

    # ---- slots ------------------------------------------------------------------------------
    def new_slot(self, value=_UNSET) -> int:
        self.values.append(value)
        return len(self.values) - 1

    def register(self, array, slot, tensor=None) -> None:
        """Make ``slot`` the slot of ``array``, noting the version of its ``tensor``."""
        self.known[id(array)] = slot
        self.sizes[slot] = getattr(array, "nbytes", 0)
        self.keep.append(array)
        if tensor is not None:
            self.versions[id(tensor)] = [tensor, tensor._version]
            self.keep.append(tensor)

    def tensor_slot(self, t) -> int:
        """The slot of a Tensor's array: known, or captured now (read at each replay)."""
        slot = self.known.get(id(t.data))
        if slot is None:
            if id(t.data) in self.opaque:
                self.reject(f"it uses a tensor made by {self.opaque[id(t.data)]} from tensor "
                            "values, outside chainrule's operations; compute it outside")
            slot = self.new_slot(t)
            self.captured.append((slot, t))
            self.external.add(slot)
            self.register(t.data, slot, t)
        elif id(t) not in self.versions:
            self.versions[id(t)] = [t, t._version]
            self.keep.append(t)
        elif self.versions[id(t)][1] != t._version:
            self.reject(f"a tensor of shape {t.shape} is changed in place inside the function")
        return slot

    def arg_slot(self, a) -> int:
        """The slot of one argument of a primitive (a tuple of arrays is packed by a step)."""
        if isinstance(a, Tensor):
            return self.tensor_slot(a)
        if isinstance(a, ARRAY_TYPES):
            if id(a) not in self.known:
                if id(a) in self.opaque:
                    self.reject(f"it uses an array made by {self.opaque[id(a)]}")
                self.register(a, self.new_slot(a))
            return self.known[id(a)]
        if type(a) is tuple and any(isinstance(x, (Tensor, *ARRAY_TYPES)) for x in a):
            return self.emit(("pack", [self.arg_slot(x) for x in a]), 1)[0]  # (rows, cols)
        return self.new_slot(a)

    def object_slot(self, t) -> int:
        """The slot holding the Tensor ``t`` itself (an argument, or else a constant)."""
        if id(t) not in self.objects:
            self.objects[id(t)] = self.new_slot(t)
        return self.objects[id(t)]

    # ---- steps ------------------------------------------------------------------------------
    def emit(self, step, n_out=0, effect=False) -> list:
        """Append ``step + (its new slots,)``. An effect changes state: no guard may follow."""
        if effect:
            self.flush()
        out = [self.new_slot() for _ in range(n_out)]
        self.steps.append((*step, out))
        self.made_at.update((s, len(self.steps) - 1) for s in out)
        if effect and self.first_effect is None:
            self.first_effect = len(self.steps) - 1
        return out

    def defer(self, step) -> None:
        """An effect that waits until just before the first update, so that the guards before
        it can still abandon a replay (batch norm's running statistics)."""
        self.deferred.append(step)

    def flush(self) -> None:
        deferred, self.deferred = self.deferred, []
        for step in deferred:
            self.emit(step, effect=True)

    # ---- what Function.apply and the engine report ------------------------------------------
    def record_op(self, ctx, args, result) -> None:
        """Write down one primitive call: ``result = type(ctx).forward(ctx, *args)``."""
        if self.depth or self.reason is not None:
            return
        cls = type(ctx)
        if not isinstance(ctx, Primitive) or cls._forward is not Primitive._forward:
            return self.reject(f"it calls the user-defined Function {cls.__name__}")
        slots = [self.arg_slot(a) for a in args]
        node = result._node is ctx
        out = self.emit(("fwd", cls, slots, ctx.needs_input_grad, state.grad_enabled), 1 + node)
        self.register(result.data, out[0], result)
        if node:
            self.register(ctx, out[1])
            self.sizes[out[1]] = result.data.nbytes  # about what its saved arrays hold

    def backward_begin(self, roots, root_grads, create_graph, inputs) -> None:
        self.in_backward = True
        if create_graph:
            self.reject("it calls backward(create_graph=True)")
        if self.depth or self.reason is not None:
            return
        self._pending, self._leaves, self._inputs = {}, {}, inputs or ()
        self._wanted = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
        self._found = [None] * len(self._inputs)
        slots = [self.arg_slot(g) for g in root_grads]
        (self._shared,) = self.emit(("shared", slots), 1)
        for r, g, s in zip(roots, root_grads, slots):
            self._deliver(r, g, s, r._node)

    def backward_node(self, node, grads) -> None:
        """Write down one node's backward (the engine has just delivered its gradients)."""
        if self.depth or self.reason is not None:
            return
        g, ctx = self._pending.pop(node, None), self.known.get(id(node))
        if g is None or ctx is None:
            return self.reject("it differentiates a graph recorded before it was called")
        if node._hooks or node._retained is not None:
            return self.reject("a tensor hook or retain_grad() is used")
        cls = type(node)
        reduce = cls.vjp is not Primitive.vjp
        if reduce and not _broadcasting(cls):
            return self.reject(f"the primitive {cls.__name__} has its own vjp")
        index = [i for i, (p, pg) in enumerate(zip(node.parents, grads))
                 if pg is not None and p is not None and p.requires_grad]
        shapes = [node.parents[i].data.shape if reduce else None for i in index]
        out = self.emit(("bwd", cls, ctx, g, index, shapes), len(index))
        for i, o in zip(index, out):
            self._deliver(node.parents[i], grads[i], o, node.edges[i])

    def backward_end(self, found) -> None:
        self.in_backward = False
        if self.depth or self.reason is not None:
            return
        if any(t._hooks for t in self._inputs):
            return self.reject("a tensor hook is used")
        for f, s in zip(found, self._found):
            if isinstance(f, ARRAY_TYPES) and s is not None:
                self.register(f, s)
        for t, s in self._leaves.values():
            if t.grad is not None:
                self.register(t.grad.data, s, t.grad)

    def _deliver(self, tensor, g, slot, edge) -> None:
        """The engine's ``deliver``, written down: conversions, then a sum or a leaf step."""
        if not isinstance(g, ARRAY_TYPES):
            g, (slot,) = np.asarray(g), self.emit(("map", np.asarray, slot), 1)
        if g.dtype != tensor.data.dtype:
            dtype = tensor.data.dtype
            g, (slot,) = g.astype(dtype), self.emit(("map", _astype(dtype), slot), 1)
        if self._wanted is not None:
            i = self._wanted.get(input_key(tensor))
            if i is not None:
                self._found[i] = slot if self._found[i] is None else self._sum(self._found[i], slot)
        elif edge is None:
            if tensor._hooks:
                return self.reject("a tensor hook (register_hook) is used")
            (grad,) = self.emit(("leaf", self.object_slot(tensor), slot, self._shared), 1, True)
            self._leaves[id(tensor)] = (tensor, grad)
            return
        if edge is not None:
            pending = self._pending.get(edge)
            self._pending[edge] = slot if pending is None else self._sum(pending, slot)

    def _sum(self, a, b) -> int:
        return self.emit(("sum", a, b), 1)[0]

    # ---- what the compiled function's observer reports --------------------------------------
    def guard(self, tensor, read, value) -> None:
        """Check at replay that ``read(array of tensor) == value``, right after the step making
        the array (or here, for a captured one), before any update: a failing replay is then
        abandoned and the function traced again."""
        if self.depth or self.in_backward or self.reason is not None:
            return
        slot = self.tensor_slot(tensor)
        at = self.made_at.get(slot, len(self.steps) - 1)
        if self.first_effect is not None and self.first_effect <= at:
            return self.reject(f"it reads a tensor's value ({read.__name__}) after an update "
                               "(backward, an optimiser step); return the tensor, read it outside")
        self.after.setdefault(at, []).append(("guard", slot, read, value, []))

    def host_arg(self, value):
        """How a replay passes an argument of a host call: ``(kind, value)``.

        The function's own Tensor argument is passed ("slot"), a Tensor made in the trace as a
        new Tensor around its replayed array ("wrap"), an unstarted generator method
        (``model.parameters()``) is called again ("call"); anything else as it was.
        """
        if isinstance(value, Tensor):
            if id(value) in self.arguments and id(value) in self.objects:
                return "slot", self.objects[id(value)]
            if self.known.get(id(value.data)) in self.made_at:
                return "wrap", self.known[id(value.data)]
        elif inspect.isgenerator(value):
            again = _restartable(value)
            if again is None:
                self.reject("a host call gets an iterator, which a replay cannot repeat")
            return "call", again
        return "const", value

    def host_call(self, func, args, kwargs, idempotent, result) -> None:
        """Write down ``func(*args, **kwargs)`` (arguments from :meth:`host_arg`), called for
        real at replay; a returned Tensor's array gets a slot."""
        tensor = isinstance(result, Tensor)
        out = self.emit(("host", func, args, kwargs), tensor, effect=not idempotent)
        if tensor:
            self.register(result.data, out[0], result)
        self.rebase_versions()

    def check_versions(self) -> None:
        """Reject if a tensor seen so far was changed in place since."""
        for t, version in self.versions.values():
            if t._version != version:
                self.reject(f"a tensor of shape {t.shape} is changed in place inside the "
                            "function, outside its operations")

    def rebase_versions(self, tensors=None) -> None:
        """Accept the versions of now: a host call or an effect changed them knowingly."""
        for entry in self.versions.values():
            if tensors is None or any(entry[0] is t for t in tensors):
                entry[1] = entry[0]._version

    def finish(self, result) -> Tape:
        """The :class:`Tape` of the call, returning ``result`` rebuilt from a replay."""
        self.check_versions()
        self.flush()
        steps = list(self.after.get(-1, ()))
        for i, step in enumerate(self.steps):
            steps += [step, *self.after.get(i, ())]
        return Tape(self, steps, result)


class Tape:
    """A traced call: ``replay(leaves)`` runs its generated code (see the module docstring).

    Attributes:
        reason: why the call cannot be replayed, or None.
        modules: ``(module, training)`` of the modules called; the tape holds only while each
            is in that mode (:meth:`matches`).
        owners: the objects of the host calls (optimisers, schedulers).
        tensors: the tensors a replay may change (captured ones, leaves given a ``.grad``).
        source: the generated code. verified: True once a replay was run (and checked).
    """

    def __init__(self, tracer, steps, result):
        self.modules = list(tracer.modules.values())
        self.owners = list(tracer.owners.values())
        self.tensors = [t for _, t in tracer.captured] + [
            tracer.values[s] for s in tracer.objects.values() if tracer.values[s] is not _UNSET]
        self.verified, self.source, self.replay = False, None, None
        code = _Code(tracer)
        result = code.output(result)  # first: it may reject
        self.reason = tracer.reason
        if self.reason is None:
            # replay(leaves): run the tape on the arrays of leaves; return fn's result
            self.source, self.replay = code.function(steps, result)

    def matches(self) -> bool:
        """True while every module called is in the mode it was traced in."""
        for module, training in self.modules:
            if module.training != training:
                return False
        return True


class _Code:
    """Writes a tape's source: one local variable ``v<slot>`` per array."""

    def __init__(self, tracer):
        self.tracer, self.kept = tracer, set()  # kept: the slots the result reads
        self.ns = {"state": state, "ndarray": np.ndarray, "ARRAYS": ARRAY_TYPES, "wrap": wrap,
                   "GuardFailed": GuardFailed, "accumulate": _accumulate_leaf, "fix": _fix,
                   "same": _same, "sum_to": _sum_to()}
        self.live = {s for s, _, _ in tracer.bind} | {s for s, _ in tracer.captured}

    def const(self, value) -> str:
        """A literal, or the name of ``value`` among the function's globals."""
        literal = _literal(value)
        if literal is None:
            literal = f"k{len(self.ns)}"
            self.ns[literal] = value
        return literal

    def v(self, slot) -> str:
        value = self.tracer.values[slot]
        return f"v{slot}" if value is _UNSET or slot in self.live else self.const(value)

    def args(self, slots) -> str:
        return "".join(f"{self.v(s)}, " for s in slots)

    def output(self, value) -> str:
        """The source of the function's result, its traced Tensors read from the replay."""
        tracer = self.tracer
        if isinstance(value, Tensor):
            if id(value) in tracer.arguments:
                return f"leaves[{tracer.arguments[id(value)]}]"
            slot = tracer.known.get(id(value.data))
            if slot in tracer.made_at:
                self.kept.add(slot)
                return f"wrap({self.v(slot)})"
            if id(value.data) in tracer.opaque:
                tracer.reject(f"it returns a tensor made by {tracer.opaque[id(value.data)]}")
            return self.const(value)
        if isinstance(value, (tuple, list)):
            inner = "".join(f"{self.output(x)}, " for x in value)
            return f"({inner})" if type(value) is tuple else \
                f"{self.const(type(value))}({'*' if hasattr(value, '_fields') else ''}[{inner}])"
        if type(value) is dict:
            return "{" + "".join(f"{self.const(k)}: {self.output(x)}, "
                                 for k, x in value.items()) + "}"
        return self.const(value)

    def function(self, steps, result):
        """Compile the steps; return the source and the function ``replay(leaves)``."""
        lines = [f"v{s} = leaves[{i}]{'' if whole else '.data'}"
                 for s, i, whole in self.tracer.bind]
        lines += [f"v{s} = {self.const(t)}.data" for s, t in self.tracer.captured]
        last = {s: i for i, step in enumerate(steps) for s in _reads(step)}
        free = {}  # step -> the large arrays it reads last
        for s, i in last.items():
            if s in self.tracer.made_at and s not in self.kept and \
                    self.tracer.sizes.get(s, 0) >= _LARGE:
                free.setdefault(i, []).append(f"v{s}")
        needed, mode = last.keys() | self.kept, None
        for at, (kind, *args, out) in enumerate(steps):
            if kind == "fwd":
                cls, slots, needs, grad_mode = args
                if grad_mode is not mode:
                    mode = grad_mode
                    lines.append(f"state.grad_enabled = {grad_mode}")
                ctx, y = f"v{out[1]}" if len(out) > 1 else "ctx", f"v{out[0]}"
                lines += [f"{ctx} = {self.const(cls.__new__)}({self.const(cls)})",
                          f"{ctx}.needs_input_grad = {self.const(needs)}",
                          f"{y} = {self.const(cls.forward)}({ctx}, {self.args(slots)})",
                          f"if type({y}) is not ndarray and not isinstance({y}, ARRAYS):",
                          f"    {y} = fix({ctx}, {y})"]
            elif kind == "bwd":
                cls, ctx, g, index, shapes = args
                lines += [f"r = {self.const(cls.backward)}({self.v(ctx)}, {self.v(g)}, "
                          f"*{self.v(ctx)}._saved)", "if type(r) is not tuple:", "    r = (r,)"]
                for i, o, shape in zip(index, out, shapes):
                    lines.append(f"v{o} = r[{i}]")
                    if shape is not None:  # as Broadcasting.vjp
                        lines += [f"if v{o}.shape != {self.const(shape)}:",
                                  f"    v{o} = sum_to(v{o}, {self.const(shape)})"]
            elif kind == "pack":
                lines.append(f"v{out[0]} = ({self.args(args[0])})")
            elif kind == "shared":
                ids = "".join(f"id({self.v(s)}), " for s in args[0])
                lines.append(f"v{out[0]} = {{{ids}}}" if ids else f"v{out[0]} = set()")
            elif kind == "map":
                lines.append(f"v{out[0]} = {self.const(args[0])}({self.v(args[1])})")
            elif kind == "sum":
                lines.append(f"v{out[0]} = {self.v(args[0])} + {self.v(args[1])}")
            elif kind == "leaf":
                t, g, shared = (self.v(s) for s in args)
                lines += [  # engine._accumulate_leaf, its common case inline
                    f"if {t}.grad is None and {g}.base is None and id({g}) not in {shared} "
                    f"and {g}.flags.writeable:",
                    f"    {shared}.add(id({g}))", f"    {t}.grad = wrap({g})",
                    "else:", f"    accumulate({t}, {g}, False, {shared})"]
                lines += [f"v{out[0]} = {t}.grad.data"] if out[0] in needed else []
            elif kind == "guard":
                slot, read, value = args
                lines += [f"if not same({self.const(read)}({self.v(slot)}), {self.const(value)}):",
                          f"    raise GuardFailed({self.const(read.__name__)})"]
            elif kind == "host":
                func, call_args, call_kwargs = args
                listed = [self._host_arg(a) for a in call_args] + [
                    f"{k}={self._host_arg(a)}" for k, a in call_kwargs.items()]
                lines.append(f"r = {self.const(func)}({', '.join(listed)})")
                lines += [f"v{out[0]} = r.data"] if out and out[0] in needed else []
                mode = None
            else:  # "call": an effect on arrays
                lines.append(f"{self.const(args[0])}({self.args(args[1])})")
            if at in free:
                lines.append(f"del {', '.join(free[at])}")
        lines = ["mode = state.grad_enabled", "try:", *(f"    {line}" for line in lines),
                 f"    return {result}", "finally:", "    state.grad_enabled = mode"]
        source = "def replay(leaves):\n" + "".join(f"    {line}\n" for line in lines)
        exec(compile(source, "<chainrule.compile tape>", "exec"), self.ns)
        return source, self.ns["replay"]

    def _host_arg(self, arg) -> str:
        kind, value = arg
        if kind in ("slot", "wrap"):
            return self.v(value) if kind == "slot" else f"wrap({self.v(value)})"
        return f"{self.const(value)}()" if kind == "call" else self.const(value)


def _reads(step) -> list:
    """The slots a step reads."""
    kind, *args, _ = step
    if kind in ("fwd", "call"):
        return args[1]
    if kind == "host":
        return [v for k, v in [*args[1], *args[2].values()] if k in ("slot", "wrap")]
    return {"pack": args[0], "shared": args[0], "map": args[1:2], "sum": args[:2],
            "leaf": args[:3], "guard": args[:1], "bwd": args[1:3]}[kind]


def _literal(value):
    """Exact Python source for None, a bool, int, str, finite float or a tuple of them."""
    if value is None or type(value) in (bool, int, str) or (
            type(value) is float and np.isfinite(value)):
        return repr(value)
    if type(value) is tuple:
        parts = [_literal(x) for x in value]
        if None not in parts:
            return "(" + "".join(p + ", " for p in parts) + ")"
    return None


def _fix(ctx, y):
    """As in Function.apply: NumPy gives scalars for 0-d results, which forward may have saved."""
    raw, y = y, np.asarray(y)
    ctx._saved = tuple(y if s is raw else s for s in ctx._saved)
    return y


def _same(value, traced) -> bool:
    return np.array_equal(value, traced) if isinstance(traced, np.ndarray) else value == traced


def _astype(dtype):
    def astype(x):
        return x.astype(dtype)

    return astype


def _restartable(gen):
    """A function making ``gen`` again, if it is an unstarted generator method, else None."""
    if inspect.getgeneratorstate(gen) != inspect.GEN_CREATED:
        return None
    loc = dict(gen.gi_frame.f_locals)
    method = getattr(loc.pop("self", None), gen.gi_code.co_name, None)
    if getattr(getattr(method, "__func__", None), "__code__", None) is not gen.gi_code:
        return None
    return lambda: method(**loc)


def _sum_to():
    from chainrule.ops import formula as fm  # ops sit above autograd

    return fm.sum_to


def _broadcasting(cls) -> bool:
    from chainrule.ops.movement import Broadcasting

    return issubclass(cls, Broadcasting) and cls.vjp is Broadcasting.vjp
