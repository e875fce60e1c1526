"""`chainrule.utils.data`: the data pipeline under the name PyTorch code imports it by.

Every object here *is* the one of :mod:`chainrule.data` (the same class or function, not a
copy), so ``cr.utils.data.DataLoader is cr.data.DataLoader`` and code written for
``torch.utils.data`` runs unchanged:

    >>> from chainrule.utils.data import DataLoader, TensorDataset, random_split
    >>> train, val = random_split(TensorDataset(X, y), [0.8, 0.2], generator=rng)
    >>> for xb, yb in DataLoader(train, batch_size=32, shuffle=True, drop_last=True):
    ...     ...

Differences from PyTorch: ``generator`` is a ``numpy.random.Generator`` (or pass ``seed=``);
batches are loaded in the main process, so there is no ``num_workers`` or ``pin_memory``
argument (``sampler=`` is there, e.g. a ``DistributedSampler``).
"""

from chainrule.data import (  # noqa: F401
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "DistributedSampler", "Subset",
           "TensorDataset", "default_collate", "random_split"]
