"""`DistributedDataParallel`: one model replicated on every rank, its gradients averaged.

Data-parallel training (PyTorch's ``torch.nn.parallel``): each of N ranks holds the same model,
computes the loss of its shard of every batch, and the ranks average their gradients before the
optimiser's step, so every replica takes the same step, the full batch's:

    g = (1/N) sum_r g_r,   g_r = dL_r/dw on rank r's shard.

With a mean loss and equal shards, g is the gradient of the mean loss of the whole batch.

When the averaging happens (the trigger). PyTorch reduces buckets of gradients from autograd
hooks while backward runs. Here every parameter gets a gradient hook at construction; a forward
pass in training (grad enabled, outside :meth:`DistributedDataParallel.no_sync`) arms them with
the set of parameters that will receive a gradient. The engine runs leaf hooks after the whole
backward pass, one parameter after another; when the last armed parameter's hook runs, every
other gradient is already in ``.grad``, and that hook averages all of them at once: one
all-reduce per dtype of one flat buffer (not one call per parameter), then hands the last
parameter its averaged gradient. So plain PyTorch code ``loss.backward(); optimizer.step()``
steps with averaged gradients, and :meth:`DistributedDataParallel.reduce_gradients` does the
same by hand (after gradients computed otherwise).

Not supported: ``backward(create_graph=True)`` and ``autograd.grad`` through the wrapper (as in
PyTorch), and process groups other than the whole world.
"""

from __future__ import annotations

from contextlib import contextmanager

from chainrule import backend
from chainrule import distributed as dist
from chainrule.autograd.mode import is_grad_enabled
from chainrule.creation import from_numpy
from chainrule.distributed.buckets import all_reduce_arrays, broadcast_arrays
from chainrule.nn.module import Module
from chainrule.tensor import Tensor

__all__ = ["DistributedDataParallel"]


def _tensors(value) -> list:
    """The Tensors in a forward's output (a Tensor, or nested tuples, lists and dicts)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _reachable_leaves(output) -> set:
    """ids of the leaf Tensors that the graph of ``output`` depends on (an iterative walk)."""
    tensors = _tensors(output)
    leaves = {id(t) for t in tensors if t.grad_fn is None}
    stack, seen = [t.grad_fn for t in tensors if t.grad_fn is not None], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node.edges is None:
            continue
        seen.add(id(node))
        for parent, edge in zip(node.parents, node.edges):
            if edge is not None:
                stack.append(edge)
            elif parent is not None:
                leaves.add(id(parent))
    return leaves


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the ranks of ``cr.distributed``.

    At construction every rank checks that the others hold the same parameters and buffers
    (names, shapes, dtypes) and copies rank 0's values (one broadcast per dtype). ``forward``
    calls the module; the backward pass that follows averages the gradients over the ranks (see
    the module docstring for the trigger). In training, buffers (BatchNorm's running
    statistics) are broadcast from rank 0 before each forward, as in PyTorch. In a world of
    one process the wrapper only delegates. ``state_dict`` keys carry the ``module.`` prefix,
    as PyTorch's; ``ddp.module.state_dict()`` has none.

    Args:
        module: the model, the same on every rank.
        device_ids, output_device: accepted for PyTorch code and ignored (the model stays
            where it is).
        broadcast_buffers: broadcast rank 0's buffers before each training forward.
        process_group: only None (the whole world) is supported.
        find_unused_parameters: walk the graph of every forward's output to find parameters
            that get no gradient this step (they are then left out of the wait, and their
            gradients stay None on every rank that used them on none). Without it every
            parameter that requires grad must get one, or the next forward raises.

    Attributes:
        module: the wrapped model.
        require_backward_grad_sync: False inside :meth:`no_sync`.

    Example:
        >>> model = nn.parallel.DistributedDataParallel(make_model())
        >>> optimizer = optim.SGD(model.parameters(), lr=0.1)
        >>> loss_fn(model(x_shard), y_shard).backward()     # gradients averaged over ranks
        >>> optimizer.step()
    """

    def __init__(self, module, device_ids=None, output_device=None,
                 broadcast_buffers: bool = True, process_group=None,
                 find_unused_parameters: bool = False):
        super().__init__()
        if process_group is not None:
            raise ValueError("DistributedDataParallel: only the whole world is supported "
                             "(process_group=None)")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self._world = dist.world_size()
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        self._synced = [p for _, p in named]
        self._names = {id(p): name for name, p in named}
        self._expected, self._ready = None, set()
        if self._world > 1:
            self._check_same_layout()
            tensors = [*module.parameters(), *module.buffers()]
            broadcast_arrays([t.data for t in tensors], src=0)
            for t in tensors:
                t._version += 1
            self._handles = [p.register_hook(self._hook_for(p)) for p in self._synced]

    def _check_same_layout(self) -> None:
        layout = [(name, tuple(t.shape), str(t.dtype)) for name, t in
                  [*self.module.named_parameters(), *self.module.named_buffers()]]
        gathered = [None] * self._world
        dist.all_gather_object(gathered, layout)
        for r, other in enumerate(gathered):
            if other != gathered[0]:
                diff = next((a, b) for a, b in zip(gathered[0] + [None], other + [None])
                            if a != b)
                raise ValueError(f"DistributedDataParallel: rank {r}'s model differs from rank "
                                 f"0's: {diff[1]} where rank 0 has {diff[0]} (build the same "
                                 "model on every rank)")

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        """``module(*inputs, **kwargs)``; in training, buffers are broadcast first; whenever a
        graph is recorded, the parameters' hooks are armed for the backward pass that follows."""
        self._check_last_backward()
        # NOTE: as PyTorch's, gradients are averaged whenever a graph is recorded, in eval()
        # mode too (a frozen BatchNorm); buffers are broadcast in training only.
        syncing = self._world > 1 and is_grad_enabled()
        if syncing and self.module.training and self.broadcast_buffers:
            self.sync_buffers()
        output = self.module(*inputs, **kwargs)
        if syncing and self.require_backward_grad_sync:
            params = [p for p in self._synced if p.requires_grad]
            if self.find_unused_parameters:
                reachable = _reachable_leaves(output)
                params = [p for p in params if id(p) in reachable]
            self._expected, self._ready = {id(p) for p in params}, set()
            if not self._expected:  # no gradient will come: take part in the average now
                self.reduce_gradients()
        return output

    def _check_last_backward(self) -> None:
        if self._expected is None or not self._ready:
            self._expected = None
            return
        missing = [self._names[i] for i in self._expected if i not in self._ready]
        self._expected, self._ready = None, set()
        raise RuntimeError(
            f"DistributedDataParallel: the last backward pass gave no gradient to "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}, so the gradients "
            "were not averaged; pass find_unused_parameters=True when some parameters take no "
            "part in the loss, or freeze them (requires_grad_(False)) before wrapping")

    @contextmanager
    def no_sync(self):
        """Accumulate gradients locally: forwards inside the block arm no averaging (the first
        forward after it averages the accumulated gradients)."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ---- averaging ----------------------------------------------------------------------------
    def _hook_for(self, param):
        def hook(grad):
            return self._on_gradient(param, grad)

        return hook

    def _on_gradient(self, param, grad):
        """A parameter's hook: count it; the last one averages every gradient."""
        if self._expected is None or id(param) not in self._expected:
            return None
        if grad.requires_grad:
            raise RuntimeError("DistributedDataParallel: backward(create_graph=True) is not "
                               "supported; compute higher derivatives on the module itself")
        self._ready.add(id(param))
        if len(self._ready) < len(self._expected):
            return None
        self._expected, self._ready = None, set()
        # NOTE: the engine puts this gradient into .grad after the hook returns: the average
        # must include it, and its result (not the local sum) is what the engine stores.
        total = grad.data if param.grad is None else param.grad.data + grad.data
        param.grad = None
        return self._average(last=(param, total))

    def reduce_gradients(self) -> None:
        """Average the gradients over the ranks now: g <- (1/N) sum_r g_r for every parameter
        that requires grad, in one all-reduce per dtype (every rank must call it).

        A parameter whose ``.grad`` is None on some ranks counts zeros there; it stays None only
        where every rank has None. The backward pass after a forward through the wrapper calls
        this by itself; call it by hand after gradients computed another way.
        """
        self._expected, self._ready = None, set()
        if self._world > 1:
            self._average()

    def _average(self, last=None):
        params = [p for p in self._synced if p.requires_grad]
        if not params:
            return None
        grads = [last[1] if last is not None and p is last[0] else
                 (None if p.grad is None else p.grad.data) for p in params]
        xp = backend.namespace(params[0].data)
        arrays = [xp.zeros(p.shape, dtype=p.dtype) if g is None else g
                  for p, g in zip(params, grads)]
        # one flag per parameter, 1 where it has a gradient, rides in the first dtype's buffer
        flags = xp.asarray([g is not None for g in grads], dtype=arrays[0].dtype)
        reduced = all_reduce_arrays([*arrays, flags])
        used = backend.to_numpy(reduced[-1])
        result = None
        for p, average, count in zip(params, reduced, used):
            if count == 0:
                continue
            average /= self._world
            if last is not None and p is last[0]:
                result = from_numpy(average)
            else:
                p.grad = from_numpy(average)
        return result

    def sync_buffers(self) -> None:
        """Copy rank 0's buffers (running statistics) into every rank's (one broadcast per
        dtype); ``forward`` does it in training when ``broadcast_buffers``."""
        buffers = [b for b in self.module.buffers() if b is not None]
        if self._world > 1 and buffers:
            broadcast_arrays([b.data for b in buffers], src=0)
            for b in buffers:
                b._version += 1

    def extra_repr(self) -> str:
        return f"world_size={self._world}, broadcast_buffers={self.broadcast_buffers}"

