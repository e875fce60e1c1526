"""`DataLoader`: batches of a dataset, in order or shuffled, one epoch per iteration.

The batch size chooses the flavour of gradient descent (SPEC 6), with one update per batch:

- batch gradient descent: ``batch_size=len(dataset)``, one update per epoch;
- stochastic gradient descent: ``batch_size=1``, one update per sample;
- mini-batch gradient descent: anything between, with ``shuffle=True`` so that every epoch
  visits every sample once, in a new random order, without replacement.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.data.collate import default_collate
from chainrule.data.dataset import Dataset


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Each ``for batch in loader`` is one epoch. With ``shuffle=True`` every epoch draws a new
    permutation: from a private generator when ``seed`` or ``generator`` is given (so the order
    does not depend on other randomness), otherwise from chainrule's global generator (seeded by
    :func:`chainrule.manual_seed`).

    Args:
        dataset: a :class:`Dataset` (anything with ``__len__`` and ``__getitem__``).
        batch_size: samples per batch (>= 1).
        shuffle: draw a new random order every epoch.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        seed: seed of the loader's own generator.
        generator: a ``numpy.random.Generator`` to shuffle with (not together with ``seed``).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
            Without one, a dataset's ``__getitems__(indices)`` (if it has one) fetches a whole
            batch at once.
        sampler: an iterable of indices giving the order (instead of ``shuffle``).
        batch_sampler: an iterable of lists of indices, one list per batch (instead of
            ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers, pin_memory, timeout, worker_init_fn, multiprocessing_context,
            prefetch_factor, persistent_workers: accepted for PyTorch code. chainrule loads
            every batch in the calling process (the batches are the same; ``worker_init_fn``
            is called once, with worker id 0, when ``num_workers > 0``).

    Raises:
        ValueError: for an empty dataset, a batch size below 1, or ``drop_last=True`` with a batch
            size larger than the dataset (no batch at all).

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
        >>> for epoch in range(10):
        ...     for xb, yb in loader:
        ...         optimizer.zero_grad()
        ...         loss_fn(model(xb), yb).backward()
        ...         optimizer.step()
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None,
                 generator: np.random.Generator | None = None, *, prefetch_factor=None,
                 persistent_workers: bool = False, seed: int | None = None):
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batched = batch_size is not None or batch_sampler is not None
        if batch_sampler is not None or batch_size is None:
            batch_size = 1
        if worker_init_fn is not None and num_workers > 0:
            worker_init_fn(0)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        n = len(dataset)
        if n == 0:
            raise ValueError("DataLoader: the dataset is empty (length 0)")
        if drop_last and batch_size > n:
            raise ValueError(f"DataLoader: drop_last=True with batch_size={batch_size} larger "
                             f"than the dataset (length {n}) would give no batch")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give either seed or generator, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = np.random.default_rng(seed) if seed is not None else generator
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        """The number of batches per epoch."""
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield self._fetch(np.asarray(list(indices), dtype=np.int64))
            return
        order = self._order(len(self.dataset))
        if not self.batched:  # batch_size=None: one sample at a time, as it is
            for i in order:
                sample = self.dataset[int(i)]
                yield self.collate_fn(sample) if self.collate_fn is not None else sample
            return
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def _order(self, n: int) -> np.ndarray:
        if self.sampler is not None:
            return np.asarray([int(i) for i in self.sampler], dtype=np.int64)
        if not self.shuffle:
            return np.arange(n)
        generator = self.generator if self.generator is not None else \
            backend.default_generator()
        return generator.permutation(n)

    def _fetch(self, indices: np.ndarray):
        if self.collate_fn is None and hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(indices)
        collate = self.collate_fn or default_collate
        return collate([self.dataset[int(i)] for i in indices])

    # ---- resuming -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The state of the loader's own generator (empty when it shuffles with the global one)."""
        if self.generator is None:
            return {}
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`, so the next epochs repeat exactly."""
        if "generator" not in state:
            return
        kind = state["generator"]["bit_generator"]
        if self.generator is None or type(self.generator.bit_generator).__name__ != kind:
            self.generator = np.random.Generator(getattr(np.random, kind)())
        self.generator.bit_generator.state = state["generator"]

    def __repr__(self) -> str:
        return (f"DataLoader(len(dataset)={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
