"""The tracer of :func:`chainrule.compile`: one call's array work, written down as code.

While ``state.tracer`` holds a :class:`Tracer`, ``Function.apply`` reports every primitive call
and the engine every backward pass (its roots, what each node returned, the gradients found).
The tracer writes them down as steps on *slots*, one per array, and :class:`Tape` turns the
steps into one generated Python function of straight-line code on local variables (its source
is written by :class:`~chainrule.autograd.tape_code.TapeCode`):

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

from chainrule.autograd.function import Primitive, input_key
from chainrule.autograd.mode import state
from chainrule.autograd.tape_code import UNSET, TapeCode, astype
from chainrule.autograd.tape_code import GuardFailed as GuardFailed  # re-exported
from chainrule.tensor import ARRAY_TYPES, Tensor


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
        self.values = []  # slot -> a constant, a captured Tensor, or UNSET
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
    def new_slot(self, value=UNSET) -> int:
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
            g, (slot,) = g.astype(dtype), self.emit(("map", astype(dtype), slot), 1)
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
            tracer.values[s] for s in tracer.objects.values() if tracer.values[s] is not UNSET]
        self.verified, self.source, self.replay = False, None, None
        code = TapeCode(tracer)
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


def _restartable(gen):
    """A function making ``gen`` again, if it is an unstarted generator method, else None."""
    if inspect.getgeneratorstate(gen) != inspect.GEN_CREATED:
        return None
    loc = dict(gen.gi_frame.f_locals)
    method = getattr(loc.pop("self", None), gen.gi_code.co_name, None)
    if getattr(getattr(method, "__func__", None), "__code__", None) is not gen.gi_code:
        return None
    return lambda: method(**loc)


def _broadcasting(cls) -> bool:
    from chainrule.ops.broadcast import Broadcasting

    return issubclass(cls, Broadcasting) and cls.vjp is Broadcasting.vjp
