"""Datasets: indexable collections of samples, and how to split them.

A :class:`Dataset` maps an index ``i`` in ``0 .. len - 1`` to one sample (for supervised learning
usually a tuple ``(x, y)``). :class:`TensorDataset` wraps arrays that share their first dimension;
:func:`random_split` cuts a dataset into non-overlapping random :class:`Subset`\\ s.

A dataset may also define ``__getitems__(indices)`` returning a whole collated batch at once; the
:class:`~chainrule.data.DataLoader` then skips the per-sample Python loop (``TensorDataset`` and
``Subset`` do this, so a batch is one fancy-indexing of each array).
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.creation import as_tensor, from_numpy
from chainrule.data.collate import default_collate
from chainrule.tensor import Tensor


class Dataset:
    """Base class of map-style datasets: implement ``__getitem__`` and ``__len__``.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return float(i), float(i * i)
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples ``(tensors[0][i], tensors[1][i], ...)`` of tensors sharing their first dimension.

    Args:
        *tensors: Tensors or arrays (converted with :func:`chainrule.as_tensor`, so float64
            arrays become float32 and integer labels stay int64).

    Raises:
        ValueError: when no tensor is given or the first dimensions differ.

    Example:
        >>> ds = TensorDataset(cr.randn(100, 2), cr.randint(0, 2, (100,)))
        >>> x, y = ds[0]            # shapes (2,) and ()
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: at least one tensor is required")
        self.tensors = tuple(t if isinstance(t, Tensor) else as_tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(t.shape) for t in self.tensors)
            raise ValueError(f"TensorDataset: tensors must share their first dimension, got "
                             f"shapes {shapes}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(from_numpy(t.data[index]) for t in self.tensors)

    def __getitems__(self, indices):
        """A whole batch: one fancy-indexing per tensor."""
        indices = np.asarray(indices, dtype=np.int64)
        return tuple(from_numpy(t.data[indices]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        inner = self.indices[np.asarray(indices, dtype=np.int64)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return default_collate([self.dataset[int(i)] for i in inner])


class ConcatDataset(Dataset):
    """The samples of several datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1] if self.cumulative_sizes else 0

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def _split_lengths(lengths, n: int) -> list[int]:
    """Integer lengths from integers or fractions (remainders go round-robin, like PyTorch)."""
    lengths = list(lengths)
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        if any(x < 0 for x in lengths) or sum(lengths) != n:
            raise ValueError(f"random_split: lengths {lengths} must be non-negative and sum to "
                             f"the dataset's length {n}")
        return [int(x) for x in lengths]
    if any(not 0 <= x <= 1 for x in lengths) or not math.isclose(sum(lengths), 1.0):
        raise ValueError(f"random_split: fractions {lengths} must lie in [0, 1] and sum to 1")
    counts = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset: Dataset, lengths, seed: int | None = None,
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: integer lengths summing to ``len(dataset)``, or fractions summing to 1
            (``[0.8, 0.2]``).
        seed: seed of a private generator, so the split does not depend on other randomness.
        generator: a ``numpy.random.Generator`` to draw from; by default chainrule's global
            generator (seeded by :func:`chainrule.manual_seed`).

    Returns:
        A list of :class:`Subset`, one per length.

    Example:
        >>> train, val = random_split(TensorDataset(X, y), [0.9, 0.1], seed=0)
    """
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    if generator is None:
        generator = np.random.default_rng(seed) if seed is not None else \
            backend.default_generator()
    order = generator.permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
