"""The recurrences on a GPU: per step one matrix product (cuBLAS) and one fused kernel.

:mod:`chainrule.ops.recurrent_kernels` sends CuPy arrays here. The functions take the same
arguments and return the same results (the same ``local`` factors too, so a forward of one
kind and a backward of the other agree); only the elementwise work of a step differs: where the
CPU runs a dozen in-place NumPy calls on preallocated buffers, each step here is
``cupy.matmul`` and one kernel of :mod:`chainrule.ops.fused`. The per-step results are stacked
once at the end (one copy) instead of written step by step. A padded step is handled inside the
kernels (``valid``/``keep`` masks), so a masked run costs no extra launches either.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.ops import fused
from chainrule.ops.recurrent_kernels import order, rnn_local, weight_grad


def _blocks(a, gates):
    """The ``gates`` blocks (B, H) of a (B, gates * H) array (strided views)."""
    size = a.shape[-1] // gates
    return tuple(a[..., k * size:(k + 1) * size] for k in range(gates))


def _step_masks(xp, mask):
    """(valid, frozen): functions of t giving the (B, 1) masks, or an all-valid (1, 1) mask."""
    if mask is None:
        always, never = xp.ones((1, 1), bool), xp.zeros((1, 1), bool)
        return (lambda t: always), (lambda t: never)
    frozen = ~mask
    return (lambda t: mask[t]), (lambda t: frozen[t])


def _start(h0):
    """h0 for the weight gradient: None when it is all zeros (its term is exactly zero)."""
    return h0 if bool(backend.namespace(h0).any(h0)) else None


# ---- Elman RNN ----------------------------------------------------------------------------------
def rnn_forward(gx, h0, w_hh, mask, reverse, nonlinearity):
    """The states (T, B, H) of h_t = act(gx_t + h_{t-1} W_hh^T), act = tanh or relu."""
    xp = backend.namespace(gx)
    valid, _ = _step_masks(xp, mask)
    cell = fused.rnn_tanh_cell if nonlinearity == "tanh" else fused.rnn_relu_cell
    w_t = xp.ascontiguousarray(w_hh.T)
    hs = [None] * gx.shape[0]
    h = h0
    for t in order(gx.shape[0], reverse):
        h = hs[t] = cell(xp.matmul(h, w_t), gx[t], h, valid(t))
    return xp.stack(hs)


def rnn_backward(grad_output, gx, h0, w_hh, hs, mask, reverse, nonlinearity, needs):
    """(d gx, d h0, d W_hh) from the states hs that :func:`rnn_forward` returned."""
    xp = backend.namespace(hs)
    _, frozen = _step_masks(xp, mask)
    local = rnn_local(hs, None if mask is None else ~mask, nonlinearity)
    steps = hs.shape[0]
    d_a = [None] * steps
    dh = d_prev = xp.zeros_like(h0)
    keep = xp.zeros((1, 1), bool)
    for k, t in enumerate(order(steps, not reverse)):
        dh, d_a[t] = fused.rnn_cell_backward(d_prev, dh, keep, grad_output[t], local[t])
        if k + 1 < steps or needs[1]:
            d_prev, keep = xp.matmul(d_a[t], w_hh), frozen(t)
    d_gx = xp.stack(d_a)
    d_h0 = xp.where(keep, dh, d_prev) if needs[1] else None
    d_w = weight_grad(d_gx, hs, _start(h0), reverse) if needs[2] else None
    return d_gx if needs[0] else None, d_h0, d_w


# ---- LSTM ---------------------------------------------------------------------------------------
def lstm_forward(gx, h0, c0, w_hh, mask, reverse, record):
    """[h_1..h_T, c_T] (T + 1, B, H) and the factors ``local`` (T, 6, B, H) (None without
    ``record``), as :func:`chainrule.ops.recurrent_kernels.lstm_forward`."""
    xp = backend.namespace(gx)
    valid, _ = _step_masks(xp, mask)
    steps, batch, size = gx.shape[0], h0.shape[0], h0.shape[1]
    w_t = xp.ascontiguousarray(w_hh.T)
    hs, factors = [None] * steps, [()] * steps
    h, c = h0, c0
    for t in order(steps, reverse):
        hw = xp.matmul(h, w_t)
        h, c, *q = fused.lstm_cell(*_blocks(gx[t], 4), *_blocks(hw, 4), c, h, valid(t))
        hs[t] = h
        if record:
            factors[t] = q
    out = xp.stack(hs + [c])
    if not record:
        return out, None
    local = xp.stack([q for step in factors for q in step]).reshape(steps, 6, batch, size)
    return out, local


def lstm_backward(grad_output, gx, h0, c0, w_hh, out, local, mask, reverse, needs):
    """(d gx, d h0, d c0, d W_hh) from what :func:`lstm_forward` returned."""
    xp = backend.namespace(out)
    _, frozen = _step_masks(xp, mask)
    steps = gx.shape[0]
    d_a = [None] * steps
    dh = d_prev = xp.zeros_like(h0)
    dc = grad_output[steps]
    keep = xp.zeros((1, 1), bool)
    for k, t in enumerate(order(steps, not reverse)):
        dh, *d_gates, dc = fused.lstm_cell_backward(d_prev, dh, keep, grad_output[t], dc,
                                                    *local[t])
        d_a[t] = xp.concatenate(d_gates, axis=1)
        if k + 1 < steps or needs[1]:
            d_prev, keep = xp.matmul(d_a[t], w_hh), frozen(t)
    d_gx = xp.stack(d_a)
    d_h0 = xp.where(keep, dh, d_prev) if needs[1] else None
    d_w = weight_grad(d_gx, out[:steps], _start(h0), reverse) if needs[3] else None
    return d_gx if needs[0] else None, d_h0, dc if needs[2] else None, d_w


# ---- GRU ----------------------------------------------------------------------------------------
def gru_forward(gx, h0, w_hh, b_hh, mask, reverse, record):
    """The states (T, B, H) and the factors ``local`` (T, 5, B, H) (None without ``record``),
    as :func:`chainrule.ops.recurrent_kernels.gru_forward`."""
    xp = backend.namespace(gx)
    valid, _ = _step_masks(xp, mask)
    steps, batch, size = gx.shape[0], h0.shape[0], h0.shape[1]
    w_t = xp.ascontiguousarray(w_hh.T)
    hs, factors = [None] * steps, [()] * steps
    h = h0
    for t in order(steps, reverse):
        gh = xp.matmul(h, w_t)
        if b_hh is not None:
            gh += b_hh
        h, *q = fused.gru_cell(*_blocks(gx[t], 3), *_blocks(gh, 3), h, valid(t))
        hs[t] = h
        if record:
            factors[t] = q
    if not record:
        return xp.stack(hs), None
    local = xp.stack([q for step in factors for q in step]).reshape(steps, 5, batch, size)
    return xp.stack(hs), local


def gru_backward(grad_output, gx, h0, w_hh, b_hh, hs, local, mask, reverse, needs):
    """(d gx, d h0, d W_hh, d b_hh) from what :func:`gru_forward` returned."""
    xp = backend.namespace(hs)
    steps, _, size = hs.shape
    w_rz, w_n = w_hh[:2 * size], w_hh[2 * size:]
    d_x, d_hn = [None] * steps, [None] * steps
    dh = z_next = m_rz = m_n = xp.zeros_like(h0)
    for k, t in enumerate(order(steps, not reverse)):
        q = local[t]
        dh, d_r, d_z, d_n, d_hn[t] = fused.gru_cell_backward(dh, z_next, m_rz, m_n,
                                                            grad_output[t], *q[0:4])
        d_x[t] = xp.concatenate((d_r, d_z, d_n), axis=1)
        if k + 1 < steps or needs[1]:
            m_rz, m_n = xp.matmul(d_x[t][:, :2 * size], w_rz), xp.matmul(d_hn[t], w_n)
            z_next = q[4]
    d_x, d_hn = xp.stack(d_x), xp.stack(d_hn)
    d_rz = d_x[..., :2 * size]
    d_w = d_b = None
    if needs[2]:
        start = _start(h0)
        d_w = xp.concatenate([weight_grad(d_rz, hs, start, reverse),
                              weight_grad(d_hn, hs, start, reverse)])
    if needs[3]:
        d_b = xp.concatenate([d_rz.sum((0, 1)), d_hn.sum((0, 1))])
    d_h0 = dh * z_next + (m_rz + m_n) if needs[1] else None
    return d_x if needs[0] else None, d_h0, d_w, d_b
