"""What the Trainer takes as data, and what it reads from a batch.

``as_loader`` turns an ``(X, y)`` pair, an array, a Dataset or a DataLoader into a DataLoader;
``split_batch`` splits what a loader yields into inputs and targets; ``batch_len`` counts the
samples of a batch, which weigh its values in the means of an epoch.
"""

from __future__ import annotations

from chainrule.data.dataset import Dataset, TensorDataset
from chainrule.data.loader import DataLoader
from chainrule.tensor import ARRAY_TYPES, Tensor


def as_loader(data, batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
              name: str = "data") -> DataLoader:
    """A DataLoader from a DataLoader (returned as is), a Dataset, an ``(X, y)`` pair or ``X``.

    Raises:
        TypeError: for anything else, naming the argument.
    """
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, (tuple, list)) and len(data) in (1, 2):
        return DataLoader(TensorDataset(*data), batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, (Tensor, *ARRAY_TYPES)):
        return DataLoader(TensorDataset(data), batch_size, shuffle=shuffle, seed=seed)
    raise TypeError(f"{name} must be a DataLoader, a Dataset, an (X, y) pair or an array, got "
                    f"{type(data).__name__}")


def split_batch(batch):
    """(inputs, targets) of a batch: ``(x, y)``, ``(x,)`` or a bare ``x`` (targets None)."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1]
        if len(batch) == 1:
            return batch[0], None
        raise ValueError(f"a batch must be (inputs, targets) or (inputs,), got {len(batch)} "
                         "items; use a tuple of inputs as the first item for several inputs")
    return batch, None


def batch_len(x) -> int:
    """The number of samples in a batch of inputs (the first of a tuple, of a dict)."""
    while isinstance(x, (tuple, list)):
        x = x[0]
    if isinstance(x, dict):
        return batch_len(next(iter(x.values())))
    return len(x)
