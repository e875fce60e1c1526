"""Recurrent cells and the fused primitives that run a whole RNN, LSTM or GRU layer as one node.

The input projection of every time step, ``gx[t] = W_ih x_t + b``, is one matrix product done
before the loop (by the caller, with :func:`chainrule.linear`); what remains is the recurrence,
one step of which is a cell, written once here on Tensors (gate orders and the place of b_hn
follow PyTorch; s is the logistic sigmoid):

    Elman RNN:  h_t = tanh(gx_t + W_hh h_{t-1})                  (or relu)
    LSTM:       i, f, g, o = s(a_i), s(a_f), tanh(a_g), s(a_o),   a = gx_t + W_hh h_{t-1}
                c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
    GRU:        r, z = s(gx_r + W_hr h + b_hr), s(gx_z + W_hz h + b_hz)
                n = tanh(gx_n + r * (W_hn h + b_hn)) ;  h_t = (1 - z) * n + z * h_{t-1}

The sequence functions run a cell in one of two ways:

- composed (``fused=False``): the cell looped over time, one graph node per operation;
- fused (the default): one graph node per sequence (``RNNSequence``, ``LSTMSequence``,
  ``GRUSequence``), whose forward and back-propagation through time are the array kernels of
  :mod:`chainrule.ops.recurrent_kernels` (fast, no graph). With ``create_graph=True`` its
  backward is instead derived from the cell: the steps are recomputed with the cell on the
  input Tensors and the engine differentiates them, so second derivatives come from the cell
  itself and no derivative is written twice. The tests check the kernels against the cells.

A ``mask`` of shape (T, B, 1) (True for valid steps) freezes the state of a sequence after its
end: ``h_t = h_{t-1}`` where the mask is False. Running in reverse order, a padded sequence then
starts from its own last valid element, so padded batches give exactly what PyTorch's packed
sequences give.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.autograd.mode import state
from chainrule.ops import formula as fm
from chainrule.ops import recurrent_kernels as kernels
from chainrule.ops.elementwise import where
from chainrule.ops.formula import formula
from chainrule.ops.linalg import linear
from chainrule.ops.movement import chunk, stack
from chainrule.tensor import Tensor


# ---- the cells: one time step, on Tensors ----------------------------------------------------
def rnn_cell(gx_t, h, w_hh, nonlinearity="tanh"):
    """One Elman step: h' = act(gx_t + h W_hh^T), act = tanh or relu.

    Args:
        gx_t: (B, H) the projected input W_ih x_t + b_ih + b_hh.
        h: (B, H) the previous state.
        w_hh: (H, H) the recurrent weight.
        nonlinearity: "tanh" or "relu".

    Returns:
        The new state h', (B, H).

    Example:
        >>> h = rnn_cell(cr.randn(2, 3), cr.zeros(2, 3), cr.randn(3, 3))
    """
    a = gx_t + linear(h, w_hh)
    return a.tanh() if nonlinearity == "tanh" else a.relu()


def lstm_cell(gx_t, h, c, w_hh):
    """One LSTM step, gates i, f, g, o in PyTorch's order.

    a = gx_t + h W_hh^T ; i, f, o = s(a_i), s(a_f), s(a_o) ; g = tanh(a_g) ;
    c' = f * c + i * g ; h' = o * tanh(c').

    Args:
        gx_t: (B, 4H) the projected input W_ih x_t + b_ih + b_hh.
        h, c: (B, H) the previous hidden and cell states.
        w_hh: (4H, H) the recurrent weight.

    Returns:
        (h', c'), each (B, H).

    Example:
        >>> h, c = lstm_cell(cr.randn(2, 12), cr.zeros(2, 3), cr.zeros(2, 3), cr.randn(12, 3))
    """
    a_i, a_f, a_g, a_o = chunk(gx_t + linear(h, w_hh), 4, -1)
    c = a_f.sigmoid() * c + a_i.sigmoid() * a_g.tanh()
    return a_o.sigmoid() * c.tanh(), c


def gru_cell(gx_t, h, w_hh, b_hh=None):
    """One GRU step, gates r, z, n in PyTorch's order (b_hn inside the reset product).

    gh = h W_hh^T + b_hh ; r = s(gx_r + gh_r) ; z = s(gx_z + gh_z) ;
    n = tanh(gx_n + r * gh_n) ; h' = (1 - z) * n + z * h = n + z * (h - n).

    Args:
        gx_t: (B, 3H) the projected input W_ih x_t + b_ih.
        h: (B, H) the previous state.
        w_hh: (3H, H) the recurrent weight; b_hh: (3H,) its bias or None.

    Returns:
        The new state h', (B, H).

    Example:
        >>> h = gru_cell(cr.randn(2, 9), cr.zeros(2, 3), cr.randn(9, 3))
    """
    x_r, x_z, x_n = chunk(gx_t, 3, -1)
    h_r, h_z, h_n = chunk(linear(h, w_hh, b_hh), 3, -1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)


# ---- the composed recurrences: a cell looped over time ----------------------------------------
def _unroll(step, gx, states, mask, reverse):
    """Run ``step(gx_t, *states) -> new states`` over time; a False mask keeps the old states.

    Returns the hidden states h_t as a list indexed by time step, and the final states.
    """
    hs = [None] * gx.shape[0]
    for t in kernels.order(gx.shape[0], reverse):
        new = step(gx[t], *states)
        states = new if mask is None else tuple(where(mask[t], a, b) for a, b in zip(new, states))
        hs[t] = states[0]
    return hs, states


def _rnn_states(gx, h0, w_hh, mask, reverse, nonlinearity):
    """The states (T, B, H) of the Elman recurrence, one graph node per operation."""
    def step(x_t, h):
        return (rnn_cell(x_t, h, w_hh, nonlinearity),)

    return stack(_unroll(step, gx, (h0,), mask, reverse)[0], 0)


def _lstm_states(gx, h0, c0, w_hh, mask, reverse):
    """[h_1..h_T, c_T] (T + 1, B, H) of the LSTM recurrence, one graph node per operation."""
    def step(x_t, h, c):
        return lstm_cell(x_t, h, c, w_hh)

    hs, (_, c) = _unroll(step, gx, (h0, c0), mask, reverse)
    return stack(hs + [c], 0)


def _gru_states(gx, h0, w_hh, b_hh, mask, reverse):
    """The states (T, B, H) of the GRU recurrence, one graph node per operation."""
    def step(x_t, h):
        return (gru_cell(x_t, h, w_hh, b_hh),)

    return stack(_unroll(step, gx, (h0,), mask, reverse)[0], 0)


# ---- the backward derived from the cells -------------------------------------------------------
# NOTE: each pair below is one backward with two implementations: on arrays (no graph wanted),
# the kernel's back-propagation through time; on Tensors (create_graph=True), the derivative of
# the composed recurrence. They take the same arguments; each ignores what it does not use.
@formula(kernels.rnn_backward)
def rnn_sequence_backward(grad_output, gx, h0, w_hh, hs, mask, reverse, nonlinearity, needs):
    """(d gx, d h0, d W_hh) of :class:`RNNSequence`, derived from :func:`rnn_cell`."""
    return fm.derived_vjp(lambda *xs: _rnn_states(*xs, mask, reverse, nonlinearity), grad_output,
                        (gx, h0, w_hh), needs)


@formula(kernels.lstm_backward)
def lstm_sequence_backward(grad_output, gx, h0, c0, w_hh, out, local, mask, reverse, needs):
    """(d gx, d h0, d c0, d W_hh) of :class:`LSTMSequence`, derived from :func:`lstm_cell`."""
    return fm.derived_vjp(lambda *xs: _lstm_states(*xs, mask, reverse), grad_output,
                        (gx, h0, c0, w_hh), needs)


@formula(kernels.gru_backward)
def gru_sequence_backward(grad_output, gx, h0, w_hh, b_hh, hs, local, mask, reverse, needs):
    """(d gx, d h0, d W_hh, d b_hh) of :class:`GRUSequence`, derived from :func:`gru_cell`."""
    return fm.derived_vjp(lambda *xs: _gru_states(*xs, mask, reverse), grad_output,
                        (gx, h0, w_hh, b_hh), needs)


# ---- the graph nodes ----------------------------------------------------------------------------
def _recording(ctx) -> bool:
    """Whether forward's result will be differentiated (a graph node is being recorded)."""
    return state.grad_enabled and any(ctx.needs_input_grad)


class RNNSequence(Primitive):
    """A whole Elman RNN layer: states h_1..h_T from projected inputs gx (see the module doc).

    Forward arguments: gx (T, B, H), h0 (B, H), w_hh (H, H), mask (T, B, 1) or None, reverse,
    nonlinearity ("tanh" or "relu"). Output: the states, (T, B, H).
    """

    @staticmethod
    def forward(ctx, gx, h0, w_hh, mask, reverse, nonlinearity):
        hs = kernels.rnn_forward(gx, h0, w_hh, mask, reverse, nonlinearity)
        ctx.mask, ctx.reverse, ctx.nonlinearity = mask, reverse, nonlinearity
        ctx.save_for_backward(gx, h0, w_hh, hs)
        return hs

    @staticmethod
    def backward(ctx, grad_output, gx, h0, w_hh, hs):
        grads = fm.rnn_sequence_backward(grad_output, gx, h0, w_hh, hs, ctx.mask, ctx.reverse,
                                         ctx.nonlinearity, ctx.needs_input_grad)
        return grads + (None, None, None)


class LSTMSequence(Primitive):
    """A whole LSTM layer: states from projected inputs gx (see the module docstring).

    Forward arguments: gx (T, B, 4H) holding W_ih x_t + b_ih + b_hh, h0 and c0 (B, H),
    w_hh (4H, H), mask (T, B, 1) or None, reverse. Output (T + 1, B, H): rows 0..T-1 are the
    hidden states h_t, row T is the final cell state c_T (one array, so one graph node).
    """

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, mask, reverse):
        out, local = kernels.lstm_forward(gx, h0, c0, w_hh, mask, reverse, _recording(ctx))
        ctx.mask, ctx.reverse = mask, reverse
        ctx.save_for_backward(gx, h0, c0, w_hh, out, local)
        return out

    @staticmethod
    def backward(ctx, grad_output, gx, h0, c0, w_hh, out, local):
        grads = fm.lstm_sequence_backward(grad_output, gx, h0, c0, w_hh, out, local, ctx.mask,
                                          ctx.reverse, ctx.needs_input_grad)
        return grads + (None, None)


class GRUSequence(Primitive):
    """A whole GRU layer: states h_1..h_T from projected inputs gx (see the module docstring).

    Forward arguments: gx (T, B, 3H) holding W_ih x_t + b_ih, h0 (B, H), w_hh (3H, H),
    b_hh (3H,) or None, mask (T, B, 1) or None, reverse. Output: the states, (T, B, H).
    """

    @staticmethod
    def forward(ctx, gx, h0, w_hh, b_hh, mask, reverse):
        hs, local = kernels.gru_forward(gx, h0, w_hh, b_hh, mask, reverse, _recording(ctx))
        ctx.mask, ctx.reverse = mask, reverse
        ctx.save_for_backward(gx, h0, w_hh, b_hh, hs, local)
        return hs

    @staticmethod
    def backward(ctx, grad_output, gx, h0, w_hh, b_hh, hs, local):
        grads = fm.gru_sequence_backward(grad_output, gx, h0, w_hh, b_hh, hs, local, ctx.mask,
                                         ctx.reverse, ctx.needs_input_grad)
        return grads + (None, None)


# ---- functions --------------------------------------------------------------------------------
def _check(name, gx, h0, w_hh, gates, mask):
    """Check the shapes; return the mask as a boolean array on gx's device, or None."""
    if gx.ndim != 3 or h0.ndim != 2:
        raise ValueError(f"{name}: expected gx of shape (T, B, {gates}H) and h0 of shape (B, H), "
                         f"got {gx.shape} and {h0.shape}")
    steps, batch, width = gx.shape
    size = h0.shape[1]
    if width != gates * size or h0.shape[0] != batch or w_hh.shape != (gates * size, size):
        raise ValueError(f"{name}: shapes do not agree: gx {gx.shape}, h0 {h0.shape}, w_hh "
                         f"{w_hh.shape} (expected gx (T, B, {gates}H), h0 (B, H), w_hh "
                         f"({gates}H, H))")
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        mask = mask.data
    mask = backend.to_numpy(mask).astype(bool, copy=False)
    if mask.shape != (steps, batch, 1):
        raise ValueError(f"{name}: mask of shape {mask.shape} does not match ({steps}, {batch}, 1)")
    return backend.to_device(mask, gx.device)


def _final(states, steps, reverse):
    """The state after the last processed step: h_T, or h_1 when running in reverse."""
    return states[0 if reverse else steps - 1]


def rnn_sequence(gx, h0, w_hh, mask=None, reverse=False, nonlinearity="tanh", fused=True):
    """Run the Elman recurrence h_t = act(gx_t + W_hh h_{t-1}) over a sequence.

    Args:
        gx: (T, B, H) the projected inputs W_ih x_t + b_ih + b_hh of every step.
        h0: (B, H) the initial state.
        w_hh: (H, H) the recurrent weight.
        mask: optional (T, B, 1) booleans; the state is frozen where False (padding).
        reverse: run from t = T-1 down to 0 (the backward direction of a bidirectional layer).
        nonlinearity: "tanh" (the default) or "relu".
        fused: one graph node for the whole sequence (True) or :func:`rnn_cell` looped over
            time, one node per operation (False).

    Returns:
        (hs, h_n): the states (T, B, H), indexed by time step in both directions, and the final
        state (B, H) (at step T-1, or 0 in reverse; the last valid one under a mask).

    Example:
        >>> hs, h_n = rnn_sequence(cr.randn(5, 2, 3), cr.zeros(2, 3), cr.randn(3, 3))
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got "
                         f"{nonlinearity!r}")
    mask = _check("rnn_sequence", gx, h0, w_hh, 1, mask)
    if fused:
        hs = RNNSequence.apply(gx, h0, w_hh, mask, reverse, nonlinearity)
    else:
        hs = _rnn_states(gx, h0, w_hh, mask, reverse, nonlinearity)
    return hs, _final(hs, gx.shape[0], reverse)


def lstm_sequence(gx, h0, c0, w_hh, mask=None, reverse=False, fused=True):
    """Run the LSTM recurrence over a sequence (gate order i, f, g, o, as PyTorch).

    i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o) with a = gx_t + W_hh h_{t-1};
    c_t = f * c_{t-1} + i * g ; h_t = o * tanh(c_t) (see :func:`lstm_cell`).

    Args:
        gx: (T, B, 4H) the projected inputs W_ih x_t + b_ih + b_hh.
        h0, c0: (B, H) the initial hidden and cell states.
        w_hh: (4H, H) the recurrent weight.
        mask, reverse, fused: as in :func:`rnn_sequence`.

    Returns:
        (hs, (h_n, c_n)): the hidden states (T, B, H) and the final states (B, H).

    Example:
        >>> hs, (h_n, c_n) = lstm_sequence(cr.randn(5, 2, 12), cr.zeros(2, 3), cr.zeros(2, 3),
        ...                                cr.randn(12, 3))
    """
    mask = _check("lstm_sequence", gx, h0, w_hh, 4, mask)
    if c0.shape != h0.shape:
        raise ValueError(f"lstm_sequence: c0 of shape {c0.shape} does not match h0 {h0.shape}")
    if fused:
        out = LSTMSequence.apply(gx, h0, c0, w_hh, mask, reverse)
    else:
        out = _lstm_states(gx, h0, c0, w_hh, mask, reverse)
    steps = gx.shape[0]
    return out[:steps], (_final(out, steps, reverse), out[steps])


def gru_sequence(gx, h0, w_hh, b_hh=None, mask=None, reverse=False, fused=True):
    """Run the GRU recurrence over a sequence (gate order r, z, n, as PyTorch).

    r = s(gx_r + W_hr h + b_hr), z = s(gx_z + W_hz h + b_hz),
    n = tanh(gx_n + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1} (see :func:`gru_cell`).

    Args:
        gx: (T, B, 3H) the projected inputs W_ih x_t + b_ih.
        h0: (B, H) the initial state.
        w_hh: (3H, H) the recurrent weight; b_hh: (3H,) its bias or None.
        mask, reverse, fused: as in :func:`rnn_sequence`.

    Returns:
        (hs, h_n): the states (T, B, H) and the final state (B, H).

    Example:
        >>> hs, h_n = gru_sequence(cr.randn(5, 2, 9), cr.zeros(2, 3), cr.randn(9, 3))
    """
    mask = _check("gru_sequence", gx, h0, w_hh, 3, mask)
    if fused:
        hs = GRUSequence.apply(gx, h0, w_hh, b_hh, mask, reverse)
    else:
        hs = _gru_states(gx, h0, w_hh, b_hh, mask, reverse)
    return hs, _final(hs, gx.shape[0], reverse)
