"""Batches of sequences of different lengths: padding, lengths, masks.

chainrule batches variable-length sequences by **padding and masking** (not PyTorch's packed
sequences): pad them to a common length with :func:`pad_sequence`, and pass their true lengths to
the recurrent layer, ``rnn(padded, lengths=lengths)``. Inside, a mask freezes each sequence's
state after its last valid step, so ``h_n`` is the state at step ``length - 1`` and the output is
zero at padded steps; in the reverse direction of a bidirectional layer each sequence starts at its
own last element. The results equal PyTorch's ``pack_padded_sequence`` -> RNN ->
``pad_packed_sequence`` (tests check it), while every tensor keeps a plain rectangular shape.

Example:
    >>> seqs = [cr.randn(5, 3), cr.randn(2, 3), cr.randn(4, 3)]
    >>> x = pad_sequence(seqs, batch_first=True)             # (3, 5, 3)
    >>> lengths = [5, 2, 4]
    >>> out, h_n = nn.GRU(3, 8, batch_first=True)(x, lengths=lengths)
    >>> last = last_timestep(out, lengths, batch_first=True)  # == h_n[-1] for one direction
"""

from __future__ import annotations

import numpy as np

from chainrule.creation import from_numpy
from chainrule.ops.movement import getitem, pad, stack
from chainrule.tensor import Tensor


def _lengths_array(lengths, batch: int | None = None, max_len: int | None = None,
                   who: str = "lengths") -> np.ndarray:
    """Validate ``lengths`` (list, array or Tensor of ints) and return an int64 array."""
    raw = lengths.data if isinstance(lengths, Tensor) else lengths
    arr = np.asarray(raw.get() if hasattr(raw, "get") else raw)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{who}: lengths must be a 1-D sequence of integers, got {lengths!r}")
    arr = arr.astype(np.int64)
    if batch is not None and arr.shape[0] != batch:
        raise ValueError(f"{who}: {arr.shape[0]} lengths given for a batch of {batch} sequences")
    if arr.size and arr.min() < 1:
        raise ValueError(f"{who}: every length must be >= 1, got {arr.tolist()}")
    if max_len is not None and arr.size and arr.max() > max_len:
        raise ValueError(f"{who}: length {int(arr.max())} exceeds the sequence length "
                         f"{max_len} of the input")
    return arr


def step_mask(lengths, max_len: int, batch: int | None = None) -> np.ndarray:
    """The boolean mask m[t, b, 0] = t < lengths[b], shape (max_len, B, 1) (time-major).

    This is the form the recurrent primitives take (:mod:`chainrule.ops.recurrent`).
    """
    arr = _lengths_array(lengths, batch, max_len, "step_mask")
    return (np.arange(max_len)[:, None] < arr[None, :])[:, :, None]


def lengths_to_mask(lengths, max_len: int | None = None, batch_first: bool = False) -> Tensor:
    """A boolean Tensor that is True at valid steps: mask[t, b] = t < lengths[b].

    Args:
        lengths: the length of each sequence (B integers).
        max_len: the padded length T (default: the largest length).
        batch_first: return (B, T) instead of (T, B).

    Returns:
        A bool Tensor of shape (T, B), or (B, T) when ``batch_first``.

    Example:
        >>> lengths_to_mask([3, 1], batch_first=True)
        tensor([[ True,  True,  True], [ True, False, False]])
    """
    arr = _lengths_array(lengths, who="lengths_to_mask")
    if max_len is None:
        max_len = int(arr.max()) if arr.size else 0
    mask = step_mask(arr, max_len)[:, :, 0]
    return from_numpy(np.ascontiguousarray(mask.T) if batch_first else mask)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack sequences of shapes (L_i, *) into one padded Tensor, as PyTorch's ``pad_sequence``.

    Each sequence is padded at its end with ``padding_value`` up to L = max_i L_i. The result is
    differentiable: each input gets back its slice of the gradient.

    Args:
        sequences: Tensors of shapes (L_i, *) with equal trailing dimensions.
        batch_first: return (B, L, *) instead of (L, B, *).
        padding_value: the value of padded positions.

    Returns:
        The padded batch, (L, B, *) or (B, L, *).
    """
    seqs = [s if isinstance(s, Tensor) else from_numpy(np.asarray(s)) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: expected a non-empty sequence of tensors")
    trailing = {s.shape[1:] for s in seqs}
    if any(s.ndim == 0 for s in seqs) or len(trailing) != 1:
        raise ValueError(f"pad_sequence: sequences must have shapes (L_i, *) with equal trailing "
                         f"dimensions, got {[s.shape for s in seqs]}")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        widths = (0, 0) * (s.ndim - 1) + (0, extra)
        padded.append(pad(s, widths, value=padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


def last_timestep(output: Tensor, lengths, batch_first: bool = False) -> Tensor:
    """The output at each sequence's last valid step: out[lengths[b] - 1, b].

    For a unidirectional layer this equals the final hidden state of the last layer; it is the
    input of a many-to-one head when only the output sequence is at hand.

    Args:
        output: (T, B, F) or (B, T, F) with ``batch_first``.
        lengths: the B sequence lengths.
        batch_first: the layout of ``output``.

    Returns:
        (B, F).
    """
    batch = output.shape[0] if batch_first else output.shape[1]
    steps = output.shape[1] if batch_first else output.shape[0]
    arr = _lengths_array(lengths, batch, steps, "last_timestep")
    rows = np.arange(batch)
    index = (rows, arr - 1) if batch_first else (arr - 1, rows)
    return getitem(output, index)
