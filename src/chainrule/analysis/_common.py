"""What every analysis tool shares: parameters as one flat vector, the loss as a closure, and a
guard that gives the caller back the model exactly as it was (mode and parameter values).

The tools accept either a model (anything with ``parameters()``, such as ``nn.Module``) with a
loss function and data, or a plain sequence of Tensors with a zero-argument loss closure::

    hessian_eigenvalues(model, nn.CrossEntropyLoss(), (X, y))      # loss_fn(model(X), y)
    hessian_eigenvalues([w], lambda: (w ** 4).sum())                # loss_fn()
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.creation import as_tensor
from chainrule.tensor import ARRAY_TYPES, Tensor


def is_model(obj) -> bool:
    """True for a module-like object (it has ``parameters()`` and is callable)."""
    return callable(getattr(obj, "parameters", None)) and callable(obj)


def parameters_of(model) -> list:
    """The Tensors that require grad: ``model.parameters()``, a Tensor, or a sequence of them."""
    if isinstance(model, Tensor):
        params = [model]
    elif callable(getattr(model, "parameters", None)):
        params = list(model.parameters())
    else:
        params = list(model)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Tensor")
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("no parameter requires grad: nothing to differentiate with respect to")
    return params


def named_parameters_of(model) -> list:
    """``(name, tensor)`` pairs: dotted names for a module, ``"param{i}"`` for a sequence."""
    if callable(getattr(model, "named_parameters", None)):
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [(f"param{i}", p) for i, p in enumerate(parameters_of(model))]


def to_vector(tensors) -> np.ndarray:
    """Concatenate the values of ``tensors`` into one flat float64 NumPy vector."""
    if not tensors:
        return np.zeros(0)
    return np.concatenate([backend.to_numpy(t.data).astype(np.float64).ravel() for t in tensors])


def from_vector(vector, like) -> list:
    """Split a flat vector into arrays shaped, typed and placed like the Tensors of ``like``."""
    vector = backend.to_numpy(vector.data if isinstance(vector, Tensor) else vector)
    vector = np.asarray(vector).ravel()
    total = sum(int(p.data.size) for p in like)
    if vector.size != total:
        raise ValueError(f"vector of size {vector.size} does not match the {total} parameters of "
                         f"shapes {[tuple(p.shape) for p in like]}")
    out, start = [], 0
    for p in like:
        size = int(p.data.size)
        piece = vector[start:start + size].reshape(p.shape).astype(p.data.dtype)
        out.append(backend.to_device(piece, p.device))
        start += size
    return out


def set_parameters(params, arrays) -> None:
    """Write ``arrays`` into ``params`` in place (outside the graph)."""
    with no_grad():
        for p, a in zip(params, arrays):
            p.copy_(a)


def batches_of(data):
    """Normalise ``data``: None (a closure), one ``(inputs, targets)`` batch, or an iterable."""
    if data is None:
        return [None]
    if isinstance(data, (tuple, list)) and len(data) == 2 \
            and isinstance(data[0], (Tensor, *ARRAY_TYPES)):
        return [tuple(data)]
    return data


def _as_input(x, dtype):
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x) if not isinstance(x, ARRAY_TYPES) else x
    if arr.dtype.kind == "f" and dtype is not None:
        return as_tensor(arr, dtype=dtype)
    return as_tensor(arr)


def batch_loss(model, loss_fn, batch):
    """The loss on one batch and the batch's size (its weight in a mean over batches).

    ``batch`` None means ``loss_fn`` is a zero-argument closure; otherwise it is
    ``(inputs, targets)`` and the loss is ``loss_fn(model(inputs), targets)``. Floating NumPy
    inputs take the dtype of the model's parameters.
    """
    if batch is None:
        loss = loss_fn()
        size = 1
    else:
        if not is_model(model):
            raise TypeError("data was given, so `model` must be a callable module with "
                            "parameters(); for a sequence of tensors pass a zero-argument "
                            "loss closure and data=None")
        inputs, targets = batch
        dtype = parameters_of(model)[0].dtype
        inputs = _as_input(inputs, dtype)
        targets = _as_input(targets, dtype)
        loss = loss_fn(model(inputs), targets)
        size = int(inputs.shape[0]) if inputs.ndim else 1
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        shape = getattr(loss, "shape", type(loss).__name__)
        raise ValueError(f"the loss must be a scalar Tensor, got {shape}")
    return loss, size


def mean_loss(model, loss_fn, data) -> float:
    """The loss over ``data`` without a graph: batch losses averaged, weighted by batch size."""
    total, count = 0.0, 0
    with no_grad():
        for batch in batches_of(data):
            loss, size = batch_loss(model, loss_fn, batch)
            total += float(loss.item()) * size
            count += size
    if count == 0:
        raise ValueError("data holds no batch")
    return total / count


@contextmanager
def preserved(model, train_mode: bool | None = False, parameters: bool = True):
    """Run a block with the model in a chosen mode; restore mode, parameters and buffers after.

    Args:
        model: a module or a sequence of Tensors.
        train_mode: True for ``model.train()``, False for ``model.eval()``, None to leave it.
        parameters: also snapshot the parameter values and write them back on exit.
    """
    modules = list(model.modules()) if callable(getattr(model, "modules", None)) else []
    flags = [getattr(m, "training", None) for m in modules]
    params = parameters_of(model) if parameters else []
    saved = [p.data.copy() for p in params]
    # Buffers (BatchNorm's running statistics) change in train-mode forward passes: keep them.
    buffers = list(model.buffers()) if callable(getattr(model, "buffers", None)) else []
    saved_buffers = [b.data.copy() for b in buffers]
    if train_mode is not None and callable(getattr(model, "train", None)):
        model.train(bool(train_mode))
    try:
        yield
    finally:
        for m, flag in zip(modules, flags):
            if flag is not None:
                m.training = flag
        if parameters:
            set_parameters(params, saved)
        for b, data in zip(buffers, saved_buffers):
            if b.data.shape == data.shape:
                b.data[...] = data
            else:
                b.data = data


def resolve_rng(seed) -> np.random.Generator:
    """A NumPy generator: seeded from ``seed``, or drawn from chainrule's global generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = int(backend.default_generator().integers(0, 2 ** 63 - 1))
    return np.random.default_rng(seed)
