"""The GPU's fused elementwise kernels: one launch for a step's worth of elementwise work.

On a GPU every NumPy-style call is a kernel launch that reads and writes whole arrays, so a
recurrent step or an optimiser update made of a dozen small calls is bound by launches and
memory traffic, not by arithmetic. Each function here is the elementwise part of such a step,
written as a pure function of its inputs with ufunc-style operations only (no ``out=``, no
in-place update, no reduction, no branch on array values) and decorated by :func:`gpu_fused`:
with CuPy it becomes one ``cupy.fuse`` kernel; called with NumPy arrays it runs as plain NumPy
calls (``cupy.fuse`` falls back to the Python function), which is how the tests check every
formula on the CPU against the in-place code that the CPU runs.

Scalars are passed as NumPy scalars of the arrays' dtype (``dtype.type(x)``), so a fused kernel
rounds its constants exactly as the in-place NumPy code does and float32 stays float32.
Boolean ``valid``/``keep`` arguments are masks broadcast against (B, H): where a padded step
carries the state over unchanged.
"""

from __future__ import annotations

import numpy as np

try:  # pragma: no cover - exercised only where CuPy is installed
    import cupy as _cupy
except Exception:  # ImportError, or a CuPy that finds no CUDA driver
    _cupy = None


def gpu_fused(name: str):
    """Decorate an elementwise kernel: ``cupy.fuse(kernel_name=name)`` when CuPy imports, else
    the identity (the function is returned unchanged).

    Example:
        >>> @gpu_fused("axpy")
        ... def axpy(a, x, y):
        ...     return a * x + y
    """

    def decorate(kernel):
        if _cupy is None:
            return kernel
        return _cupy.fuse(kernel_name=name)(kernel)

    return decorate


def _xp(*arrays):
    """The array module inside a kernel: cupy while fusing (and for CuPy arrays), else numpy."""
    return np if _cupy is None else _cupy.get_array_module(*arrays)


def _sigmoid(xp, a):
    """s(a) = 1 / (1 + e^-a) (e^-a = inf gives 0, the right limit)."""
    return 1 / (1 + xp.exp(-a))


# ---- Elman RNN ----------------------------------------------------------------------------------
@gpu_fused("chainrule_rnn_tanh_cell")
def rnn_tanh_cell(hw, x, h_prev, valid):
    """h_t = tanh(h_{t-1} W_hh^T + gx_t) where ``valid``, else h_{t-1}."""
    xp = _xp(hw, x, h_prev)
    return xp.where(valid, xp.tanh(hw + x), h_prev)


@gpu_fused("chainrule_rnn_relu_cell")
def rnn_relu_cell(hw, x, h_prev, valid):
    """h_t = max(h_{t-1} W_hh^T + gx_t, 0) where ``valid``, else h_{t-1}."""
    xp = _xp(hw, x, h_prev)
    return xp.where(valid, xp.maximum(hw + x, 0), h_prev)


@gpu_fused("chainrule_rnn_cell_backward")
def rnn_cell_backward(d_prev, dh, keep, grad_h, local):
    """One step back through an Elman cell.

    dh_t = (dh where ``keep`` (the later step was padded), else d_prev) + grad_h_t, and
    dA_t = dh_t act'(A_t), with ``local`` = act'(A_t) (1 - h^2 or [h > 0], 0 on padded steps).

    Returns:
        (dh_t, dA_t); the caller forms d_prev = dA_t W_hh for the step before.
    """
    xp = _xp(d_prev, dh, grad_h, local)
    dh_t = xp.where(keep, dh, d_prev) + grad_h
    return dh_t, dh_t * local


# ---- LSTM ---------------------------------------------------------------------------------------
@gpu_fused("chainrule_lstm_cell")
def lstm_cell(x_i, x_f, x_g, x_o, h_i, h_f, h_g, h_o, c_prev, h_prev, valid):
    """One LSTM step from its pre-activations A = gx_t + h_{t-1} W_hh^T, block by block.

    i = s(A_i), f = s(A_f), g = tanh(A_g), o = s(A_o), c_t = f c_{t-1} + i g, h_t = o tanh(c_t),
    and the local derivative factors of :func:`chainrule.ops.recurrent_kernels.lstm_forward`:
    q_i = i(1-i) g, q_f = f(1-f) c_{t-1}, q_g = i(1-g^2), f, q_o = o(1-o) tanh(c_t),
    p = o(1 - tanh(c_t)^2). Where not ``valid`` the state is carried over (h_{t-1}, c_{t-1})
    and the factors are (0, 0, 0, 1, 0, 0).

    Args:
        x_*: the gate blocks of gx_t (B, H) each; h_*: those of h_{t-1} W_hh^T.

    Returns:
        (h_t, c_t, q_i, q_f, q_g, f, q_o, p), each (B, H).
    """
    xp = _xp(x_i, h_i, c_prev)
    i = _sigmoid(xp, x_i + h_i)
    f = _sigmoid(xp, x_f + h_f)
    g = xp.tanh(x_g + h_g)
    o = _sigmoid(xp, x_o + h_o)
    c = f * c_prev + i * g
    tc = xp.tanh(c)
    h = o * tc
    return (xp.where(valid, h, h_prev), xp.where(valid, c, c_prev),
            xp.where(valid, (1 - i) * i * g, 0), xp.where(valid, (1 - f) * f * c_prev, 0),
            xp.where(valid, i * (1 - g * g), 0), xp.where(valid, f, 1),
            xp.where(valid, (1 - o) * h, 0), xp.where(valid, o * (1 - tc * tc), 0))


@gpu_fused("chainrule_lstm_cell_backward")
def lstm_cell_backward(d_prev, dh, keep, grad_h, dc, q_i, q_f, q_g, f, q_o, p):
    """One step back through an LSTM cell, from the factors that :func:`lstm_cell` left.

    dh_t = (dh where ``keep``, else d_prev) + grad_h_t, dc_t = dc + dh_t p,
    dA = [dc_t q_i, dc_t q_f, dc_t q_g, dh_t q_o], dc_{t-1} = dc_t f.

    Returns:
        (dh_t, dA_i, dA_f, dA_g, dA_o, dc_{t-1}); the caller forms d_prev = dA W_hh.
    """
    xp = _xp(d_prev, dh, grad_h, dc)
    dh_t = xp.where(keep, dh, d_prev) + grad_h
    dc_t = dc + dh_t * p
    return dh_t, dc_t * q_i, dc_t * q_f, dc_t * q_g, dh_t * q_o, dc_t * f


# ---- GRU ----------------------------------------------------------------------------------------
@gpu_fused("chainrule_gru_cell")
def gru_cell(x_r, x_z, x_n, h_r, h_z, h_n, h_prev, valid):
    """One GRU step from gx_t and gh = h_{t-1} W_hh^T + b_hh, block by block.

    r = s(x_r + h_r), z = s(x_z + h_z), n = tanh(x_n + r h_n), h_t = n + z (h_{t-1} - n),
    and the factors of :func:`chainrule.ops.recurrent_kernels.gru_forward`:
    q_n = (1-z)(1-n^2), q_r = q_n r(1-r) h_n, q_z = (1-z) z (h_{t-1} - n), q_n r, z.
    Where not ``valid``: h_{t-1}, and factors (0, 0, 0, 0, 1).

    Returns:
        (h_t, q_r, q_z, q_n, q_n r, z), each (B, H).
    """
    xp = _xp(x_r, h_r, h_prev)
    r = _sigmoid(xp, x_r + h_r)
    z = _sigmoid(xp, x_z + h_z)
    r_gh = r * h_n
    n = xp.tanh(r_gh + x_n)
    zd = z * (h_prev - n)
    q_n = (1 - n * n) * (1 - z)
    return (xp.where(valid, n + zd, h_prev), xp.where(valid, (1 - r) * r_gh * q_n, 0),
            xp.where(valid, (1 - z) * zd, 0), xp.where(valid, q_n, 0),
            xp.where(valid, r * q_n, 0), xp.where(valid, z, 1))


@gpu_fused("chainrule_gru_cell_backward")
def gru_cell_backward(dh, z_next, m_rz, m_n, grad_h, q_r, q_z, q_n, q_nr):
    """One step back through a GRU cell, from the factors that :func:`gru_cell` left.

    dh_t = dh z_{t+1} + (m_rz + m_n) + grad_h_t, with m = dA_h W_hh of the later step split by
    blocks; dA_x = dh_t [q_r, q_z, q_n] (the gradient of gx_t) and the n block of dA_h,
    dh_t q_n r.

    Returns:
        (dh_t, dA_r, dA_z, dA_n, dA_hn).
    """
    dh_t = dh * z_next + (m_rz + m_n) + grad_h
    return dh_t, dh_t * q_r, dh_t * q_z, dh_t * q_n, dh_t * q_nr


# ---- optimisers ---------------------------------------------------------------------------------
def _adam_moments(grad, exp_avg, exp_avg_sq, beta1, one_minus_beta1, beta2, one_minus_beta2):
    """m_t = beta1 m + (1 - beta1) g, v_t = beta2 v + (1 - beta2) g^2."""
    return exp_avg * beta1 + one_minus_beta1 * grad, exp_avg_sq * beta2 + one_minus_beta2 * (
        grad * grad)


@gpu_fused("chainrule_adam")
def adam_step(param, grad, exp_avg, exp_avg_sq, decay, beta1, one_minus_beta1, beta2,
              one_minus_beta2, step_size, bias_correction2_sqrt, eps):
    """One Adam/AdamW update of one parameter (the formula of :class:`chainrule.optim.Adam`).

    w' = w decay (decay = 1 - lr lambda for AdamW, else 1), m_t = beta1 m + (1 - beta1) g,
    v_t = beta2 v + (1 - beta2) g^2, w_t = w' - step_size m_t / (sqrt(v_t) / sqrt(1 - beta2^t)
    + eps), step_size = lr / (1 - beta1^t).

    Returns:
        (w_t, m_t, v_t).
    """
    xp = _xp(param, grad, exp_avg)
    m, v = _adam_moments(grad, exp_avg, exp_avg_sq, beta1, one_minus_beta1, beta2,
                         one_minus_beta2)
    denom = xp.sqrt(v) / bias_correction2_sqrt + eps
    return param * decay - step_size * (m / denom), m, v


@gpu_fused("chainrule_amsgrad")
def amsgrad_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, decay, beta1,
                 one_minus_beta1, beta2, one_minus_beta2, step_size, bias_correction2_sqrt, eps):
    """Adam with ``amsgrad``: as :func:`adam_step` with v_max_t = max(v_max, v_t) in the
    denominator.

    Returns:
        (w_t, m_t, v_t, v_max_t).
    """
    xp = _xp(param, grad, exp_avg)
    m, v = _adam_moments(grad, exp_avg, exp_avg_sq, beta1, one_minus_beta1, beta2,
                         one_minus_beta2)
    v_max = xp.maximum(max_exp_avg_sq, v)
    denom = xp.sqrt(v_max) / bias_correction2_sqrt + eps
    return param * decay - step_size * (m / denom), m, v, v_max


@gpu_fused("chainrule_sgd_momentum")
def sgd_momentum_step(param, grad, buf, momentum, one_minus_dampening, lr):
    """Heavy-ball SGD with dampening: b_t = mu b + (1 - dampening) g, w_t = w - lr b_t.

    Returns:
        (w_t, b_t).
    """
    b = buf * momentum + one_minus_dampening * grad
    return param - lr * b, b


@gpu_fused("chainrule_sgd_momentum_undamped")
def sgd_momentum_undamped_step(param, grad, buf, momentum, lr):
    """Heavy-ball SGD, dampening 0: b_t = mu b + g, w_t = w - lr b_t.

    Returns:
        (w_t, b_t).
    """
    b = buf * momentum + grad
    return param - lr * b, b


@gpu_fused("chainrule_sgd_nesterov")
def sgd_nesterov_step(param, grad, buf, momentum, lr):
    """Nesterov SGD (dampening is 0): b_t = mu b + g, w_t = w - lr (g + mu b_t).

    Returns:
        (w_t, b_t).
    """
    b = buf * momentum + grad
    return param - lr * (grad + momentum * b), b
