"""Recurrent models for sequences: classification and regression heads on RNN, LSTM or GRU.

The kinds of recurrent network the lecture decks list map onto them:

- many-to-one (a sequence in, one output): :class:`RNNClassifier`, :class:`RNNRegressor`;
- many-to-many (an output at every step): ``RNNRegressor(..., many_to_many=True)``;
- one-to-many (one input, a generated sequence): feed a model's own output back as its next
  input, as the character language model of ``examples/char_lm.py`` does when it samples;
- one-to-one is the feed-forward network (``models.MLP``).
"""

from __future__ import annotations

import chainrule as cr
from chainrule import nn
from chainrule.nn.layers.embedding import Embedding
from chainrule.nn.layers.recurrent import GRU, LSTM, RNN

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _recurrent(cell, input_size, hidden_size, num_layers, bidirectional, dropout):
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose from {sorted(CELLS)}")
    return CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                       bidirectional=bidirectional, dropout=dropout)


class _SequenceModel(nn.Module):
    """A recurrent layer (optionally after an embedding) and a linear head."""

    def __init__(self, input_size, hidden_size, out_features, cell, num_layers, bidirectional,
                 dropout, num_embeddings, padding_idx):
        super().__init__()
        self.cell, self.hidden_size = cell, hidden_size
        if num_embeddings is not None:
            self.embedding = Embedding(num_embeddings, input_size, padding_idx=padding_idx)
        else:
            self.embedding = None
        self.rnn = _recurrent(cell, input_size, hidden_size, num_layers, bidirectional, dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), out_features)

    def _encode(self, x, lengths):
        """(output (N, T, D*H), last hidden state of the top layer (N, D*H))."""
        if self.embedding is not None:
            x = self.embedding(x)
        output, h_n = self.rnn(x, lengths=lengths)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        directions = 2 if self.rnn.bidirectional else 1
        top = [h_n[-directions + d] for d in range(directions)]
        return output, (top[0] if directions == 1 else cr.cat(top, -1))


class RNNClassifier(_SequenceModel):
    """Many-to-one classification: logits = W [h_T ; h_1'] + b from the last hidden states.

    The recurrent layer reads the whole sequence; its final hidden state (the forward
    direction's h_T, concatenated with the backward direction's state at t = 1 when
    bidirectional) goes through a linear layer to class logits (use ``nn.CrossEntropyLoss``).

    Args:
        input_size: features per time step (or the embedding size with ``num_embeddings``).
        hidden_size: recurrent state size H.
        num_classes: number of classes.
        cell: "lstm" (default), "gru" or "rnn" (Elman, tanh).
        num_layers: stacked recurrent layers.
        bidirectional: read the sequence in both directions.
        dropout: dropout between stacked recurrent layers.
        num_embeddings: if given, inputs are integer tokens in [0, num_embeddings), embedded
            by an ``nn.Embedding(num_embeddings, input_size, padding_idx)`` first.
        padding_idx: the padding token of the embedding.

    Shape:
        input (N, T, F) floats, or (N, T) integers with ``num_embeddings``; optional
        ``lengths`` (N,) for padded batches. Output (N, num_classes).

    Example:
        >>> model = RNNClassifier(1, 32, 3, cell="gru")
        >>> model(cr.randn(8, 50, 1)).shape                      # (8, 3)
    """

    def __init__(self, input_size, hidden_size, num_classes, cell="lstm", num_layers=1,
                 bidirectional=False, dropout=0.0, num_embeddings=None, padding_idx=None):
        super().__init__(input_size, hidden_size, num_classes, cell, num_layers, bidirectional,
                         dropout, num_embeddings, padding_idx)

    def forward(self, x, lengths=None):
        _, last = self._encode(x, lengths)
        return self.head(last)


class RNNRegressor(_SequenceModel):
    """Regression on sequences: y = W h_T + b (many-to-one) or y_t = W h_t + b (many-to-many).

    With the decks' notation, h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h) and
    y_t = W_yh h_t + b_y for ``cell="rnn"``; LSTM and GRU replace the state update.

    Args:
        input_size: features per time step.
        hidden_size: recurrent state size H.
        output_size: values predicted (per sequence, or per step when ``many_to_many``).
        cell, num_layers, bidirectional, dropout: as :class:`RNNClassifier`.
        many_to_many: predict at every time step instead of once at the end.

    Shape:
        input (N, T, F); output (N, output_size), or (N, T, output_size) when many_to_many
        (zero at padded steps when ``lengths`` is given).

    Example:
        >>> model = RNNRegressor(1, 32)                          # next value of a series
        >>> model(cr.randn(16, 30, 1)).shape                     # (16, 1)
    """

    def __init__(self, input_size, hidden_size, output_size=1, cell="lstm", num_layers=1,
                 bidirectional=False, dropout=0.0, many_to_many=False):
        super().__init__(input_size, hidden_size, output_size, cell, num_layers, bidirectional,
                         dropout, None, None)
        self.many_to_many = bool(many_to_many)

    def forward(self, x, lengths=None):
        output, last = self._encode(x, lengths)
        return self.head(output if self.many_to_many else last)
