"""Hooks on modules: the handle that removes one, and the full backward hooks' machinery.

``Module.register_forward_hook`` and friends return a :class:`RemovableHandle`. Full backward
hooks (``register_full_backward_hook``) see the gradients with respect to a module's inputs and
outputs: the module's inputs and outputs pass through an identity node whose backward calls the
hooks, so the engine needs no knowledge of modules.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule import backend
from chainrule.autograd import Function
from chainrule.autograd.mode import is_grad_enabled
from chainrule.tensor import Tensor


def call_with_hooks(module, args, kwargs):
    """``module(*args, **kwargs)`` with its forward pre-hooks, forward hooks and full backward
    hooks, in PyTorch's order (``Module.__call__`` comes here only when a hook is registered)."""
    called = set()
    try:
        for key, hook in list(module._forward_pre_hooks.items()):
            if key in module._forward_pre_hooks_with_kwargs:
                changed = hook(module, args, kwargs)
                if changed is not None:
                    if not (isinstance(changed, tuple) and len(changed) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {changed}.")
                    args, kwargs = changed
            else:
                changed = hook(module, args)
                if changed is not None:
                    args = changed if isinstance(changed, tuple) else (changed,)
        backward_hooks = None
        if module._backward_hooks or module._backward_pre_hooks:
            backward_hooks = BackwardHooks(module)
            args = backward_hooks.setup_inputs(args)
        result = module.forward(*args, **kwargs)
        for key, hook in list(module._forward_hooks.items()):
            called.add(key)
            changed = _run_forward_hook(module, key, hook, args, kwargs, result)
            result = result if changed is None else changed
        if backward_hooks is not None:
            result = backward_hooks.setup_outputs(result)
        return result
    except Exception:
        for key, hook in list(module._forward_hooks.items()):
            if key in module._forward_hooks_always_called and key not in called:
                try:
                    _run_forward_hook(module, key, hook, args, kwargs, None)
                except Exception as err:
                    warnings.warn("module forward hook with always_call=True raised an "
                                  f"exception that was silenced as another error was "
                                  f"raised in forward: {err}", stacklevel=2)
        raise


def _run_forward_hook(module, key, hook, args, kwargs, result):
    if key in module._forward_hooks_with_kwargs:
        return hook(module, args, kwargs, result)
    return hook(module, args, result)


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict, extra_sets=()):
        self._hooks = hooks
        self._extra_sets = tuple(extra_sets)  # the hook's options (with_kwargs, always_call)
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self.id, None)
        for options in self._extra_sets:
            options.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


# ---- full backward hooks ------------------------------------------------------------------------
class _BackwardHookFunction(Function):
    """Identity on a module's input (or output) Tensors whose backward calls the module's hooks.

    A node has one output, so several Tensors travel packed in one flat array and are sliced
    back out; the backward then sees all their gradients at once, as the hooks need.
    """

    @staticmethod
    def forward(ctx, callback, *tensors):
        arrays = [t.data for t in tensors]
        ctx.callback = callback
        ctx.shapes = [a.shape for a in arrays]
        if len(arrays) == 1:
            return arrays[0].view()
        xp = backend.namespace(*arrays)
        return xp.concatenate([a.ravel() for a in arrays])

    @staticmethod
    def backward(ctx, grad_output):
        if len(ctx.shapes) == 1:
            grads = [grad_output]
        else:
            flat, grads, start = grad_output.reshape(-1), [], 0
            for shape in ctx.shapes:
                size = int(np.prod(shape))
                grads.append(flat[start:start + size].reshape(shape))
                start += size
        return (None, *ctx.callback(grads))


def _through_hook_node(values, callback):
    """``values`` with their Tensors that require grad routed through one hook node.

    Returns the new values and the positions of the routed Tensors (None when none is routed).
    """
    index = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
    if not index or not is_grad_enabled():
        return values, None
    tensors = [values[i] for i in index]
    packed = _BackwardHookFunction.apply(callback, *tensors)
    pieces, start = [], 0
    for t in tensors:
        if len(tensors) == 1:
            pieces.append(packed)
            break
        piece = packed[start:start + t.numel()].reshape(t.shape)
        pieces.append(piece if piece.dtype == t.dtype else piece.to(t.dtype))
        start += t.numel()
    new = list(values)
    for i, piece in zip(index, pieces):
        new[i] = piece
    return (type(values)(*new) if hasattr(values, "_fields") else tuple(new)), index


def _with_none(index, values, size):
    """A tuple of ``size`` entries: ``values`` at positions ``index``, None elsewhere."""
    out = [None] * size
    for i, v in zip(index, values):
        out[i] = v
    return tuple(out)


class BackwardHooks:
    """One call's full backward hooks: output gradients are kept until input gradients come."""

    def __init__(self, module):
        self.module = module
        self.hooks = list(module._backward_hooks.values())
        self.pre_hooks = list(module._backward_pre_hooks.values())
        self.grad_outputs = None
        self.n_inputs, self.input_index = 0, None
        self.n_outputs, self.output_index = 0, None

    def setup_inputs(self, args):
        self.n_inputs = len(args)
        args, self.input_index = _through_hook_node(args, self._on_grad_inputs)
        return args

    def setup_outputs(self, result):
        if not isinstance(result, (Tensor, tuple)):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or "
                          f"a tuple of Tensors but received {type(result)}", stacklevel=3)
            return result
        single = isinstance(result, Tensor)
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)
        outputs, self.output_index = _through_hook_node(outputs, self._on_grad_outputs)
        return outputs[0] if single else outputs

    def _on_grad_outputs(self, grads):
        self.grad_outputs = _with_none(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            changed = hook(self.module, self.grad_outputs)
            if changed is None:
                continue
            if len(changed) != self.n_outputs:
                raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                   f"grad_output, got {len(changed)}, but expected "
                                   f"{self.n_outputs}")
            self.grad_outputs = tuple(changed)
        grad_outputs = self.grad_outputs
        if self.input_index is None:  # no input requires grad: the hooks run now
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients.",
                          stacklevel=2)
            for hook in self.hooks:
                changed = hook(self.module, (None,) * self.n_inputs, grad_outputs)
                if changed is not None and any(g is not None for g in changed):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return [grad_outputs[i] for i in self.output_index]

    def _on_grad_inputs(self, grads):
        if self.grad_outputs is None:  # the gradient did not come through the outputs
            return grads
        grad_input = _with_none(self.input_index, grads, self.n_inputs)
        for hook in self.hooks:
            changed = hook(self.module, grad_input, self.grad_outputs)
            if changed is None:
                continue
            if len(changed) != len(grad_input):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(changed)}, but expected {len(grad_input)}")
            grad_input = tuple(changed)
        self.grad_outputs = None
        return [grad_input[i] for i in self.input_index]
