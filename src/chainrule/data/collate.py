"""Collation: turning a list of samples into one batch.

``default_collate`` stacks along a new first dimension, recursing into tuples, lists and dicts,
as PyTorch's does: ``[(x0, y0), (x1, y1)] -> (stack([x0, x1]), stack([y0, y1]))``.
"""

from __future__ import annotations

import numbers

import numpy as np

from chainrule import backend
from chainrule.creation import as_tensor, from_numpy
from chainrule.tensor import Tensor


def default_collate(samples: list):
    """Stack a list of samples into a batch.

    Tensors and arrays are stacked on a new first axis (arrays follow chainrule's dtype rule:
    float64 becomes float32); Python ints become an int64 tensor, floats float32, bools bool;
    strings stay a list; tuples, lists and dicts are collated element by element, keeping their
    type (named tuples too).

    Args:
        samples: a non-empty list of samples with the same structure.

    Returns:
        The batch, with the structure of one sample.

    Raises:
        TypeError: for a sample type that cannot be batched, naming it.

    Example:
        >>> default_collate([(cr.tensor([1., 2.]), 0), (cr.tensor([3., 4.]), 1)])
        (tensor([[1., 2.], [3., 4.]]), tensor([0, 1]))
    """
    first = samples[0]
    if isinstance(first, Tensor):
        xp = backend.namespace(first.data)
        return from_numpy(xp.stack([s.data for s in samples]))
    if isinstance(first, np.ndarray):
        return as_tensor(np.stack(samples))
    if isinstance(first, (bool, np.bool_)):
        return as_tensor(np.array(samples, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return as_tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return as_tensor(np.array(samples, dtype=np.float32))
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # named tuple
        return type(first)(*(default_collate(list(f)) for f in zip(*samples)))
    if isinstance(first, (tuple, list)):
        sizes = {len(s) for s in samples}
        if len(sizes) != 1:
            raise ValueError(f"default_collate: samples have different lengths {sorted(sizes)}")
        return type(first)(default_collate(list(f)) for f in zip(*samples))
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "expected tensors, arrays, numbers, strings, tuples, lists or dicts")
