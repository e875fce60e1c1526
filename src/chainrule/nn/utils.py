"""`chainrule.nn.utils`: gradient clipping and flat parameter vectors.

Clipping acts on ``.grad`` in place between ``backward()`` and the optimiser's ``step()``: the
usual remedy for exploding gradients in recurrent networks.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.creation import from_numpy
from chainrule.ops.movement import cat
from chainrule.tensor import Tensor


def _params(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale gradients so that their joint norm is at most ``max_norm``.

    total = (sum_p ||g_p||_q^q)^(1/q) over every parameter's gradient (q = ``norm_type``,
    ``inf`` for the largest |g|); if total > max_norm every g_p is multiplied by
    max_norm / (total + 1e-6). Parameters without a gradient are skipped.

    Args:
        parameters: an iterable of tensors (e.g. ``model.parameters()``) or one tensor.
        max_norm: the largest allowed norm.
        norm_type: q, a positive number or ``float("inf")``.
        error_if_nonfinite: raise RuntimeError when the total norm is NaN or infinite
            (otherwise the gradients are scaled by NaN, as in PyTorch).

    Returns:
        The total norm before clipping, a 0-d tensor.

    Example:
        >>> loss.backward()
        >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return from_numpy(np.zeros((), dtype=np.float32))
    arrays = [g.data for g in grads]
    if math.isinf(norm_type):
        total = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    else:
        total = sum(float((np.abs(a) ** norm_type).sum()) for a in arrays) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}; set error_if_nonfinite=False to scale anyway")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g.data = g.data * g.data.dtype.type(coef)
    return from_numpy(np.asarray(total, dtype=arrays[0].dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for p in _params(parameters):
        if p.grad is not None:
            p.grad.data = np.clip(p.grad.data, -clip_value, clip_value)


def parameters_to_vector(parameters) -> Tensor:
    """Concatenate the parameters, flattened, into one vector (differentiable).

    The layout is the order of ``parameters``; :func:`vector_to_parameters` is its inverse.
    """
    params = _params(parameters)
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place (outside the graph)."""
    params = _params(parameters)
    data = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    if data.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape {data.shape}")
    total = sum(p.data.size for p in params)
    if data.size != total:
        raise ValueError(f"vector_to_parameters: vector has {data.size} elements but the "
                         f"parameters have {total}")
    offset = 0
    for p in params:
        n = p.data.size
        p.data[...] = data[offset:offset + n].reshape(p.shape).astype(p.dtype, copy=False)
        p._version += 1
        offset += n


def grads_to_vector(parameters) -> Tensor:
    """The gradients of ``parameters`` as one vector (zeros where a gradient is None)."""
    params = _params(parameters)
    parts = [np.zeros(p.data.size, dtype=p.dtype) if p.grad is None else p.grad.data.ravel()
             for p in params]
    return from_numpy(np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32))
