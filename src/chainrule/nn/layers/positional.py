"""Position information for attention, which by itself ignores the order of its inputs.

Two chainrule additions (PyTorch has neither layer): the fixed sinusoidal
:class:`PositionalEncoding` of "Attention Is All You Need" and the trained
:class:`LearnedPositionalEmbedding` of BERT and GPT. Both add a vector per position to their
input: y[pos] = x[pos] + P[pos].
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend, creation
from chainrule.nn import init
from chainrule.nn.checks import check_dtype
from chainrule.nn.layers.dropout import Dropout
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


def _positions(layer, input, batch_first, offset, max_len, d_model):
    """The sequence axis of ``input`` and its length, checked against the layer."""
    name = f"{type(layer).__name__}(max_len={max_len}, d_model={d_model})"
    if input.ndim not in (2, 3) or input.shape[-1] != d_model:
        raise ValueError(f"{name}: expected a (N, L, {d_model}), (L, N, {d_model}) or (L, "
                         f"{d_model}) input, got shape {tuple(input.shape)}")
    axis = 1 if input.ndim == 3 and batch_first else 0
    length = input.shape[axis]
    if offset < 0 or offset + length > max_len:
        raise ValueError(f"{name}: positions {offset}..{offset + length - 1} exceed max_len; "
                         f"input shape {tuple(input.shape)}, offset {offset}")
    return axis, length


def _align(table, input, axis):
    """A (L, E) table shaped to broadcast over the input's batch axis."""
    return table.unsqueeze(1) if input.ndim == 3 and axis == 0 else table


class PositionalEncoding(Module):
    """Add the fixed sinusoidal encoding of each position, then apply dropout (a chainrule
    addition: PyTorch has no such layer).

    PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)),
    y = dropout(x + PE[offset : offset + L]). Each pair of dimensions is a rotation at its own
    frequency, so PE(pos + k) is a linear function of PE(pos). The (max_len, d_model) table is
    the non-persistent buffer ``pe``: it is not saved in the ``state_dict`` and not trained.

    Args:
        d_model: d, the size of each position's vector.
        max_len: the number of positions in the table.
        dropout: the dropout probability applied after the addition (training mode only).
        batch_first: (N, L, d) inputs rather than (L, N, d); (L, d) inputs work either way.

    Shape:
        (N, L, d), (L, N, d) or (L, d) -> the same.

    Example:
        >>> pos = nn.PositionalEncoding(16, max_len=100)
        >>> pos(cr.zeros(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=True):
        super().__init__()
        self.d_model, self.max_len = int(d_model), int(max_len)
        self.batch_first = batch_first
        self.dropout = Dropout(dropout)
        position = np.arange(self.max_len, dtype=np.float64)[:, None]
        # NOTE: 10000^(-2i/d) = exp(-2i ln(10000) / d), one frequency per (sin, cos) pair.
        frequency = np.exp(np.arange(0, self.d_model, 2) * (-math.log(10000.0) / self.d_model))
        table = np.zeros((self.max_len, self.d_model))
        table[:, 0::2] = np.sin(position * frequency)
        table[:, 1::2] = np.cos(position * frequency[: self.d_model // 2])
        pe = creation.from_numpy(table.astype(backend.DEFAULT_FLOAT))
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, input, offset=0):
        """x + PE[offset : offset + L] (``offset``: the first position, for decoding step by
        step), then dropout."""
        axis, length = _positions(self, input, self.batch_first, offset, self.max_len,
                                  self.d_model)
        table = self.pe.data[offset:offset + length]
        if table.dtype != input.dtype:
            table = table.astype(input.dtype)
        out = input + _align(creation.from_numpy(table), input, axis)
        return self.dropout(out)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEmbedding(Module):
    """Add a trained vector per position: y = x + W[offset : offset + L] (a chainrule
    addition: PyTorch has no such layer; it is the position embedding of GPT and BERT).

    An embedding table of ``max_len`` positions, ``weight`` of shape (max_len, d_model) drawn
    from N(0, 1) like :class:`Embedding`'s (GPT-style models often re-draw it with a smaller
    deviation), whose first L rows are added to an input of length L.

    Args:
        max_len: the number of positions (the longest sequence).
        d_model: the size of each vector.
        batch_first: (N, L, d) inputs rather than (L, N, d); (L, d) inputs work either way.
        dtype: parameter dtype.

    Shape:
        (N, L, d), (L, N, d) or (L, d) -> the same.

    Example:
        >>> pos = nn.LearnedPositionalEmbedding(100, 16)
        >>> pos(cr.zeros(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, max_len, d_model, batch_first=True, dtype=None):
        super().__init__()
        if max_len <= 0 or d_model <= 0:
            raise ValueError(f"LearnedPositionalEmbedding: max_len and d_model must be "
                             f"positive, got max_len={max_len}, d_model={d_model}")
        self.max_len, self.d_model = int(max_len), int(d_model)
        self.batch_first = batch_first
        self.weight = Parameter(creation.empty(self.max_len, self.d_model, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W ~ N(0, 1)."""
        init.normal_(self.weight)

    def forward(self, input, offset=0):
        """x + W[offset : offset + L] (``offset``: the first position)."""
        axis, length = _positions(self, input, self.batch_first, offset, self.max_len,
                                  self.d_model)
        check_dtype(self, input, self.weight)
        return input + _align(self.weight[offset:offset + length], input, axis)

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.d_model}, batch_first={self.batch_first}"
