"""Fused recurrent primitives: one node runs an RNN, LSTM or GRU layer over a whole sequence.

The input projection of every time step, ``gx[t] = W_ih x_t + b``, is one matrix product done
before the loop (by the caller, with :func:`chainrule.linear`); what remains is the recurrence,
which these primitives run step by step on raw arrays inside one graph node:

    Elman RNN:  h_t = tanh(gx_t + W_hh h_{t-1})                  (or relu)
    LSTM:       i, f, g, o = s(a_i), s(a_f), tanh(a_g), s(a_o),   a = gx_t + W_hh h_{t-1}
                c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
    GRU:        r, z = s(gx_r + W_hr h + b_hr), s(gx_z + W_hz h + b_hz)
                n = tanh(gx_n + r * (W_hn h + b_hn)) ;  h_t = (1 - z) * n + z * h_{t-1}

(s is the logistic sigmoid; gate order and the place of b_hn follow PyTorch.) Backward is
back-propagation through time: the same steps in reverse order, the weight gradient summed over
time as one matrix product at the end, dW_hh = sum_t dA_t^T h_{t-1}.

Each step is written once, with operators and the helpers of :mod:`chainrule.ops.formula`, so it
runs on arrays (the fast path) and on Tensors. With ``create_graph=True`` the backward first
recomputes the forward steps on Tensors and then runs the same backward formulas on them, so
second derivatives come from the same code (nothing saved as a constant stands in for a value
that depends on the inputs). The same step functions run outside any fused node when
``fused=False``: then every operation is its own graph node (the composed version, kept to
check and to measure the fused one against).

A ``mask`` of shape (T, B, 1) (True for valid steps) freezes the state of a sequence after its
end: ``h_t = h_{t-1}`` where the mask is False. Running in reverse order, a padded sequence then
starts from its own last valid element, so padded batches give exactly what PyTorch's packed
sequences give.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Function
from chainrule.ops import formula as fm
from chainrule.tensor import Tensor


# ---- helpers that run on arrays (fast, in place on fresh temporaries) and on Tensors ----------
def _is_t(x) -> bool:
    return isinstance(x, Tensor)


def _sigmoid_(x):
    """1 / (1 + e^-x), in place on a fresh array (a new Tensor on Tensors).

    NOTE: e^-x may overflow to inf for x << 0 (the caller silences the warning); 1 / (1 + inf)
    = 0 is then the right answer, so gates saturated at +-50 stay finite.
    """
    if _is_t(x):
        return x.sigmoid()
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1
    return np.divide(1, x, out=x)


def _tanh(x, out=None):
    """tanh, written into ``out`` when given (arrays only)."""
    return x.tanh() if _is_t(x) else np.tanh(x, out=out)


def _relu(x, out=None):
    return x.relu() if _is_t(x) else np.maximum(x, 0, out=out)


def _positive(x):
    """The constant mask x > 0 (the derivative of relu, read from its output)."""
    return (x.data if _is_t(x) else x) > 0


def _cat(xs, axis):
    if any(_is_t(x) for x in xs):
        from chainrule.ops.movement import cat

        return cat(xs, axis)
    return np.concatenate(xs, axis=axis)


def _stack(xs):
    if any(_is_t(x) for x in xs):
        from chainrule.ops.movement import stack

        return stack(xs, 0)
    return np.stack(xs)


class _PerStep:
    """One result per time step, gathered along a new leading axis: (T, *like.shape[:-1], width).

    On arrays every step lives in one preallocated array (no list, no stacking at the end), and
    a step's last operation can write straight into its row (:meth:`slots`); on Tensors the steps
    are kept and stacked at the end, so the result stays differentiable.
    """

    def __init__(self, steps: int, like, width: int):
        self.items = [None] * steps
        self.array = None
        if not _is_t(like):
            shape = (steps,) + tuple(like.shape[:-1]) + (width,)
            self.array = backend.namespace(like).empty(shape, like.dtype)

    def slots(self, t: int, n: int = 1) -> list:
        """Row t cut into n equal parts to compute into (``out=``), or n Nones on Tensors."""
        if self.array is None:
            return [None] * n
        row = self.array[t]
        width = row.shape[-1] // n
        return [row[..., k * width:(k + 1) * width] for k in range(n)]

    def put(self, t: int, *pieces) -> None:
        """Store step t, given in pieces along the last axis (pieces already in place are kept)."""
        if self.array is None:
            self.items[t] = pieces[0] if len(pieces) == 1 else _cat(list(pieces), -1)
            return
        row, start = self.array[t], 0
        for p in pieces:
            stop = start + p.shape[-1]
            if p.base is not self.array:
                row[..., start:stop] = p
            start = stop

    def __getitem__(self, t: int):
        return self.array[t] if self.array is not None else self.items[t]

    def result(self):
        return self.array if self.array is not None else _stack(self.items)


def _mul(a, b, out=None):
    """a * b, written into ``out`` when given (arrays only)."""
    return a * b if out is None else np.multiply(a, b, out=out)


def _add(a, b, out=None):
    """a + b, written into ``out`` when given (arrays only)."""
    return a + b if out is None else np.add(a, b, out=out)


def _order(steps: int, reverse: bool):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _freeze(mask, t, new, old):
    """The masked state update: ``new`` where step t is valid, else the state stays ``old``."""
    return new if mask is None else fm.where(mask[t], new, old)


def _split_masked(mask, t, grad):
    """Split a state gradient into the part that reaches the step and the part that skips it."""
    if mask is None:
        return grad, None
    return fm.where(mask[t], grad, 0.0), fm.where(mask[t], 0.0, grad)


def _weight_grad(d_gates, hs, h0, reverse):
    """dW_hh = sum_t dA_t^T h_{t-1}, with h_{t-1} read from the states hs (T, B, H) and h0.

    Two matrix products cover every step and sample: the steps whose previous state is in hs,
    and the one step that starts from h0 (t = 0, or t = T-1 in reverse).
    """
    width, size = d_gates.shape[-1], hs.shape[-1]
    inner, first = (slice(None, -1), -1) if reverse else (slice(1, None), 0)
    d_w = fm.swap_last(d_gates[first]) @ h0
    if d_gates.shape[0] > 1:
        outer = slice(1, None) if reverse else slice(None, -1)
        d2 = fm.reshape(d_gates[inner], (-1, width))
        d_w = d_w + fm.swap_last(d2) @ fm.reshape(hs[outer], (-1, size))
    return d_w


# ---- Elman RNN --------------------------------------------------------------------------------
def _rnn_steps(gx, h, w_hh, mask, reverse, nonlinearity):
    """h_t = act(gx_t + h_{t-1} W_hh^T). Returns the states (T, B, H) and per-step caches."""
    act = _tanh if nonlinearity == "tanh" else _relu
    w_t = fm.swap_last(w_hh)
    hs = _PerStep(gx.shape[0], h, h.shape[-1])
    caches = []
    for t in _order(gx.shape[0], reverse):
        a = h @ w_t
        a += gx[t]
        # NOTE: h_new is computed into its row of hs; under a mask the row then takes the frozen
        # state, which differs from h_new only where the step is masked (zero gradient there).
        h_new = act(a, out=hs.slots(t)[0])
        caches.append((t, h_new))
        h = _freeze(mask, t, h_new, h)
        hs.put(t, h)
    return hs.result(), caches


def _rnn_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, nonlinearity, needs):
    dh = None
    d_a = _PerStep(len(caches), h0, h0.shape[-1])
    for k, (t, h_new) in enumerate(reversed(caches)):
        dh = grad_output[t] if dh is None else dh + grad_output[t]
        dh, skip = _split_masked(mask, t, dh)
        slot = d_a.slots(t)[0]
        if nonlinearity == "tanh":
            da = _mul(dh, 1 - h_new * h_new, slot)
        else:
            da = _mul(dh, _positive(h_new), slot)
        d_a.put(t, da)
        if k + 1 < len(caches) or needs[1]:
            dh = da @ w_hh
            if skip is not None:
                dh = dh + skip
    d_gx = d_a.result()
    d_w = _weight_grad(d_gx, hs, h0, reverse) if needs[2] else None
    return d_gx if needs[0] else None, dh if needs[1] else None, d_w


class RNNSequence(Function):
    """A whole Elman RNN layer: states h_1..h_T from projected inputs gx (see the module doc).

    Forward arguments: gx (T, B, H), h0 (B, H), w_hh (H, H), mask (T, B, 1) or None, reverse,
    nonlinearity ("tanh" or "relu"). Output: the states, (T, B, H).
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, gx, h0, w_hh, mask, reverse, nonlinearity):
        with np.errstate(over="ignore"):
            hs, caches = _rnn_steps(gx, h0, w_hh, mask, reverse, nonlinearity)
        ctx.args = (mask, reverse, nonlinearity)
        ctx.save_for_backward(gx, h0, w_hh, hs, caches)
        return hs

    @staticmethod
    def backward(ctx, grad_output):
        gx, h0, w_hh, hs, caches = ctx.saved_tensors
        mask, reverse, nonlinearity = ctx.args
        if _is_t(grad_output):  # create_graph: recompute the steps differentiably
            hs, caches = _rnn_steps(gx, h0, w_hh, mask, reverse, nonlinearity)
        grads = _rnn_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, nonlinearity,
                              ctx.needs_input_grad)
        return grads + (None, None, None)


# ---- LSTM -------------------------------------------------------------------------------------
def _lstm_gates(a, size):
    """The gate activations [i, f, g, o] = [s(a_i), s(a_f), tanh(a_g), s(a_o)], shape (B, 4H).

    NOTE: on arrays this is one in-place pass over the fresh pre-activations: tanh x =
    2 s(2x) - 1, so a single exponential over all four gates serves them all (exp costs half
    of tanh, and one call on 4H columns costs less than four calls on H).
    """
    if _is_t(a):
        return _cat([a[..., :2 * size].sigmoid(), a[..., 2 * size:3 * size].tanh(),
                     a[..., 3 * size:].sigmoid()], -1)
    g = a[..., 2 * size:3 * size]
    g *= 2
    _sigmoid_(a)
    g *= 2
    g -= 1
    return a


def _lstm_steps(gx, h, c, w_hh, mask, reverse):
    """The LSTM recurrence. Returns [h_1..h_T, c_T] stacked, (T + 1, B, H), and the caches."""
    size = h.shape[-1]
    w_t = fm.swap_last(w_hh)
    out = _PerStep(gx.shape[0] + 1, h, size)
    caches = []
    for t in _order(gx.shape[0], reverse):
        a = h @ w_t
        a += gx[t]
        gates = _lstm_gates(a, size)
        i, f = gates[..., :size], gates[..., size:2 * size]
        g, o = gates[..., 2 * size:3 * size], gates[..., 3 * size:]
        c_new = f * c
        c_new += i * g
        tc = _tanh(c_new)
        caches.append((t, gates, c, tc))
        h_new = _mul(o, tc, out.slots(t)[0])
        h, c = _freeze(mask, t, h_new, h), _freeze(mask, t, c_new, c)
        out.put(t, h)
    out.put(gx.shape[0], c)
    return out.result(), caches


def _lstm_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, needs):
    steps = len(caches)
    size = h0.shape[-1]
    dh, dc = None, grad_output[steps]
    d_a = _PerStep(steps, h0, 4 * size)
    for k, (t, gates, c_prev, tc) in enumerate(reversed(caches)):
        i, f = gates[..., :size], gates[..., size:2 * size]
        g, o = gates[..., 2 * size:3 * size], gates[..., 3 * size:]
        dh = grad_output[t] if dh is None else dh + grad_output[t]
        dh, skip_h = _split_masked(mask, t, dh)
        dc, skip_c = _split_masked(mask, t, dc)
        dc = dc + dh * o * (1 - tc * tc)
        s_i, s_f, s_g, s_o = d_a.slots(t, 4)
        d_a.put(t, _mul(dc * g, i * (1 - i), s_i), _mul(dc * c_prev, f * (1 - f), s_f),
                _mul(dc * i, 1 - g * g, s_g), _mul(dh * tc, o * (1 - o), s_o))
        dc = dc * f
        if k + 1 < steps or needs[1]:
            dh = d_a[t] @ w_hh
        if skip_h is not None:
            dh, dc = dh + skip_h, dc + skip_c
    d_gx = d_a.result()
    d_w = _weight_grad(d_gx, hs, h0, reverse) if needs[3] else None
    return (d_gx if needs[0] else None, dh if needs[1] else None, dc if needs[2] else None, d_w)


class LSTMSequence(Function):
    """A whole LSTM layer: states from projected inputs gx (see the module docstring).

    Forward arguments: gx (T, B, 4H) holding W_ih x_t + b_ih + b_hh, h0 and c0 (B, H),
    w_hh (4H, H), mask (T, B, 1) or None, reverse. Output (T + 1, B, H): rows 0..T-1 are the
    hidden states h_t, row T is the final cell state c_T (one array, so one graph node).
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, mask, reverse):
        with np.errstate(over="ignore"):
            out, caches = _lstm_steps(gx, h0, c0, w_hh, mask, reverse)
        ctx.args = (mask, reverse)
        ctx.save_for_backward(gx, h0, c0, w_hh, out, caches)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        gx, h0, c0, w_hh, out, caches = ctx.saved_tensors
        mask, reverse = ctx.args
        if _is_t(grad_output):
            out, caches = _lstm_steps(gx, h0, c0, w_hh, mask, reverse)
        hs = out[:gx.shape[0]]
        return _lstm_backward(grad_output, hs, h0, w_hh, mask, reverse, caches,
                              ctx.needs_input_grad) + (None, None)


# ---- GRU --------------------------------------------------------------------------------------
def _gru_steps(gx, h, w_hh, b_hh, mask, reverse):
    """The GRU recurrence (gate order r, z, n; b_hn inside the reset product, as PyTorch)."""
    size = h.shape[-1]
    w_t = fm.swap_last(w_hh)
    hs = _PerStep(gx.shape[0], h, size)
    caches = []
    for t in _order(gx.shape[0], reverse):
        gh = h @ w_t
        if b_hh is not None:
            gh += b_hh
        x_t = gx[t]
        r_z = _sigmoid_(x_t[..., :2 * size] + gh[..., :2 * size])
        r, z = r_z[..., :size], r_z[..., size:]
        gh_n = gh[..., 2 * size:]
        a_n = r * gh_n
        a_n += x_t[..., 2 * size:]
        n = _tanh(a_n, out=a_n if not _is_t(a_n) else None)
        h_new = h - n
        h_new *= z
        h_new = _add(h_new, n, hs.slots(t)[0])
        caches.append((t, r_z, n, gh_n, h))
        h = _freeze(mask, t, h_new, h)
        hs.put(t, h)
    return hs.result(), caches


def _gru_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, needs):
    steps = len(caches)
    size = h0.shape[-1]
    dh = None
    d_x, d_h = _PerStep(steps, h0, 3 * size), _PerStep(steps, h0, 3 * size)
    for k, (t, r_z, n, gh_n, h_prev) in enumerate(reversed(caches)):
        r, z = r_z[..., :size], r_z[..., size:]
        dh = grad_output[t] if dh is None else dh + grad_output[t]
        dh, skip = _split_masked(mask, t, dh)
        x_r, x_z, x_n = d_x.slots(t, 3)
        d_an = _mul(dh * (1 - z), 1 - n * n, x_n)
        d_ar = _mul(d_an * gh_n, r * (1 - r), x_r)
        d_az = _mul(dh * (h_prev - n), z * (1 - z), x_z)
        d_x.put(t, d_ar, d_az, d_an)
        d_h.put(t, d_ar, d_az, _mul(d_an, r, d_h.slots(t, 3)[2]))
        if k + 1 < steps or needs[1]:
            dh = dh * z + d_h[t] @ w_hh
            if skip is not None:
                dh = dh + skip
    d_gh = d_h.result()
    d_w = _weight_grad(d_gh, hs, h0, reverse) if needs[2] else None
    d_b = fm.sum(d_gh, (0, 1)) if needs[3] else None
    return (d_x.result() if needs[0] else None, dh if needs[1] else None, d_w, d_b)


class GRUSequence(Function):
    """A whole GRU layer: states h_1..h_T from projected inputs gx (see the module docstring).

    Forward arguments: gx (T, B, 3H) holding W_ih x_t + b_ih, h0 (B, H), w_hh (3H, H),
    b_hh (3H,) or None, mask (T, B, 1) or None, reverse. Output: the states, (T, B, H).
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, gx, h0, w_hh, b_hh, mask, reverse):
        with np.errstate(over="ignore"):
            hs, caches = _gru_steps(gx, h0, w_hh, b_hh, mask, reverse)
        ctx.args = (mask, reverse)
        ctx.save_for_backward(gx, h0, w_hh, b_hh, hs, caches)
        return hs

    @staticmethod
    def backward(ctx, grad_output):
        gx, h0, w_hh, b_hh, hs, caches = ctx.saved_tensors
        mask, reverse = ctx.args
        if _is_t(grad_output):
            hs, caches = _gru_steps(gx, h0, w_hh, b_hh, mask, reverse)
        return _gru_backward(grad_output, hs, h0, w_hh, mask, reverse, caches,
                             ctx.needs_input_grad) + (None, None)


# ---- functions --------------------------------------------------------------------------------
def _check(name, gx, h0, w_hh, gates, mask):
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
    mask = backend.to_numpy(mask.data if _is_t(mask) else mask).astype(bool, copy=False)
    if mask.shape != (steps, batch, 1):
        raise ValueError(f"{name}: mask of shape {mask.shape} does not match ({steps}, {batch}, 1)")
    return backend.to_device(mask, backend.device_of(gx.data if _is_t(gx) else gx))


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
        fused: one graph node for the whole sequence (True) or one per operation (False).

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
        hs = _rnn_steps(gx, h0, w_hh, mask, reverse, nonlinearity)[0]
    return hs, _final(hs, gx.shape[0], reverse)


def lstm_sequence(gx, h0, c0, w_hh, mask=None, reverse=False, fused=True):
    """Run the LSTM recurrence over a sequence (gate order i, f, g, o, as PyTorch).

    i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o) with a = gx_t + W_hh h_{t-1};
    c_t = f * c_{t-1} + i * g ; h_t = o * tanh(c_t).

    Args:
        gx: (T, B, 4H) the projected inputs W_ih x_t + b_ih + b_hh.
        h0, c0: (B, H) the initial hidden and cell states.
        w_hh: (4H, H) the recurrent weight.
        mask, reverse, fused: as in :func:`rnn_sequence`.

    Returns:
        (hs, (h_n, c_n)): the hidden states (T, B, H) and the final states (B, H).
    """
    mask = _check("lstm_sequence", gx, h0, w_hh, 4, mask)
    if c0.shape != h0.shape:
        raise ValueError(f"lstm_sequence: c0 of shape {c0.shape} does not match h0 {h0.shape}")
    if fused:
        out = LSTMSequence.apply(gx, h0, c0, w_hh, mask, reverse)
    else:
        out = _lstm_steps(gx, h0, c0, w_hh, mask, reverse)[0]
    steps = gx.shape[0]
    return out[:steps], (_final(out, steps, reverse), out[steps])


def gru_sequence(gx, h0, w_hh, b_hh=None, mask=None, reverse=False, fused=True):
    """Run the GRU recurrence over a sequence (gate order r, z, n, as PyTorch).

    r = s(gx_r + W_hr h + b_hr), z = s(gx_z + W_hz h + b_hz),
    n = tanh(gx_n + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.

    Args:
        gx: (T, B, 3H) the projected inputs W_ih x_t + b_ih.
        h0: (B, H) the initial state.
        w_hh: (3H, H) the recurrent weight; b_hh: (3H,) its bias or None.
        mask, reverse, fused: as in :func:`rnn_sequence`.

    Returns:
        (hs, h_n): the states (T, B, H) and the final state (B, H).
    """
    mask = _check("gru_sequence", gx, h0, w_hh, 3, mask)
    if fused:
        hs = GRUSequence.apply(gx, h0, w_hh, b_hh, mask, reverse)
    else:
        hs = _gru_steps(gx, h0, w_hh, b_hh, mask, reverse)[0]
    return hs, _final(hs, gx.shape[0], reverse)
