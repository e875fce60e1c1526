"""A Module's parameters and buffers converted to a dtype and/or moved to a device.

:meth:`Module.to <chainrule.nn.Module.to>` (and so ``double``, ``float``, ``half``, ``cpu`` and
``cuda``) delegates here. The tensors keep their identity, only their ``.data`` (and ``.grad``)
is replaced, so an optimiser created before the call still updates them.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.creation import from_numpy


def convert_tensors(module, fn):
    """Replace the array of every parameter and buffer of ``module`` and its sub-modules (and
    of their gradients) by ``fn(array)``; returns ``module``."""
    for m in module.modules():
        for table in (m._parameters, m._buffers):
            for t in table.values():
                if t is None:
                    continue
                t.data = fn(t.data)
                if t.grad is not None:
                    t.grad = from_numpy(fn(t.grad.data))
    return module


def module_to(module, *args, **kwargs):
    """``module.to(dtype)``, ``module.to(device)`` or ``module.to(device, dtype)`` (or the
    keywords ``dtype=`` and ``device=``), as :meth:`Module.to` documents it; returns ``module``.

    Only floating arrays change dtype (integer buffers such as ``num_batches_tracked`` keep
    theirs); a non-floating ``dtype`` is a ``TypeError``.
    """
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    for a in args:
        if isinstance(a, (str, backend.device)):
            device = a
        else:
            dtype = a
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are supported, got {dtype}")

    def convert(array):
        if device is not None:
            array = backend.to_device(array, device)
        if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
            array = array.astype(dtype)
        return array

    return convert_tensors(module, convert)
