"""`Value`: one tensor of the graph being built, its ONNX name beside chainrule's own value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule.tensor import Tensor


@dataclass(frozen=True)
class Value:
    """One tensor of the graph: its ONNX ``name`` and chainrule's ``tensor`` for the example.

    Converters read ranks, shapes and dtypes from ``tensor`` (no ONNX shape inference needed)
    and never bake its batch size into the graph.
    """

    name: str
    tensor: Tensor

    @property
    def shape(self) -> tuple:
        """The example's shape (its batch size is not the graph's)."""
        return tuple(self.tensor.shape)

    @property
    def ndim(self) -> int:
        """The rank, the same for every batch size."""
        return self.tensor.ndim

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype, the same for every batch size."""
        return np.dtype(self.tensor.dtype)
