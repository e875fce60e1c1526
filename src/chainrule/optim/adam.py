"""Adam and AdamW: bias-corrected first and second moment estimates."""

from __future__ import annotations

import math

import numpy as np

from chainrule.backend import is_gpu_array
from chainrule.ops import fused
from chainrule.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): momentum on g and RMSprop scaling, both bias corrected.

    The decks' equations, with learning rate alpha:

        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        m_hat = m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)
        w_t = w_{t-1} - alpha m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad=True`` the denominator uses the running maximum of v (Reddi et al., 2018):
    ``v_max_t = max(v_max_{t-1}, v_t)``, ``v_hat = v_max_t / (1 - beta2^t)``. ``weight_decay``
    adds an L2 penalty to the gradient (``g <- g + lambda w``); see :class:`AdamW` for the
    decoupled form.

    Args:
        params: Tensors or param groups (see :class:`Optimizer`).
        lr: learning rate alpha (default 1e-3).
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty lambda (default 0).
        amsgrad: use the maximum of past second moments.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param, group):
        state = {"exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def update(self, param, grad, state, group):
        if is_gpu_array(param):
            self._fused_update(param, grad, state, group)
            return
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        if self.decoupled_weight_decay and group["weight_decay"]:
            param *= 1.0 - lr * group["weight_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * (grad * grad)
        step = state["step"]
        step_size = lr / (1.0 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]
            np.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        denom = np.sqrt(second) / bias_correction2_sqrt + group["eps"]
        param -= step_size * (exp_avg / denom)

    def _fused_update(self, param, grad, state, group):
        """The same update as one fused kernel (a GPU's path):
        :func:`~chainrule.ops.fused.adam_step` or ``amsgrad_step``, with the constants rounded
        to the parameter's dtype as above; the moments and the parameter are written in
        place."""
        lr, (beta1, beta2), step = group["lr"], group["betas"], state["step"]
        decay = 1.0
        if self.decoupled_weight_decay and group["weight_decay"]:
            decay = 1.0 - lr * group["weight_decay"]
        scalars = tuple(param.dtype.type(c) for c in (
            decay, beta1, 1.0 - beta1, beta2, 1.0 - beta2, lr / (1.0 - beta1 ** step),
            math.sqrt(1.0 - beta2 ** step), group["eps"]))
        names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if group["amsgrad"] else [])
        kernel = fused.amsgrad_step if group["amsgrad"] else fused.adam_step
        new, *moments = kernel(param, grad, *(state[n] for n in names), *scalars)
        for n, value in zip(names, moments):
            state[n][...] = value  # in place, as the CPU path and PyTorch update them
        param[...] = new


class AdamW(Adam):
    """AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay.

    The weight decay shrinks the parameters directly instead of entering the moments:

        w <- w (1 - alpha lambda)
        then Adam's step with the plain gradient g (m_t, v_t, m_hat, v_hat as in :class:`Adam`)
        w_t = w - alpha m_hat / (sqrt(v_hat) + eps)

    Args:
        params: Tensors or param groups (see :class:`Optimizer`).
        lr: learning rate alpha (default 1e-3).
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: decoupled decay lambda (default 1e-2, as in PyTorch).
        amsgrad: use the maximum of past second moments.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> opt = cr.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
