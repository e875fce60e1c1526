"""`DistributedSampler`: each rank's share of a dataset's indices, PyTorch's semantics.

For N = ``num_replicas`` ranks and a dataset of n samples, every epoch:

1. the order: a permutation of 0 .. n - 1 drawn from ``seed + epoch`` (the same on every rank),
   or 0 .. n - 1 without ``shuffle``;
2. its length made a multiple of N: without ``drop_last`` the order is padded by repeating its
   first indices (cycling when it is shorter than the padding), to total = N ceil(n / N);
   with ``drop_last`` the tail is cut, to total = N floor(n / N);
3. rank r takes every N-th index from position r: order[r], order[r + N], ...

so the ranks' shares are disjoint (but for the padding), of equal length total / N, and cover
the dataset. ``set_epoch(e)`` before each epoch gives a new order.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of this rank's share of ``dataset``, for a ``DataLoader(sampler=...)``.

    Args:
        dataset: anything with ``__len__``.
        num_replicas: the number of ranks N (default: ``cr.distributed.world_size()``).
        rank: this rank, in 0 .. N - 1 (default: ``cr.distributed.rank()``).
        shuffle: a new permutation every epoch (drawn by NumPy's generator from
            ``seed + epoch``: the same on every rank, but not PyTorch's numbers).
        seed: the seed of the permutations, the same on every rank.
        drop_last: cut the tail so that the shares divide evenly, instead of padding.

    Raises:
        ValueError: for a rank outside 0 .. N - 1 or N < 1.

    Example:
        >>> sampler = DistributedSampler(train_set, shuffle=True, seed=0)
        >>> loader = DataLoader(train_set, batch_size=32, sampler=sampler)
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)       # a new order, the same on every rank
        ...     for x, y in loader: ...
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from chainrule import distributed

            num_replicas = distributed.world_size() if num_replicas is None else num_replicas
            rank = distributed.rank() if rank is None else rank
        if int(num_replicas) < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= int(rank) < int(num_replicas):
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {int(num_replicas) - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:
                order = np.concatenate([order, np.resize(order, padding)])
        else:
            order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        """The number of indices per rank and epoch: ceil(n / N), or floor with drop_last."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``seed + epoch`` for the next iteration (call it on every rank
        before every epoch, or each epoch repeats the same order)."""
        self.epoch = int(epoch)
