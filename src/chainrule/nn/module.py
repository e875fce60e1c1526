"""`Module`: the base class of layers and networks.

A Module owns Parameters, buffers (state that is saved but not trained, such as BatchNorm's
running statistics) and sub-modules, all registered by attribute assignment. Names are dotted
paths (``"0.weight"``, ``"encoder.fc.bias"``) and equal PyTorch's for the same layers, so a
PyTorch ``state_dict`` converted to arrays loads into the chainrule model and back.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from chainrule.creation import from_numpy
from chainrule.nn.conversion import module_to
from chainrule.nn.hooks import RemovableHandle, call_with_hooks
from chainrule.nn.parameter import Parameter
from chainrule.nn.state_dict import (  # noqa: F401  (IncompatibleKeys, StateDictError: re-exported)
    IncompatibleKeys,
    StateDictError,
    collect_state_dict,
    load_state_dict_into,
)
from chainrule.nn.summary import count_parameters, module_repr
from chainrule.nn.summary import summary as summarize
from chainrule.tensor import Tensor


class Module:
    """Base class of every layer and network.

    Subclasses create their parameters and sub-modules in ``__init__`` (after calling
    ``super().__init__()``) and compute the output in ``forward``; calling the module runs
    ``forward`` (and any hooks).

    Example:
        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = nn.Linear(2, 4)
        ...         self.fc2 = nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.fc2(cr.tanh(self.fc1(x)))
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, args, kwargs)

    # ---- registration ------------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            self._forget(name, params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, modules)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} "
                                f"of {type(self).__name__} (expected nn.Parameter or None)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to sub-module {name!r} "
                                "(expected nn.Module or None)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                "(expected a Tensor or None)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Remove ``name`` from every table but ``keep`` (so a re-assignment keeps its place)."""
        d = self.__dict__
        for table in (d["_parameters"], d["_buffers"], d["_modules"]):
            if table is not keep:
                table.pop(name, None)
        d["_non_persistent"].discard(name)
        d.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d[table]:
                del d[table][name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _check_name(self, name, what):
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{what} name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._parameters and name not in self._buffers \
                and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent parameter such as a missing bias)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, got "
                            f"{type(param).__name__}")
        self._forget(name, self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state saved in ``state_dict`` (when persistent) but not trained."""
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._forget(name, self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a sub-module under ``name`` (same as ``setattr(self, name, module)``)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be an nn.Module or None, got "
                            f"{type(module).__name__}")
        self._check_name(str(name), "module")
        self._forget(str(name), self._modules)
        self._modules[str(name)] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` ("" is the module itself)."""
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"{type(mod).__name__} has no sub-module {part!r} "
                                     f"(looking up {target!r})")
            mod = mod._modules[part]
        return mod

    # ---- iteration ----------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = ""):
        """Yield ``(dotted name, module)`` for this module and all below it, each once."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if id(mod) in memo:
                continue
            memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{k}" if name else k, m) for k, m in mod._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        """Yield this module and every sub-module (depth first, each once)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """Yield ``(name, module)`` for the direct sub-modules."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        """Yield the direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, skip=None):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, value in getattr(mod, table).items():
                if value is None or id(value) in seen or (skip and name in skip(mod)):
                    continue
                seen.add(id(value))
                yield (f"{mod_name}.{name}" if mod_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted name, Parameter)``; a shared parameter appears once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        """Yield every Parameter (what an optimiser trains)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted name, buffer)``."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        """Yield every buffer (state saved with the model but not trained)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: None (default), or zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = from_numpy(np.zeros_like(p.grad.data))

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every sub-module (children first), then on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- hooks --------------------------------------------------------------------------------
    @staticmethod
    def _add_hook(table, hook, prepend, options=()) -> RemovableHandle:
        """Register ``hook`` in ``table`` (first if ``prepend``); ``options`` are (set, flag)."""
        handle = RemovableHandle(table, [s for s, _ in options])
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        for flags, on in options:
            if on:
                flags.add(handle.id)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces
        the output.

        Args:
            hook: the function; ``hook(module, args, kwargs, output)`` with ``with_kwargs``.
                ``args`` are the positional inputs as the forward pre-hooks left them.
            prepend: run before the hooks already registered instead of after them.
            with_kwargs: also pass the keyword arguments of the call.
            always_call: also run when forward raises (then its result is ignored).

        Returns:
            A :class:`RemovableHandle`.
        """
        return self._add_hook(self._forward_hooks, hook, prepend,
                              [(self._forward_hooks_with_kwargs, with_kwargs),
                               (self._forward_hooks_always_called, always_call)])

    def register_forward_pre_hook(self, hook, *, prepend=False,
                                  with_kwargs=False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the
        positional inputs (a single value is wrapped into a tuple).

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and may return a
        pair ``(new_args, new_kwargs)``. ``prepend`` runs it before the hooks already there.
        """
        return self._add_hook(self._forward_pre_hooks, hook, prepend,
                              [(self._forward_pre_hooks_with_kwargs, with_kwargs)])

    def register_full_backward_hook(self, hook, prepend=False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's inputs are computed.

        ``grad_input`` has one entry per positional input (None for one that is not a Tensor
        requiring grad) and ``grad_output`` one per output. A non-None result, a tuple of the
        same length, replaces ``grad_input`` in the rest of the backward pass. When no input
        requires grad the hook is called with all-None ``grad_input`` as soon as the output
        gradients are known. Modifying the tensors given to the hook in place is not allowed.

        Example:
            >>> layer.register_full_backward_hook(
            ...     lambda m, grad_input, grad_output: tuple(g * 0.5 for g in grad_input))
        """
        return self._add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are known, before those with respect to its inputs; a non-None result (a tuple
        of the same length) replaces ``grad_output``."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered mapping from dotted names to parameters and persistent buffers.

        Values are Tensors sharing memory with the model (detached unless ``keep_vars``).
        The order is PyTorch's: a module's own parameters, its buffers, then its children.
        """
        return collect_state_dict(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module.

        Values may be Tensors or arrays (anything ``numpy.asarray`` accepts, e.g. PyTorch CPU
        tensors); each is converted to the existing tensor's dtype and copied in place, so
        optimisers holding the parameters stay valid.

        Args:
            state_dict: a mapping from dotted names to values.
            strict: when True, any missing, unexpected or mis-shaped key raises
                :class:`StateDictError` (listing all three) and nothing is loaded. When False,
                the keys that match are loaded and the others returned.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys, mismatched_keys)``.
        """
        return load_state_dict_into(self, state_dict, strict)

    # ---- dtype and device ---------------------------------------------------------------------
    def to(self, *args, **kwargs) -> Module:
        """Convert floating parameters and buffers to a dtype and/or move all to a device.

        ``model.to(cr.float64)``, ``model.to("cuda")``, ``model.to("cpu", cr.float32)``.
        Parameters keep their identity (their ``.data`` is replaced), so an optimiser created
        before the call still updates them. Integer buffers (``num_batches_tracked``) keep
        their dtype.
        """
        return module_to(self, *args, **kwargs)

    def double(self) -> Module:
        """Convert floating parameters and buffers to float64."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Convert floating parameters and buffers to float32."""
        return self.to(np.float32)

    def half(self) -> Module:
        """Convert floating parameters and buffers to float16."""
        return self.to(np.float16)

    def cpu(self) -> Module:
        """Move parameters and buffers to the CPU (NumPy arrays)."""
        return self.to("cpu")

    def cuda(self) -> Module:
        """Move parameters and buffers to the GPU (CuPy arrays)."""
        return self.to("cuda")

    # ---- description --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (hyper-parameters)."""
        return ""

    def __repr__(self) -> str:
        return module_repr(self)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar parameters (each shared parameter counted once)."""
        return count_parameters(self, trainable_only)

    def summary(self, input_shape=None, dtype=None, print_fn=print):
        """Print a table of layers, output shapes and parameter counts, and return it.

        See :func:`chainrule.nn.summary.summary`.
        """
        return summarize(self, input_shape, dtype=dtype, print_fn=print_fn)
