"""Fused recurrent primitives: one node runs an RNN, LSTM or GRU layer over a whole sequence.

The input projection of every time step, ``gx[t] = W_ih x_t + b``, is one matrix product done
before the loop (by the caller, with :func:`chainrule.linear`); what remains is the recurrence,
which these primitives run step by step inside one graph node:

    Elman RNN:  h_t = tanh(gx_t + W_hh h_{t-1})                  (or relu)
    LSTM:       i, f, g, o = s(a_i), s(a_f), tanh(a_g), s(a_o),   a = gx_t + W_hh h_{t-1}
                c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
    GRU:        r, z = s(gx_r + W_hr h + b_hr), s(gx_z + W_hz h + b_hz)
                n = tanh(gx_n + r * (W_hn h + b_hn)) ;  h_t = (1 - z) * n + z * h_{t-1}

(s is the logistic sigmoid; gate order and the place of b_hn follow PyTorch.) Backward is
back-propagation through time: the same steps in reverse order, the weight gradient summed over
time as one matrix product at the end, dW_hh = sum_t dA_t^T h_{t-1}.

Each recurrence is written twice, and the two are tested against each other:

- the step formulas on Tensors (``_*_steps`` and ``_*_backward``), where every operation is a
  graph node. They are the composed version (``fused=False``), and with ``create_graph=True``
  the fused node's backward recomputes the forward steps with them and runs the backward
  formulas on Tensors, so second derivatives come from the same code (nothing saved as a
  constant stands in for a value that depends on the inputs);
- the kernels on arrays (``_*_kernel`` and ``_*_kernel_backward``), the fused node's fast path:
  preallocated buffers and in-place NumPy calls. The forward leaves behind, per step, the local
  derivatives already multiplied out (for the LSTM, dA_i = dc * q_i with q_i = i(1-i) g, and
  so on), so each backward step is a handful of calls around its matrix product.

A ``mask`` of shape (T, B, 1) (True for valid steps) freezes the state of a sequence after its
end: ``h_t = h_{t-1}`` where the mask is False. Running in reverse order, a padded sequence then
starts from its own last valid element, so padded batches give exactly what PyTorch's packed
sequences give.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Function
from chainrule.autograd.mode import state
from chainrule.ops import formula as fm
from chainrule.tensor import Tensor


def _order(steps: int, reverse: bool):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _is_t(x) -> bool:
    return isinstance(x, Tensor)


def _stack(xs):
    from chainrule.ops.movement import stack

    return stack(xs, 0)


def _cat_last(xs):
    from chainrule.ops.movement import cat

    return cat(xs, -1)


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
    and the one step that starts from h0 (t = 0, or t = T-1 in reverse; skipped when h0 is None,
    the zero state).
    """
    width, size = d_gates.shape[-1], hs.shape[-1]
    inner, first = (slice(None, -1), -1) if reverse else (slice(1, None), 0)
    d_w = None if h0 is None else fm.swap_last(d_gates[first]) @ h0
    if d_gates.shape[0] > 1:
        outer = slice(1, None) if reverse else slice(None, -1)
        d2 = fm.reshape(d_gates[inner], (-1, width))
        rest = fm.swap_last(d2) @ fm.reshape(hs[outer], (-1, size))
        d_w = rest if d_w is None else d_w + rest
    if d_w is None:
        return backend.namespace(hs).zeros((width, size), hs.dtype)
    return d_w


# ---- the step formulas on Tensors ---------------------------------------------------------------
def _rnn_steps(gx, h, w_hh, mask, reverse, nonlinearity):
    """h_t = act(gx_t + h_{t-1} W_hh^T). Returns the states (T, B, H) and per-step caches."""
    w_t = fm.swap_last(w_hh)
    hs, caches = [None] * gx.shape[0], []
    for t in _order(gx.shape[0], reverse):
        a = h @ w_t + gx[t]
        h_new = a.tanh() if nonlinearity == "tanh" else a.relu()
        caches.append((t, h_new))
        h = hs[t] = _freeze(mask, t, h_new, h)
    return _stack(hs), caches


def _rnn_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, nonlinearity, needs):
    dh = None
    d_a = [None] * len(caches)
    for k, (t, h_new) in enumerate(reversed(caches)):
        dh = grad_output[t] if dh is None else dh + grad_output[t]
        dh, skip = _split_masked(mask, t, dh)
        if nonlinearity == "tanh":
            d_a[t] = dh * (1 - h_new * h_new)
        else:
            d_a[t] = dh * (h_new.data > 0)  # relu' read from the output: a constant mask
        if k + 1 < len(caches) or needs[1]:
            dh = d_a[t] @ w_hh
            if skip is not None:
                dh = dh + skip
    d_gx = _stack(d_a)
    d_w = _weight_grad(d_gx, hs, h0, reverse) if needs[2] else None
    return d_gx if needs[0] else None, dh if needs[1] else None, d_w


def _lstm_steps(gx, h, c, w_hh, mask, reverse):
    """The LSTM recurrence. Returns [h_1..h_T, c_T] stacked, (T + 1, B, H), and the caches."""
    size = h.shape[-1]
    w_t = fm.swap_last(w_hh)
    out, caches = [None] * (gx.shape[0] + 1), []
    for t in _order(gx.shape[0], reverse):
        a = h @ w_t + gx[t]
        i, f = a[..., :size].sigmoid(), a[..., size:2 * size].sigmoid()
        g, o = a[..., 2 * size:3 * size].tanh(), a[..., 3 * size:].sigmoid()
        c_new = f * c + i * g
        tc = c_new.tanh()
        caches.append((t, (i, f, g, o), c, tc))
        h, c = _freeze(mask, t, o * tc, h), _freeze(mask, t, c_new, c)
        out[t] = h
    out[-1] = c
    return _stack(out), caches


def _lstm_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, needs):
    steps = len(caches)
    dh, dc = None, grad_output[steps]
    d_a = [None] * steps
    for k, (t, (i, f, g, o), c_prev, tc) in enumerate(reversed(caches)):
        dh = grad_output[t] if dh is None else dh + grad_output[t]
        dh, skip_h = _split_masked(mask, t, dh)
        dc, skip_c = _split_masked(mask, t, dc)
        dc = dc + dh * o * (1 - tc * tc)
        d_a[t] = _cat_last([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                              dc * i * (1 - g * g), dh * tc * o * (1 - o)])
        dc = dc * f
        if k + 1 < steps or needs[1]:
            dh = d_a[t] @ w_hh
        if skip_h is not None:
            dh, dc = dh + skip_h, dc + skip_c
    d_gx = _stack(d_a)
    d_w = _weight_grad(d_gx, hs, h0, reverse) if needs[3] else None
    return (d_gx if needs[0] else None, dh if needs[1] else None, dc if needs[2] else None, d_w)


def _gru_steps(gx, h, w_hh, b_hh, mask, reverse):
    """The GRU recurrence (gate order r, z, n; b_hn inside the reset product, as PyTorch)."""
    size = h.shape[-1]
    w_t = fm.swap_last(w_hh)
    hs, caches = [None] * gx.shape[0], []
    for t in _order(gx.shape[0], reverse):
        gh = h @ w_t if b_hh is None else h @ w_t + b_hh
        x_t = gx[t]
        r = (x_t[..., :size] + gh[..., :size]).sigmoid()
        z = (x_t[..., size:2 * size] + gh[..., size:2 * size]).sigmoid()
        gh_n = gh[..., 2 * size:]
        n = (x_t[..., 2 * size:] + r * gh_n).tanh()
        caches.append((t, r, z, n, gh_n, h))
        h = hs[t] = _freeze(mask, t, n + z * (h - n), h)
    return _stack(hs), caches


def _gru_backward(grad_output, hs, h0, w_hh, mask, reverse, caches, needs):
    steps = len(caches)
    dh = None
    d_x, d_h = [None] * steps, [None] * steps
    for k, (t, r, z, n, gh_n, h_prev) in enumerate(reversed(caches)):
        dh = grad_output[t] if dh is None else dh + grad_output[t]
        dh, skip = _split_masked(mask, t, dh)
        d_an = dh * (1 - z) * (1 - n * n)
        d_ar = d_an * gh_n * r * (1 - r)
        d_az = dh * (h_prev - n) * z * (1 - z)
        d_x[t] = _cat_last([d_ar, d_az, d_an])
        d_h[t] = _cat_last([d_ar, d_az, d_an * r])
        if k + 1 < steps or needs[1]:
            dh = dh * z + d_h[t] @ w_hh
            if skip is not None:
                dh = dh + skip
    d_gh = _stack(d_h)
    d_w = _weight_grad(d_gh, hs, h0, reverse) if needs[2] else None
    d_b = fm.sum(d_gh, (0, 1)) if needs[3] else None
    return (_stack(d_x) if needs[0] else None, dh if needs[1] else None, d_w, d_b)


# ---- the kernels on arrays --------------------------------------------------------------------
# NOTE: the kernels fold the minus sign of s(a) = 1 / (1 + e^-a) into the recurrent weight (and
# the 2 of tanh a = 2 s(2a) - 1 into the LSTM's g block), so the exponential of every gate is one
# call. Each step leaves its local derivatives in ``local`` (T, k, B, H), one contiguous (B, H)
# block per factor; a masked step gets zero factors and a pass-through (1) where its state is
# carried over, so the backward loop needs no mask logic beyond the skip of dh. An initial state
# of zeros skips the first product W_hh h_0 and its weight-gradient term (both exactly zero).


def _gate_blocks(a, gates):
    """A (..., B, gates * H) array as its gate blocks, (..., gates, B, H): a strided view."""
    return a.reshape(a.shape[:-1] + (gates, -1)).swapaxes(-3, -2)


def _is_zero(h0) -> bool:
    return not bool(backend.namespace(h0).any(h0))


def _rnn_kernel(gx, h, w_hh, frozen, reverse, nonlinearity):
    """The Elman recurrence on arrays: the states (T, B, H)."""
    xp = backend.namespace(gx)
    hs = xp.empty(gx.shape, gx.dtype)
    w_t = xp.ascontiguousarray(w_hh.T)
    zero_start = _is_zero(h)
    for k, t in enumerate(_order(gx.shape[0], reverse)):
        h_new = hs[t]
        if k or not zero_start:
            xp.matmul(h, w_t, out=h_new)
            h_new += gx[t]
        else:
            h_new[...] = gx[t]
        if nonlinearity == "tanh":
            xp.tanh(h_new, out=h_new)
        else:
            xp.maximum(h_new, 0, out=h_new)
        if frozen is not None:
            xp.copyto(h_new, h, where=frozen[t])
        h = h_new
    return hs


def _rnn_kernel_backward(grad_output, hs, h0, w_hh, frozen, reverse, nonlinearity, needs):
    xp = backend.namespace(hs)
    if nonlinearity == "tanh":
        local = xp.multiply(hs, hs)
        xp.subtract(1, local, out=local)  # tanh' = 1 - h^2
    else:
        local = (hs > 0).astype(hs.dtype)
    if frozen is not None:
        xp.copyto(local, 0, where=frozen)
    d_gx = xp.empty_like(hs)
    dh = xp.zeros_like(h0)
    order = list(_order(hs.shape[0], not reverse))
    for k, t in enumerate(order):
        dh += grad_output[t]
        d_a = xp.multiply(dh, local[t], out=d_gx[t])
        if k + 1 < len(order) or needs[1]:
            d_prev = xp.matmul(d_a, w_hh)
            if frozen is not None:
                xp.copyto(d_prev, dh, where=frozen[t])
            dh = d_prev
    d_w = _weight_grad(d_gx, hs, None if _is_zero(h0) else h0, reverse) if needs[2] else None
    return d_gx if needs[0] else None, dh if needs[1] else None, d_w


def _lstm_kernel(gx, h, c, w_hh, frozen, reverse, record):
    """The LSTM recurrence on arrays: [h_1..h_T, c_T] (T + 1, B, H) and the local derivatives.

    ``local`` (T, 6, B, H) holds, per step, q_i = i(1-i) g, q_f = f(1-f) c_{t-1},
    q_g = i(1-g^2), f, q_o = o(1-o) tanh(c_t) and p = o(1 - tanh(c_t)^2), so that
    back-propagation through a step is dc_t = dc + dh p, dA = [dc q_i, dc q_f, dc q_g, dh q_o],
    dc_{t-1} = dc_t f. The gates are computed in that same memory (rows 2..5 hold i, f, g, o)
    and turned into the factors in place.
    """
    xp = backend.namespace(gx)
    steps, batch, size = gx.shape[0], h.shape[0], h.shape[1]
    dtype = gx.dtype
    scale = xp.asarray([1, 1, 2, 1], dtype=dtype)[:, None, None]
    w_t = xp.ascontiguousarray((w_hh.reshape(4, size, size) * -scale).reshape(4 * size, size).T)
    out = xp.empty((steps + 1, batch, size), dtype)
    local = xp.empty((steps, 6, batch, size), dtype)
    a = xp.empty((batch, 4 * size), dtype)
    a_g, a_gates, gx_g = a[:, 2 * size:3 * size], _gate_blocks(a, 4), gx[..., 2 * size:3 * size]
    fc, ig, tc = (xp.empty((batch, size), dtype) for _ in range(3))
    cells = (xp.empty((batch, size), dtype), xp.empty((batch, size), dtype))
    carried = xp.asarray([0, 0, 0, 1, 0, 0], dtype=dtype)[:, None, None]
    zero_start = _is_zero(h)
    for k, t in enumerate(_order(steps, reverse)):
        q = local[t]
        gates = q[2:6]
        i, f, g, o = gates
        if k or not zero_start:
            xp.matmul(h, w_t, out=a)  # -W h, with -2 W_g h for the g block
        else:
            a.fill(0)
        xp.subtract(a, gx[t], out=a)
        xp.subtract(a_g, gx_g[t], out=a_g)
        xp.exp(a, out=a)
        xp.add(a_gates, 1, out=gates)
        xp.divide(scale, gates, out=gates)  # s(a) for i, f, o and 2 s(2 a_g) for g
        g -= 1
        if record:
            xp.subtract(1, gates[0:2], out=q[0:2])
        xp.multiply(f, c, out=fc)
        xp.multiply(i, g, out=ig)
        c_new = xp.add(fc, ig, out=cells[k % 2])
        xp.tanh(c_new, out=tc)
        h_new = xp.multiply(o, tc, out=out[t])
        if record:
            q[0] *= ig  # (1 - i) i g
            q[1] *= fc  # (1 - f) f c_{t-1}
            ig *= g
            xp.subtract(i, ig, out=q[2])  # i - i g^2
            xp.multiply(h_new, o, out=q[4])
            xp.subtract(h_new, q[4], out=q[4])  # h (1 - o)
            xp.multiply(h_new, tc, out=fc)
            xp.subtract(o, fc, out=q[5])  # o - h tanh(c)
            if frozen is not None:
                xp.copyto(q, carried, where=frozen[t])
        if frozen is not None:
            xp.copyto(c_new, c, where=frozen[t])
            xp.copyto(h_new, h, where=frozen[t])
        h, c = h_new, c_new
    out[steps] = c
    return out, (local if record else None)


def _lstm_kernel_backward(grad_output, hs, h0, w_hh, frozen, reverse, local, needs):
    xp = backend.namespace(hs)
    steps, batch, size = hs.shape
    d_gx = xp.empty((steps, batch, 4 * size), hs.dtype)
    d_gates = _gate_blocks(d_gx, 4)
    dh, dc = xp.zeros_like(h0), grad_output[steps].copy()
    tmp = xp.empty_like(dh)
    for k, t in enumerate(_order(steps, not reverse)):
        q = local[t]
        dh += grad_output[t]
        dc += xp.multiply(dh, q[5], out=tmp)
        xp.multiply(q[0:3], dc, out=d_gates[t, 0:3])
        xp.multiply(q[4], dh, out=d_gates[t, 3])
        dc *= q[3]
        if k + 1 < steps or needs[1]:
            d_prev = xp.matmul(d_gx[t], w_hh)
            if frozen is not None:
                xp.copyto(d_prev, dh, where=frozen[t])
            dh = d_prev
    d_w = _weight_grad(d_gx, hs, None if _is_zero(h0) else h0, reverse) if needs[3] else None
    return (d_gx if needs[0] else None, dh if needs[1] else None, dc if needs[2] else None, d_w)


def _gru_kernel(gx, h, w_hh, b_hh, frozen, reverse, record):
    """The GRU recurrence on arrays: the states (T, B, H) and the local derivatives.

    ``local`` (T, 5, B, H) holds, per step, q_r = q_n r(1-r) gh_n, q_z = (1-z) z (h_{t-1} - n),
    q_n = (1-z)(1-n^2), q_n r and z, so that dA_x = dh [q_r, q_z, q_n] (the gradient of gx_t),
    dA_h = dh [q_r, q_z, q_n r] (of W_hh h + b_hh) and dh_{t-1} = dh z + dA_h W_hh. The gates
    r, z are computed in rows 3, 4 of that memory.
    """
    xp = backend.namespace(gx)
    steps, batch, size = gx.shape[0], h.shape[0], h.shape[1]
    dtype = gx.dtype
    scale = xp.asarray([-1, -1, 1], dtype=dtype)
    w_t = xp.ascontiguousarray((w_hh.reshape(3, size, size) * scale[:, None, None])
                               .reshape(3 * size, size).T)
    b_s = None if b_hh is None else (b_hh.reshape(3, size) * scale[:, None]).reshape(-1)
    hs = xp.empty((steps, batch, size), dtype)
    local = xp.empty((steps, 5, batch, size), dtype)
    a = xp.empty((batch, 3 * size), dtype)
    a_rz, gh_n = _gate_blocks(a, 3)[0:2], a[:, 2 * size:]
    gx_rz, gx_n = _gate_blocks(gx, 3)[:, 0:2], gx[..., 2 * size:]
    r_gh, n, zd = (xp.empty((batch, size), dtype) for _ in range(3))
    carried = xp.asarray([0, 0, 0, 0, 1], dtype=dtype)[:, None, None]
    zero_start = _is_zero(h)
    for k, t in enumerate(_order(steps, reverse)):
        q = local[t]
        gates = q[3:5]
        r, z = gates
        if k or not zero_start:
            xp.matmul(h, w_t, out=a)  # [-W_r h, -W_z h, W_n h]
            if b_s is not None:
                a += b_s
        else:
            a[...] = 0 if b_s is None else b_s
        xp.subtract(a_rz, gx_rz[t], out=gates)
        xp.exp(gates, out=gates)
        gates += 1
        xp.divide(1, gates, out=gates)
        xp.multiply(r, gh_n, out=r_gh)
        xp.add(r_gh, gx_n[t], out=n)
        xp.tanh(n, out=n)
        xp.subtract(h, n, out=zd)
        if record:
            xp.subtract(1, gates, out=q[0:2])
            xp.multiply(n, n, out=q[2])
            xp.subtract(1, q[2], out=q[2])
            q[2] *= q[1]  # (1 - n^2)(1 - z)
        zd *= z
        h_new = xp.add(n, zd, out=hs[t])
        if record:
            q[1] *= zd  # (1 - z) z (h - n)
            q[0] *= r_gh
            q[0] *= q[2]  # (1 - r) r gh_n q_n
            r *= q[2]  # q_n r
            if frozen is not None:
                xp.copyto(q, carried, where=frozen[t])
        if frozen is not None:
            xp.copyto(h_new, h, where=frozen[t])
        h = h_new
    return hs, (local if record else None)


def _gru_kernel_backward(grad_output, hs, h0, w_hh, frozen, reverse, local, needs):
    xp = backend.namespace(hs)
    steps, batch, size = hs.shape
    d_x = xp.empty((steps, batch, 3 * size), hs.dtype)
    d_hn = xp.empty((steps, batch, size), hs.dtype)  # the n block of dA_h: dh q_n r
    d_x_gates, d_rz = _gate_blocks(d_x, 3), d_x[..., :2 * size]
    w_rz, w_n = w_hh[:2 * size], w_hh[2 * size:]
    dh, tmp = xp.zeros_like(h0), xp.empty_like(h0)
    for k, t in enumerate(_order(steps, not reverse)):
        q = local[t]
        dh += grad_output[t]
        xp.multiply(q[0:3], dh, out=d_x_gates[t])
        xp.multiply(q[3], dh, out=d_hn[t])
        if k + 1 < steps or needs[1]:
            d_prev = xp.matmul(d_rz[t], w_rz)
            d_prev += xp.matmul(d_hn[t], w_n, out=tmp)
            dh *= q[4]  # z, or 1 where the state is carried over
            dh += d_prev
    d_w = d_b = None
    if needs[2]:
        start = None if _is_zero(h0) else h0
        d_w = xp.concatenate([_weight_grad(d_rz, hs, start, reverse),
                              _weight_grad(d_hn, hs, start, reverse)])
    if needs[3]:
        d_b = xp.concatenate([d_rz.sum((0, 1)), d_hn.sum((0, 1))])
    return (d_x if needs[0] else None, dh if needs[1] else None, d_w, d_b)


# ---- the graph nodes ----------------------------------------------------------------------------
def _recording(ctx) -> bool:
    """Whether forward's result will be differentiated (a graph node is being recorded)."""
    return state.grad_enabled and any(ctx.needs_input_grad)


def _frozen(mask):
    return None if mask is None else ~mask


class RNNSequence(Function):
    """A whole Elman RNN layer: states h_1..h_T from projected inputs gx (see the module doc).

    Forward arguments: gx (T, B, H), h0 (B, H), w_hh (H, H), mask (T, B, 1) or None, reverse,
    nonlinearity ("tanh" or "relu"). Output: the states, (T, B, H).
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, gx, h0, w_hh, mask, reverse, nonlinearity):
        hs = _rnn_kernel(gx, h0, w_hh, _frozen(mask), reverse, nonlinearity)
        ctx.args = (mask, reverse, nonlinearity)
        ctx.save_for_backward(gx, h0, w_hh, hs)
        return hs

    @staticmethod
    def backward(ctx, grad_output):
        gx, h0, w_hh, hs = ctx.saved_tensors
        mask, reverse, nonlinearity = ctx.args
        if _is_t(grad_output):  # create_graph: recompute the steps differentiably
            hs, caches = _rnn_steps(gx, h0, w_hh, mask, reverse, nonlinearity)
            grads = _rnn_backward(grad_output, hs, h0, w_hh, mask, reverse, caches,
                                  nonlinearity, ctx.needs_input_grad)
        else:
            grads = _rnn_kernel_backward(grad_output, hs, h0, w_hh, _frozen(mask), reverse,
                                         nonlinearity, ctx.needs_input_grad)
        return grads + (None, None, None)


class LSTMSequence(Function):
    """A whole LSTM layer: states from projected inputs gx (see the module docstring).

    Forward arguments: gx (T, B, 4H) holding W_ih x_t + b_ih + b_hh, h0 and c0 (B, H),
    w_hh (4H, H), mask (T, B, 1) or None, reverse. Output (T + 1, B, H): rows 0..T-1 are the
    hidden states h_t, row T is the final cell state c_T (one array, so one graph node).
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, mask, reverse):
        with np.errstate(over="ignore"):  # e^-a = inf gives s(a) = 1 / (1 + inf) = 0: right
            out, local = _lstm_kernel(gx, h0, c0, w_hh, _frozen(mask), reverse, _recording(ctx))
        ctx.args = (mask, reverse)
        ctx.save_for_backward(gx, h0, c0, w_hh, out, local)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        gx, h0, c0, w_hh, out, local = ctx.saved_tensors
        mask, reverse = ctx.args
        steps = gx.shape[0]
        if _is_t(grad_output):
            out, caches = _lstm_steps(gx, h0, c0, w_hh, mask, reverse)
            grads = _lstm_backward(grad_output, out[:steps], h0, w_hh, mask, reverse, caches,
                                   ctx.needs_input_grad)
        else:
            grads = _lstm_kernel_backward(grad_output, out[:steps], h0, w_hh, _frozen(mask),
                                          reverse, local, ctx.needs_input_grad)
        return grads + (None, None)


class GRUSequence(Function):
    """A whole GRU layer: states h_1..h_T from projected inputs gx (see the module docstring).

    Forward arguments: gx (T, B, 3H) holding W_ih x_t + b_ih, h0 (B, H), w_hh (3H, H),
    b_hh (3H,) or None, mask (T, B, 1) or None, reverse. Output: the states, (T, B, H).
    """

    formula_backward = True

    @staticmethod
    def forward(ctx, gx, h0, w_hh, b_hh, mask, reverse):
        with np.errstate(over="ignore"):
            hs, local = _gru_kernel(gx, h0, w_hh, b_hh, _frozen(mask), reverse, _recording(ctx))
        ctx.args = (mask, reverse)
        ctx.save_for_backward(gx, h0, w_hh, b_hh, hs, local)
        return hs

    @staticmethod
    def backward(ctx, grad_output):
        gx, h0, w_hh, b_hh, hs, local = ctx.saved_tensors
        mask, reverse = ctx.args
        if _is_t(grad_output):
            hs, caches = _gru_steps(gx, h0, w_hh, b_hh, mask, reverse)
            grads = _gru_backward(grad_output, hs, h0, w_hh, mask, reverse, caches,
                                  ctx.needs_input_grad)
        else:
            grads = _gru_kernel_backward(grad_output, hs, h0, w_hh, _frozen(mask), reverse,
                                         local, ctx.needs_input_grad)
        return grads + (None, None)


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
