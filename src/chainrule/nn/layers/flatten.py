"""`Flatten` and `Unflatten`: reshape layers between convolutional and dense parts."""

from __future__ import annotations

import numpy as np

from chainrule.nn.module import Module


class Flatten(Module):
    """Merge the dimensions ``start_dim`` .. ``end_dim`` into one.

    Shape:
        (N, C, H, W) -> (N, C * H * W) with the defaults start_dim=1, end_dim=-1.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        if input.ndim == 0:
            return input.reshape(1)
        n = input.ndim
        if not (-n <= self.start_dim < n and -n <= self.end_dim < n):
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): "
                             f"input has {n} dims, shape {tuple(input.shape)}")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``, e.g. (N, 784) -> (N, 1, 28, 28).

    One entry of ``unflattened_size`` may be -1 (inferred).
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(int(s) for s in unflattened_size)

    def forward(self, input):
        n = input.ndim
        if not -n <= self.dim < n:
            raise ValueError(f"Unflatten(dim={self.dim}): input has {n} dims, shape "
                             f"{tuple(input.shape)}")
        d = self.dim % n
        size = self.unflattened_size
        known = int(np.prod([s for s in size if s != -1]))
        ok = input.shape[d] == known if -1 not in size else (known and input.shape[d] % known
                                                             == 0)
        if not ok:
            raise ValueError(f"Unflatten(dim={self.dim}, unflattened_size={size}): dimension "
                             f"{d} has size {input.shape[d]}, shape {tuple(input.shape)}")
        return input.reshape(input.shape[:d] + size + input.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
