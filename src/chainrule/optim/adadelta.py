"""Adadelta: RMSprop whose step size is itself a running average of past steps."""

from __future__ import annotations

import numpy as np

from chainrule.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): the units of the update match the units of the parameters.

    The decks' equations, with decay rate beta (``rho``) and D the average of squared steps:

        v_t  = beta v_{t-1} + (1 - beta) g_t^2
        dw_t = - sqrt(D_{t-1} + eps) / sqrt(v_t + eps) g_t
        D_t  = beta D_{t-1} + (1 - beta) dw_t^2
        w_t  = w_{t-1} + lr dw_t

    The decks' form has ``lr = 1`` (the default, as in PyTorch).

    Args:
        params: Tensors or param groups (see :class:`Optimizer`).
        lr: factor applied to the step (default 1.0).
        rho: decay rate beta of both averages, in [0, 1] (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty lambda, ``g <- g + lambda w`` (default 0).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> opt = cr.optim.Adadelta(model.parameters())
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param, group):
        return {"square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1.0 - rho) * (grad * grad)
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad  # the step is -delta
        acc_delta *= rho
        acc_delta += (1.0 - rho) * (delta * delta)
        param -= group["lr"] * delta
