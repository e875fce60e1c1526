"""Recurrent layers: RNN, LSTM and GRU over sequences, and their one-step cells.

The Elman network of the lecture decks,

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h),    y_t = W_yh h_t + b_y,

is ``nn.RNN`` (W_xh is ``weight_ih_l0``, b_h is ``bias_ih_l0 + bias_hh_l0``) followed by an
``nn.Linear`` for y_t. Gradients flow back through time (BPTT) by the engine: the loss's gradient
with respect to W_hh sums the contributions of every step. Detaching the carried state between
chunks of a long sequence (``h = h.detach()``) gives truncated BPTT.

Parameter names, shapes, gate order, initialisation U(-1/sqrt(H), 1/sqrt(H)) and the returned
tuples are PyTorch's, so a PyTorch state_dict loads as is. Each layer and direction is two graph
nodes: one matrix product projects the inputs of all time steps, and one fused primitive
(:mod:`chainrule.ops.recurrent`) runs the recurrence. Variable-length batches are padded and given
``lengths`` (see :mod:`chainrule.nn.rnn_utils`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from chainrule import backend
from chainrule.creation import from_numpy
from chainrule.nn import functional as F
from chainrule.nn.init import uniform_
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.rnn_utils import step_mask
from chainrule.ops.movement import cat, stack
from chainrule.ops.recurrent import (
    gru_cell,
    gru_sequence,
    lstm_cell,
    lstm_sequence,
    rnn_cell,
    rnn_sequence,
)
from chainrule.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _uniform_(params, hidden_size):
    """PyTorch's recurrent initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in params:
        uniform_(p, -bound, bound)


def _check_sizes(name, **sizes):
    for label, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")


def _add_parameters(module, gates, width, hidden_size, bias, dtype, suffix=""):
    """Create weight_ih (gates, width), weight_hh (gates, H) and, with ``bias``, bias_ih and
    bias_hh (gates,) of one layer and direction, in PyTorch's order; return their names."""
    dtype = np.dtype(dtype if dtype is not None else backend.DEFAULT_FLOAT)
    shapes = {"weight_ih": (gates, width), "weight_hh": (gates, hidden_size)}
    if bias:
        shapes.update(bias_ih=(gates,), bias_hh=(gates,))
    for kind, shape in shapes.items():
        setattr(module, kind + suffix, Parameter(from_numpy(np.zeros(shape, dtype=dtype))))
    return [kind + suffix for kind in shapes]


def _check_state(name, hx, expected, what):
    if not isinstance(hx, Tensor) or hx.shape != expected:
        got = hx.shape if isinstance(hx, Tensor) else type(hx).__name__
        raise ValueError(f"{name}: expected {what} of shape {expected}, got {got}")


def _check_dtype(layer, x, weight):
    if x.dtype != weight.dtype:
        raise TypeError(f"{layer}: input has dtype {x.dtype} but the parameters have dtype "
                        f"{weight.dtype}; convert one of them (x.to(...) or module.to(...))")


class RNNBase(Module):
    """The machinery shared by :class:`RNN`, :class:`LSTM` and :class:`GRU`."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_sizes(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between layers and has no effect with "
                          "num_layers=1", stacklevel=2)
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), batch_first
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        gates = _GATES[mode] * self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else self.hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                self._flat_weights_names += _add_parameters(
                    self, gates, width, self.hidden_size, self.bias, dtype, suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _uniform_(self.parameters(), self.hidden_size)

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        per = 4 if self.bias else 2
        flat = [getattr(self, n) for n in self._flat_weights_names]
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---- forward ------------------------------------------------------------------------------
    def _layer_name(self) -> str:
        return f"{type(self).__name__}(input_size={self.input_size}, " \
               f"hidden_size={self.hidden_size})"

    def _initial_state(self, hx, batch, unbatched, dtype, what="hx"):
        """The (num_layers * directions) initial states of shape (B, H), or zeros."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        if hx is None:
            xp = backend.namespace(self.weight_hh_l0.data)
            return [from_numpy(xp.zeros((batch, self.hidden_size), dtype=dtype))] * count
        expected = (count, self.hidden_size) if unbatched else (count, batch, self.hidden_size)
        _check_state(self._layer_name(), hx, expected, what)
        _check_dtype(self._layer_name(), hx, self.weight_hh_l0)
        if unbatched:
            hx = hx.unsqueeze(1)
        return [hx[k] for k in range(count)]

    def _prepare(self, input, lengths):
        layer = self._layer_name()
        if not isinstance(input, Tensor) or input.ndim not in (2, 3):
            got = input.shape if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{layer}: expected input of shape (T, B, {self.input_size}) "
                             f"(or (B, T, ...) with batch_first, or unbatched (T, ...)), got {got}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{layer}: input has {input.shape[-1]} features, shape "
                             f"{input.shape}")
        _check_dtype(layer, input, self.weight_ih_l0)
        unbatched = input.ndim == 2
        if unbatched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        steps, batch = x.shape[0], x.shape[1]
        mask = None if lengths is None else step_mask(lengths, steps, batch)
        return x, unbatched, mask

    def _direction(self, x, h0, c0, layer, reverse, mask):
        """Run one layer in one direction: (states (T, B, H), h_n, c_n or None)."""
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        steps, batch, width = x.shape
        if self.mode != "GRU" and self.bias:
            # NOTE: for RNN and LSTM b_hh only ever appears in the sum b_ih + b_hh, so it is
            # folded into the input projection; GRU keeps b_hn inside r * (W_hn h + b_hn).
            b_ih = b_ih + b_hh
        gx = F.linear(x.reshape(steps * batch, width), w_ih, b_ih).reshape(steps, batch, -1)
        if self.mode == "LSTM":
            hs, (h_n, c_n) = lstm_sequence(gx, h0, c0, w_hh, mask, reverse)
            return hs, h_n, c_n
        if self.mode == "GRU":
            return (*gru_sequence(gx, h0, w_hh, b_hh, mask, reverse), None)
        nonlinearity = "relu" if self.mode == "RNN_RELU" else "tanh"
        return (*rnn_sequence(gx, h0, w_hh, mask, reverse, nonlinearity), None)

    def _run(self, input, hx, cx, lengths):
        x, unbatched, mask = self._prepare(input, lengths)
        batch = x.shape[1]
        h0 = self._initial_state(hx, batch, unbatched, x.dtype, "h_0")
        c0 = self._initial_state(cx, batch, unbatched, x.dtype, "c_0") if self.mode == "LSTM" \
            else [None] * len(h0)
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                hs, h_last, c_last = self._direction(x, h0[k], c0[k], layer, d == 1, mask)
                outs.append(hs)
                h_n.append(h_last)
                c_n.append(c_last)
            x = outs[0] if directions == 1 else cat(outs, -1)
            if self.dropout and self.training and layer + 1 < self.num_layers:
                x = F.dropout(x, self.dropout, training=True)
        if mask is not None:
            x = x * backend.to_device(mask.astype(x.dtype), x.device)
        if unbatched:
            x = x.squeeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if self.mode == "LSTM" else None
        if unbatched:
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return x, h_n, c_n


class RNN(RNNBase):
    """Elman recurrent network: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    With the decks' names, h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h); add ``nn.Linear`` for the
    output y_t = W_yh h_t + b_y. Stacked layers feed each layer's states to the next.

    Args:
        input_size: features per time step (F).
        hidden_size: state size (H).
        num_layers: stacked recurrent layers.
        nonlinearity: "tanh" (default) or "relu".
        bias: use b_ih and b_hh.
        batch_first: input and output are (B, T, F) instead of (T, B, F).
        dropout: dropout probability on the outputs of every layer but the last.
        bidirectional: add a layer reading the sequence backwards; outputs are concatenated.
        dtype: parameter dtype (default float32).

    Shape:
        - input: (T, B, F), (B, T, F) with batch_first, or unbatched (T, F).
        - h_0: (num_layers * D, B, H), D = 2 if bidirectional else 1; zeros when omitted.
        - output: (T, B, D * H) (or batch-first): the last layer's states at every step.
        - h_n: (num_layers * D, B, H): the final state of every layer and direction.

    Forward args: ``rnn(input, h_0=None, lengths=None)``; ``lengths`` (B integers) marks padded
    steps (see :mod:`chainrule.nn.rnn_utils`).

    Example:
        >>> rnn = nn.RNN(10, 20, num_layers=2, batch_first=True)
        >>> out, h_n = rnn(cr.randn(3, 5, 10))     # (3, 5, 20), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None, lengths=None):
        out, h_n, _ = self._run(input, hx, None, lengths)
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter and Schmidhuber), with PyTorch's gate order i, f, g, o.

    i = s(W_ii x + b_ii + W_hi h + b_hi),   f = s(W_if x + b_if + W_hf h + b_hf),
    g = tanh(W_ig x + b_ig + W_hg h + b_hg), o = s(W_io x + b_io + W_ho h + b_ho),
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t).

    The cell state c carries information along an additive path, so gradients through many
    steps do not shrink as fast as in :class:`RNN` (vanishing gradients).

    Args: as :class:`RNN` (without ``nonlinearity``). Weights hold the four gates stacked:
    ``weight_ih_l0`` is (4H, F), ``weight_hh_l0`` is (4H, H).

    Shape:
        input and output as :class:`RNN`; the state is a pair (h, c), each
        (num_layers * D, B, H). Returns ``output, (h_n, c_n)``.

    Example:
        >>> lstm = nn.LSTM(10, 20, batch_first=True)
        >>> out, (h_n, c_n) = lstm(cr.randn(3, 5, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)

    def forward(self, input, hx=None, lengths=None):
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ValueError(f"{self._layer_name()}: hx must be a pair (h_0, c_0), got "
                             f"{type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        out, h_n, c_n = self._run(input, h0, c0, lengths)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al.), with PyTorch's gate order r, z, n.

    r = s(W_ir x + b_ir + W_hr h + b_hr),   z = s(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),   h_t = (1 - z) * n + z * h_{t-1}.

    Args, shapes and returns: as :class:`RNN` (without ``nonlinearity``); weights hold the
    three gates stacked, ``weight_ih_l0`` (3H, F) and ``weight_hh_l0`` (3H, H).

    Example:
        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> out, h_n = gru(cr.randn(5, 3, 10))     # (5, 3, 40), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)

    def forward(self, input, hx=None, lengths=None):
        out, h_n, _ = self._run(input, hx, None, lengths)
        return out, h_n


# ---- cells: one time step -----------------------------------------------------------------------
class RNNCellBase(Module):
    """One time step of a recurrent layer; parameters ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` as in PyTorch. A step is the input projection and one call of the cell of
    :mod:`chainrule.ops.recurrent` (``rnn_cell``, ``lstm_cell``, ``gru_cell``): the cell that
    defines the layers' recurrence."""

    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        _add_parameters(self, self._gates * self.hidden_size, self.input_size, self.hidden_size,
                        bias, dtype)
        if not bias:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _uniform_(self.parameters(), self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s + (", bias=False" if not self.bias else "")

    def _state(self, hx, gx, what="hx"):
        """The state ``hx`` checked against the input, (B, H) or unbatched (H,); or zeros."""
        shape = gx.shape[:-1] + (self.hidden_size,)
        if hx is None:
            xp = backend.namespace(self.weight_hh.data)
            return from_numpy(xp.zeros(shape, dtype=gx.dtype))
        _check_state(f"{type(self).__name__}(hidden_size={self.hidden_size})", hx, shape, what)
        return hx

    def _project(self, input, fold_bias):
        """gx = W_ih x + b, of shape (B, gates * H) or unbatched (gates * H,)."""
        name = f"{type(self).__name__}(input_size={self.input_size})"
        if not isinstance(input, Tensor) or input.ndim not in (1, 2) \
                or input.shape[-1] != self.input_size:
            got = input.shape if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: expected input of shape (B, {self.input_size}) or "
                             f"({self.input_size},), got {got}")
        _check_dtype(name, input, self.weight_ih)
        bias = self.bias_ih
        if fold_bias and self.bias:
            bias = bias + self.bias_hh
        return F.linear(input, self.weight_ih, bias)


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).

    Shape: input (B, F) or (F,); hx (B, H) or (H,), zeros when omitted; returns h' like hx.

    Example:
        >>> cell = nn.RNNCell(10, 20)
        >>> h = cell(cr.randn(3, 10))
        >>> h = cell(cr.randn(3, 10), h)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        gx = self._project(input, fold_bias=True)
        return rnn_cell(gx, self._state(hx, gx), self.weight_hh, self.nonlinearity)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): c' = f * c + i * g, h' = o * tanh(c').

    Shape: input (B, F) or (F,); hx a pair (h, c) of (B, H) or (H,), zeros when omitted;
    returns the pair (h', c').
    """

    _gates = 4

    def forward(self, input, hx=None):
        gx = self._project(input, fold_bias=True)
        h, c = (None, None) if hx is None else hx
        return lstm_cell(gx, self._state(h, gx, "h"), self._state(c, gx, "c"), self.weight_hh)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): h' = (1 - z) * n + z * h.

    Shape: input (B, F) or (F,); hx (B, H) or (H,), zeros when omitted; returns h'.
    """

    _gates = 3

    def forward(self, input, hx=None):
        gx = self._project(input, fold_bias=False)
        return gru_cell(gx, self._state(hx, gx), self.weight_hh, self.bias_hh)
