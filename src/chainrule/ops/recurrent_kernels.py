"""The array kernels of the fused recurrent primitives: forward and back-propagation through time.

These are the fast path of :class:`chainrule.ops.recurrent.RNNSequence`, ``LSTMSequence`` and
``GRUSequence`` (a backward without ``create_graph``): preallocated buffers and in-place NumPy
(or CuPy) calls, with no graph. They compute exactly the recurrences that the cells of
:mod:`chainrule.ops.recurrent` define on Tensors (``rnn_cell``, ``lstm_cell``, ``gru_cell``),
and the tests check them against those cells: states and every gradient, forward and reverse,
with and without a mask.

The forward leaves behind, per step, the local derivatives already multiplied out (for the LSTM,
dA_i = dc * q_i with q_i = i(1-i) g, and so on), so each backward step is a handful of calls
around its matrix product, and the weight gradient is one matrix product at the end,
dW_hh = sum_t dA_t^T h_{t-1}.

All functions take a ``mask`` (T, B, 1) of valid steps or None, and ``reverse`` (run from
t = T-1 down to 0); the backward functions take the forward's arguments and results and
``needs``, the flags of the gradients wanted (in the order of the forward's arguments).
CuPy arrays go to :mod:`chainrule.ops.recurrent_gpu` (same arguments and results), whose steps
are one matrix product and one fused elementwise kernel each.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend

# NOTE: the kernels fold the minus sign of s(a) = 1 / (1 + e^-a) into the recurrent weight (and
# the 2 of tanh a = 2 s(2a) - 1 into the LSTM's g block), so the exponential of every gate is one
# call. Each step leaves its local derivatives in ``local`` (T, k, B, H), one contiguous (B, H)
# block per factor; a masked step gets zero factors and a pass-through (1) where its state is
# carried over, so the backward loop needs no mask logic beyond the skip of dh. An initial state
# of zeros skips the first product W_hh h_0 and its weight-gradient term (both exactly zero).


def order(steps: int, reverse: bool):
    """The time steps in the order a recurrence visits them."""
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _frozen(mask):
    """Where the state is carried over unchanged (padded steps), or None."""
    return None if mask is None else ~mask


def _gate_blocks(a, gates):
    """A (..., B, gates * H) array as its gate blocks, (..., gates, B, H): a strided view."""
    return a.reshape(a.shape[:-1] + (gates, -1)).swapaxes(-3, -2)


def _is_zero(h0) -> bool:
    return not bool(backend.namespace(h0).any(h0))


def weight_grad(d_gates, hs, h0, reverse):
    """dW_hh = sum_t dA_t^T h_{t-1}, with h_{t-1} read from the states hs (T, B, H) and h0.

    Two matrix products cover every step and sample: the steps whose previous state is in hs,
    and the one step that starts from h0 (t = 0, or t = T-1 in reverse; skipped when h0 is None,
    the zero state).
    """
    width, size = d_gates.shape[-1], hs.shape[-1]
    inner, first = (slice(None, -1), -1) if reverse else (slice(1, None), 0)
    d_w = None if h0 is None else d_gates[first].T @ h0
    if d_gates.shape[0] > 1:
        outer = slice(1, None) if reverse else slice(None, -1)
        rest = d_gates[inner].reshape(-1, width).T @ hs[outer].reshape(-1, size)
        d_w = rest if d_w is None else d_w + rest
    if d_w is None:
        return backend.namespace(hs).zeros((width, size), hs.dtype)
    return d_w


# ---- Elman RNN ----------------------------------------------------------------------------------
def rnn_forward(gx, h0, w_hh, mask, reverse, nonlinearity):
    """The states (T, B, H) of h_t = act(gx_t + h_{t-1} W_hh^T), act = tanh or relu."""
    if backend.is_gpu_array(gx):
        from chainrule.ops import recurrent_gpu

        return recurrent_gpu.rnn_forward(gx, h0, w_hh, mask, reverse, nonlinearity)
    xp = backend.namespace(gx)
    frozen = _frozen(mask)
    hs = xp.empty(gx.shape, gx.dtype)
    w_t = xp.ascontiguousarray(w_hh.T)
    zero_start = _is_zero(h0)
    h = h0
    for k, t in enumerate(order(gx.shape[0], reverse)):
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


def rnn_local(hs, frozen, nonlinearity):
    """act'(A_t) read from the states: 1 - h^2 for tanh, [h > 0] for relu; 0 where ``frozen``."""
    xp = backend.namespace(hs)
    if nonlinearity == "tanh":
        local = xp.multiply(hs, hs)
        xp.subtract(1, local, out=local)  # tanh' = 1 - h^2
    else:
        local = (hs > 0).astype(hs.dtype)
    if frozen is not None:
        xp.copyto(local, 0, where=frozen)
    return local


def rnn_backward(grad_output, gx, h0, w_hh, hs, mask, reverse, nonlinearity, needs):
    """(d gx, d h0, d W_hh) from the states hs that :func:`rnn_forward` returned."""
    if backend.is_gpu_array(hs):
        from chainrule.ops import recurrent_gpu

        return recurrent_gpu.rnn_backward(grad_output, gx, h0, w_hh, hs, mask, reverse,
                                          nonlinearity, needs)
    xp = backend.namespace(hs)
    frozen = _frozen(mask)
    local = rnn_local(hs, frozen, nonlinearity)
    d_gx = xp.empty_like(hs)
    dh = xp.zeros_like(h0)
    steps = list(order(hs.shape[0], not reverse))
    for k, t in enumerate(steps):
        dh += grad_output[t]
        d_a = xp.multiply(dh, local[t], out=d_gx[t])
        if k + 1 < len(steps) or needs[1]:
            d_prev = xp.matmul(d_a, w_hh)
            if frozen is not None:
                xp.copyto(d_prev, dh, where=frozen[t])
            dh = d_prev
    d_w = weight_grad(d_gx, hs, None if _is_zero(h0) else h0, reverse) if needs[2] else None
    return d_gx if needs[0] else None, dh if needs[1] else None, d_w


# ---- LSTM -----------------------------------------------------------------------------------
def lstm_forward(gx, h0, c0, w_hh, mask, reverse, record):
    """The LSTM recurrence: [h_1..h_T, c_T] (T + 1, B, H) and the local derivatives.

    ``local`` (T, 6, B, H) holds, per step, q_i = i(1-i) g, q_f = f(1-f) c_{t-1},
    q_g = i(1-g^2), f, q_o = o(1-o) tanh(c_t) and p = o(1 - tanh(c_t)^2), so that
    back-propagation through a step is dc_t = dc + dh p, dA = [dc q_i, dc q_f, dc q_g, dh q_o],
    dc_{t-1} = dc_t f. The gates are computed in that same memory (rows 2..5 hold i, f, g, o)
    and turned into the factors in place. Without ``record`` (no backward will come) ``local``
    is None.
    """
    if backend.is_gpu_array(gx):
        from chainrule.ops import recurrent_gpu

        return recurrent_gpu.lstm_forward(gx, h0, c0, w_hh, mask, reverse, record)
    xp = backend.namespace(gx)
    frozen = _frozen(mask)
    steps, batch, size = gx.shape[0], h0.shape[0], h0.shape[1]
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
    zero_start = _is_zero(h0)
    h, c = h0, c0
    # NOTE: e^-a = inf gives s(a) = 1 / (1 + inf) = 0, the right limit: no warning wanted
    with np.errstate(over="ignore"):
        for k, t in enumerate(order(steps, reverse)):
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


def lstm_backward(grad_output, gx, h0, c0, w_hh, out, local, mask, reverse, needs):
    """(d gx, d h0, d c0, d W_hh) from what :func:`lstm_forward` returned."""
    if backend.is_gpu_array(out):
        from chainrule.ops import recurrent_gpu

        return recurrent_gpu.lstm_backward(grad_output, gx, h0, c0, w_hh, out, local, mask,
                                           reverse, needs)
    xp = backend.namespace(out)
    frozen = _frozen(mask)
    steps, batch, size = gx.shape[0], h0.shape[0], h0.shape[1]
    hs = out[:steps]
    d_gx = xp.empty((steps, batch, 4 * size), out.dtype)
    d_gates = _gate_blocks(d_gx, 4)
    dh, dc = xp.zeros_like(h0), grad_output[steps].copy()
    tmp = xp.empty_like(dh)
    for k, t in enumerate(order(steps, not reverse)):
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
    d_w = weight_grad(d_gx, hs, None if _is_zero(h0) else h0, reverse) if needs[3] else None
    return (d_gx if needs[0] else None, dh if needs[1] else None, dc if needs[2] else None, d_w)


# ---- GRU ------------------------------------------------------------------------------------
def gru_forward(gx, h0, w_hh, b_hh, mask, reverse, record):
    """The GRU recurrence: the states (T, B, H) and the local derivatives.

    ``local`` (T, 5, B, H) holds, per step, q_r = q_n r(1-r) gh_n, q_z = (1-z) z (h_{t-1} - n),
    q_n = (1-z)(1-n^2), q_n r and z, so that dA_x = dh [q_r, q_z, q_n] (the gradient of gx_t),
    dA_h = dh [q_r, q_z, q_n r] (of W_hh h + b_hh) and dh_{t-1} = dh z + dA_h W_hh. The gates
    r, z are computed in rows 3, 4 of that memory. Without ``record`` ``local`` is None.
    """
    if backend.is_gpu_array(gx):
        from chainrule.ops import recurrent_gpu

        return recurrent_gpu.gru_forward(gx, h0, w_hh, b_hh, mask, reverse, record)
    xp = backend.namespace(gx)
    frozen = _frozen(mask)
    steps, batch, size = gx.shape[0], h0.shape[0], h0.shape[1]
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
    zero_start = _is_zero(h0)
    h = h0
    with np.errstate(over="ignore"):  # e^-a = inf gives s(a) = 0, as for the LSTM
        for k, t in enumerate(order(steps, reverse)):
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


def gru_backward(grad_output, gx, h0, w_hh, b_hh, hs, local, mask, reverse, needs):
    """(d gx, d h0, d W_hh, d b_hh) from what :func:`gru_forward` returned."""
    if backend.is_gpu_array(hs):
        from chainrule.ops import recurrent_gpu

        return recurrent_gpu.gru_backward(grad_output, gx, h0, w_hh, b_hh, hs, local, mask,
                                          reverse, needs)
    xp = backend.namespace(hs)
    steps, batch, size = hs.shape
    d_x = xp.empty((steps, batch, 3 * size), hs.dtype)
    d_hn = xp.empty((steps, batch, size), hs.dtype)  # the n block of dA_h: dh q_n r
    d_x_gates, d_rz = _gate_blocks(d_x, 3), d_x[..., :2 * size]
    w_rz, w_n = w_hh[:2 * size], w_hh[2 * size:]
    dh, tmp = xp.zeros_like(h0), xp.empty_like(h0)
    for k, t in enumerate(order(steps, not reverse)):
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
        d_w = xp.concatenate([weight_grad(d_rz, hs, start, reverse),
                              weight_grad(d_hn, hs, start, reverse)])
    if needs[3]:
        d_b = xp.concatenate([d_rz.sum((0, 1)), d_hn.sum((0, 1))])
    return (d_x if needs[0] else None, dh if needs[1] else None, d_w, d_b)
