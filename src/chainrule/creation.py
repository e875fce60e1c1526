"""Creating tensors: from data, filled, ranges, and random.

Dtype rule (like JAX, unlike PyTorch): Python floats and float64 NumPy arrays become float32
unless ``dtype`` is given; integer and boolean data keep their dtype (class labels stay int64).
Shapes may be given as varargs or as one tuple: ``zeros(2, 3) == zeros((2, 3))``.
"""

from __future__ import annotations

import secrets

import numpy as np

from chainrule import backend
from chainrule.tensor import ARRAY_TYPES, Tensor, shape_arg, wrap


def to_array(data, dtype=None, copy=False):
    """Convert ``data`` to an array following chainrule's dtype rule."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, ARRAY_TYPES):
        arr = data
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        arr = np.asarray([to_array(d) for d in data])
    else:
        arr = np.asarray(data)
    if dtype is not None:
        dtype = np.dtype(dtype)
    elif arr.dtype.kind == "f" and arr.dtype != np.float16:
        dtype = backend.DEFAULT_FLOAT
    elif arr.dtype.kind in "iu" and isinstance(data, (int, list, tuple)):
        dtype = np.dtype(np.int64)
    elif arr.dtype.kind not in "fiubc":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        return arr.astype(dtype)
    return arr.copy() if copy else arr


def _placed(array, device=None, requires_grad=False) -> Tensor:
    """A tensor around a new ``array``, moved to ``device`` and marked ``requires_grad``."""
    if device is not None:
        array = backend.to_device(array, device)
    t = wrap(array)
    return t.requires_grad_() if requires_grad else t


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Example:
        >>> cr.tensor([[1.0, 2.0]], requires_grad=True).dtype     # float32
        >>> cr.tensor([0, 2, 1]).dtype                            # int64
    """
    return _placed(to_array(data, dtype, copy=True), device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with ``data`` when no conversion is needed."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype) and (
            device is None or data.device == device):
        return data
    return _placed(to_array(data, dtype), device)


def from_numpy(array) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (float64 stays float64).

    A NumPy array (or a CuPy array, on the GPU) is used as it is, without a copy.
    """
    return wrap(array if isinstance(array, ARRAY_TYPES) else np.asarray(array))


def get_default_dtype() -> np.dtype:
    """The dtype of floating-point tensors made without a ``dtype``: float32."""
    return backend.DEFAULT_FLOAT


def _dtype(dtype):
    return backend.DEFAULT_FLOAT if dtype is None else np.dtype(dtype)


def _filled(fill, shape, dtype, device, requires_grad):
    return _placed(fill(shape_arg(shape), dtype=_dtype(dtype)), device, requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros."""
    return _filled(np.zeros, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    return _filled(np.ones, shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor."""
    return _filled(np.empty, shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    return _placed(np.full(shape_arg((shape,)), fill_value, dtype=_dtype(dtype)), device,
                   requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                         requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                        requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor of the shape (and by default the dtype) of ``x``."""
    return empty(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                         requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else backend.DEFAULT_FLOAT
    return _placed(np.arange(start, end, step, dtype=np.dtype(dtype)), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _placed(np.linspace(start, end, steps, dtype=_dtype(dtype)), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The identity matrix (n x m)."""
    return _placed(np.eye(n, m, dtype=_dtype(dtype)), device, requires_grad)


def _random(draw, shape, dtype, device, requires_grad, generator):
    gen = generator or backend.default_generator()
    arr = draw(gen, shape_arg(shape)).astype(_dtype(dtype), copy=False)
    return _placed(arr, device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform samples on [0, 1) from the global (or the given) generator."""
    return _random(lambda g, s: g.random(s), shape, dtype, device, requires_grad,
                   generator)


def randn(*shape, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples from the global (or the given) generator."""
    return _random(lambda g, s: g.standard_normal(s), shape, dtype, device, requires_grad,
                   generator)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniform on [low, high) (int64)."""
    if high is None:
        low, high = 0, low
    gen = generator or backend.default_generator()
    return _placed(gen.integers(low, high, size=shape_arg((size,)),
                                dtype=np.dtype(dtype or np.int64)), device)


def rand_like(x, dtype=None, device=None) -> Tensor:
    return rand(x.shape, dtype=dtype or x.dtype, device=device or x.device)


def randn_like(x, dtype=None, device=None) -> Tensor:
    return randn(x.shape, dtype=dtype or x.dtype, device=device or x.device)


def randint_like(x, low, high=None, dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniform on [low, high) in the shape of ``x`` (PyTorch keeps ``x``'s dtype too:
    here the default is ``x``'s dtype, so a float ``x`` gives whole numbers as floats)."""
    if high is None:
        low, high = 0, low
    gen = generator or backend.default_generator()
    values = gen.integers(low, high, size=tuple(x.shape))
    return _placed(values.astype(np.dtype(dtype or x.dtype), copy=False), device or x.device)


def randperm(n, dtype=None, device=None, generator=None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    gen = generator or backend.default_generator()
    return _placed(gen.permutation(n).astype(np.dtype(dtype or np.int64)), device)


def seed() -> int:
    """Seed the global generator with a fresh non-deterministic 64-bit number and return it
    (``manual_seed(seed())`` replays the run that follows)."""
    value = secrets.randbits(64)
    backend.manual_seed(value)
    return value


def initial_seed() -> int:
    """The seed the global generator was last seeded with (0 until ``manual_seed`` or
    ``seed`` is called); restoring a state with ``set_rng_state`` does not change it."""
    return int(backend.default_generator().bit_generator.seed_seq.entropy)
