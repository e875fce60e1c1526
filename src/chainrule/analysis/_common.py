"""What every analysis tool shares: parameters as one flat vector and the loss as a closure
(the guard that gives the model back as it was is public: :mod:`chainrule.analysis.state`).

The tools accept either a model (anything with ``parameters()``, such as ``nn.Module``) with a
loss function and data, or a plain sequence of Tensors with a zero-argument loss closure::

    hessian_eigenvalues(model, nn.CrossEntropyLoss(), (X, y))      # loss_fn(model(X), y)
    hessian_eigenvalues([w], lambda: (w ** 4).sum())                # loss_fn()
"""

from __future__ import annotations

import numpy as np

from chainrule import Tensor, as_tensor, backend, no_grad


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
    if isinstance(data, (tuple, list)) and len(data) == 2 and _is_array(data[0]):
        return [tuple(data)]
    return data


def _is_array(x) -> bool:
    """True for a Tensor, a NumPy array or a CuPy array."""
    return isinstance(x, (Tensor, np.ndarray)) or backend.is_gpu_array(x)


def _as_input(x, dtype):
    """``x`` as a Tensor; floating data takes ``dtype`` (integer labels keep theirs)."""
    if isinstance(x, Tensor):
        return x
    arr = x if _is_array(x) else np.asarray(x)
    return as_tensor(arr, dtype=dtype if arr.dtype.kind == "f" else None)


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


def resolve_rng(seed) -> np.random.Generator:
    """A NumPy generator: seeded from ``seed``, or drawn from chainrule's global generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = int(backend.default_generator().integers(0, 2 ** 63 - 1))
    return np.random.default_rng(seed)
