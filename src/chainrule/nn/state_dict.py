"""A Module's state dict: its parameters and persistent buffers by dotted name, and loading one.

:meth:`Module.state_dict <chainrule.nn.Module.state_dict>` and
:meth:`Module.load_state_dict <chainrule.nn.Module.load_state_dict>` delegate here. The names
and their order are PyTorch's (a module's own parameters, its buffers, then its children), so a
PyTorch ``state_dict`` converted to arrays loads into the chainrule model and back.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.tensor import Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys",
                                  ["missing_keys", "unexpected_keys", "mismatched_keys"])):
    """What :meth:`Module.load_state_dict` could not load.

    ``missing_keys``: in the model, not in the state dict; ``unexpected_keys``: in the state
    dict, not in the model; ``mismatched_keys``: in both with different shapes (as strings
    ``"name: checkpoint (3, 4) != model (4, 3)"``).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        if not any(self):
            return "<All keys matched successfully>"
        return super().__repr__()


class StateDictError(RuntimeError):
    """Raised by ``load_state_dict(strict=True)``; carries the three lists as attributes."""

    def __init__(self, message, keys: IncompatibleKeys):
        super().__init__(message)
        self.missing_keys, self.unexpected_keys, self.mismatched_keys = keys


def collect_state_dict(module, destination=None, prefix: str = "",
                       keep_vars: bool = False) -> OrderedDict:
    """The state dict of ``module``, as :meth:`Module.state_dict` documents it."""
    out = OrderedDict() if destination is None else destination
    for mod_name, mod in module.named_modules(prefix=prefix.rstrip(".")):
        base = f"{mod_name}." if mod_name else ""
        for name, p in mod._parameters.items():
            if p is not None:
                out[base + name] = p if keep_vars else p.detach()
        for name, b in mod._buffers.items():
            if b is not None and name not in mod._non_persistent:
                out[base + name] = b if keep_vars else b.detach()
    return out


def load_state_dict_into(module, state_dict, strict: bool = True) -> IncompatibleKeys:
    """Copy ``state_dict`` into ``module``, as :meth:`Module.load_state_dict` documents it.

    Every key is checked before anything is copied, so a strict load that fails changes nothing.
    """
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched, ready = [], []
    for key, target in own.items():
        if key not in state_dict:
            continue
        value = state_dict[key]
        array = value.data if isinstance(value, Tensor) else np.asarray(value)
        if tuple(array.shape) != target.shape:
            mismatched.append(f"{key}: checkpoint {tuple(array.shape)} != model "
                              f"{target.shape}")
        else:
            ready.append((target, array))
    keys = IncompatibleKeys(missing, unexpected, mismatched)
    if strict and any(keys):
        lines = [f"Error(s) in loading state_dict for {type(module).__name__}:"]
        for label, items in (("Missing key(s)", missing), ("Unexpected key(s)", unexpected),
                             ("Size mismatch", mismatched)):
            if items:
                lines.append(f"  {label}: " + ", ".join(repr(k) for k in items))
        raise StateDictError("\n".join(lines), keys)
    with no_grad():
        for target, array in ready:
            if backend.is_gpu_array(target.data) or backend.is_gpu_array(array):
                array = backend.to_device(array, target.device)
            target.data[...] = array.astype(target.dtype, copy=False)
            target._version += 1
    return keys
