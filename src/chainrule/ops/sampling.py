"""Random samples whose distribution is given by tensors: normal, bernoulli, multinomial, dropout.

Every draw comes from chainrule's global generator (seeded by ``cr.manual_seed``) unless a
``generator`` (a ``numpy.random.Generator``) is given, so a seed makes a run repeatable. As in
PyTorch, a sample is not reparameterised: its gradient with respect to the parameters (mean,
std, probabilities) is zero, and it flows (a loss of samples alone still backpropagates).
``dropout`` is differentiable in its input: the kept elements pass their gradient, scaled.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.promotion import result_type
from chainrule.tensor import Tensor, tensor_method, wrap


class Sampled(Primitive):
    """z = a sample drawn with the parameters p (mean, std, probabilities) ; dz/dp = 0."""

    @staticmethod
    def forward(ctx, sample, *params):
        ctx.shapes = tuple(np.shape(p) for p in params)
        return sample

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad[1:]
        zeros = [fm.sum_to(g * 0, s) if n else None for s, n in zip(ctx.shapes, needs)]
        return (None, *zeros)


def _generator(generator):
    return generator if generator is not None else backend.default_generator()


def _placed(sample, like):
    """``sample`` (drawn by NumPy) on the device of the array ``like``."""
    return backend.to_device(sample, backend.device_of(like)) if like is not None else sample


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Samples of N(mean, std^2): out = mean + std z with z ~ N(0, 1), elementwise.

    ``mean`` and ``std`` are tensors that broadcast together, or numbers; with two numbers,
    ``size`` gives the shape. The dtype is that of the tensors (float32 for numbers, or
    ``dtype``).

    Args:
        mean: the means (a tensor or a number).
        std: the standard deviations, >= 0 (a tensor or a number).
        size: the shape, when mean and std are both numbers.
        generator: a ``numpy.random.Generator``; default chainrule's global generator.
        dtype, device, requires_grad: for two numbers, as in ``cr.randn``.

    Example:
        >>> cr.manual_seed(0)
        >>> cr.normal(cr.zeros(3), 2.0).shape
        (3,)
    """
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: give size when mean and std are both numbers")
        out_dtype, shape, like = np.dtype(dtype or backend.DEFAULT_FLOAT), tuple(size), None
    else:
        if size is not None:
            raise TypeError("normal: size is only for numbers mean and std; with tensors the "
                            "shape is theirs")
        out_dtype = result_type(mean, std)
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
        like = tensors[0].data
    if out_dtype.kind != "f":
        raise TypeError(f"normal: mean and std must be floating point, got dtype {out_dtype}")
    if bool(np.any(backend.to_numpy(_raw(std)) < 0)):
        raise ValueError(f"normal: std must be >= 0, got {std}")
    z = _generator(generator).standard_normal(shape).astype(out_dtype, copy=False)
    sample = _raw(mean) + _raw(std) * _placed(z, like)
    out = Sampled.apply(np.asarray(sample, dtype=out_dtype) if like is None else
                        sample.astype(out_dtype, copy=False), *tensors)
    if like is None and device is not None:
        out = wrap(backend.to_device(out.data, device))
    return out.requires_grad_() if requires_grad else out


def _probabilities(op, input, low=0.0, high=1.0):  # noqa: A002
    """The array of ``input``, checked to be floating point with values in [low, high]."""
    data = input.data
    if data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor of probabilities, got dtype "
                        f"{data.dtype}")
    if data.size and not bool(((data >= low) & (data <= high)).all()):
        raise ValueError(f"{op}: probabilities must lie in [{low}, {high}] (no NaN), got "
                         f"min {data.min()} and max {data.max()}")
    return data


@tensor_method
def bernoulli(input, p=None, *, generator=None):  # noqa: A002 - PyTorch's name
    """Samples of Bernoulli(p): out_i = 1 with probability p_i, else 0, in ``input``'s dtype.

    Args:
        input: the probabilities p_i in [0, 1] (a floating-point tensor).
        p: a number to use as every probability instead (the shape stays ``input``'s).
        generator: a ``numpy.random.Generator``; default chainrule's global generator.

    Example:
        >>> cr.bernoulli(cr.tensor([0.0, 1.0]))
        tensor([0., 1.])
    """
    data = _probabilities("bernoulli", input)
    if p is not None and not 0 <= p <= 1:
        raise ValueError(f"bernoulli: p must lie in [0, 1], got {p}")
    u = _placed(_generator(generator).random(data.shape), data)
    sample = (u < (data if p is None else p)).astype(data.dtype)
    return Sampled.apply(sample, input)


def _weights(input, num_samples, replacement):  # noqa: A002
    """The rows of category weights of ``input`` (float64), after PyTorch's checks."""
    data = input.data
    if data.dtype.kind != "f" or data.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be a 1-D or 2-D floating-point tensor of "
                         f"weights, got shape {input.shape} and dtype {data.dtype}")
    weights = backend.to_numpy(data).astype(np.float64).reshape(-1, data.shape[-1])
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("multinomial: weights must be finite and non-negative")
    if (weights.sum(axis=1) <= 0).any():
        raise ValueError("multinomial: the weights of each row must have a positive sum")
    if num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not replacement and num_samples > weights.shape[1]:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         f"from {weights.shape[1]} categories")
    return weights


@tensor_method
def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Category indices drawn with probabilities proportional to the weights of each row.

    With replacement, each draw is independent: P(k) = w_k / sum_j w_j. Without replacement,
    a category is drawn at most once, each draw among those left (categories of weight 0 come
    last). Sampling without replacement uses exponential keys: the categories with the
    ``num_samples`` smallest E_k / w_k, E_k ~ Exp(1), in increasing order.

    Args:
        input: non-negative weights, (n,) or (m, n); they need not sum to 1.
        num_samples: draws per row.
        replacement: draw with replacement.
        generator: a ``numpy.random.Generator``; default chainrule's global generator.

    Returns:
        int64 indices, (num_samples,) or (m, num_samples).

    Example:
        >>> cr.multinomial(cr.tensor([0.0, 1.0, 3.0]), 4, replacement=True)   # 1s and 2s
    """
    weights = _weights(input, num_samples, replacement)
    gen = _generator(generator)
    rows, n = weights.shape
    if replacement:
        cdf = np.cumsum(weights, axis=1)
        u = gen.random((rows, num_samples)) * cdf[:, -1:]
        last = n - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)  # the last category of weight > 0
        index = np.stack([np.minimum(np.searchsorted(cdf[r], u[r], side="right"), last[r])
                          for r in range(rows)])
    else:
        with np.errstate(divide="ignore"):
            keys = gen.standard_exponential((rows, n)) / weights
        index = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    index = _placed(index.astype(np.int64), input.data)
    return wrap(index.reshape(num_samples) if input.ndim == 1 else index)


def dropout(input, p=0.5, train=True, *, generator=None):  # noqa: A002 - PyTorch's name
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 - p).

    y = x m / (1 - p) with m_i ~ Bernoulli(1 - p), so E[y] = x and evaluation needs no
    rescaling; dy/dx = m / (1 - p). The identity when ``train`` is False or p = 0.

    Args:
        input: any tensor.
        p: the probability of dropping an element, 0 <= p <= 1.
        train: apply dropout (True) or return the input (False).
        generator: a ``numpy.random.Generator``; default chainrule's global generator.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not train or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(np.float32)
    keep = _generator(generator).random(input.shape, dtype=np.float32) >= p
    mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return input * _placed(mask, input.data)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["bernoulli", "dropout", "multinomial", "normal"]
