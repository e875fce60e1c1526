"""The source writer of a tape: a traced call's steps as one generated Python function.

:class:`TapeCode` turns the steps of a :class:`~chainrule.autograd.trace.Tracer` into the source
of ``replay(leaves)``: straight-line code on one local variable ``v<slot>`` per array, where
constants are literals or names among the function's globals. It drops large arrays after their
last use, as eager execution does, and writes the engine's common case of accumulating a leaf's
gradient inline. A guard that reads another value than when tracing raises :class:`GuardFailed`.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.engine import _accumulate_leaf
from chainrule.autograd.mode import state
from chainrule.tensor import ARRAY_TYPES, Tensor, wrap

UNSET = object()  # the value of a slot that a step fills
_LARGE = 1 << 16  # bytes: a replay drops arrays this large after their last use, as eager does


class GuardFailed(Exception):
    """A value read while tracing is read differently: the function would take another path."""


class TapeCode:
    """Writes a tape's source: one local variable ``v<slot>`` per array.

    Args:
        tracer: the :class:`~chainrule.autograd.trace.Tracer` whose slots, bindings and
            captured tensors the code reads; :meth:`output` may reject the call through it.
    """

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
        return f"v{slot}" if value is UNSET or slot in self.live else self.const(value)

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


def astype(dtype):
    """The function ``x -> x.astype(dtype)`` (a replayed conversion of a gradient)."""

    def astype(x):
        return x.astype(dtype)

    return astype


def _sum_to():
    """``ops.formula.sum_to``, imported late."""
    from chainrule.ops import formula as fm  # ops sit above autograd

    return fm.sum_to
