"""RMSprop: steps scaled by a moving average of squared gradients."""

from __future__ import annotations

import numpy as np

from chainrule.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): Adagrad with a decaying average instead of a growing sum.

    The decks' equations, with learning rate alpha and smoothing constant beta (``alpha`` in
    PyTorch's argument names):

        v_t = beta v_{t-1} + (1 - beta) g_t^2
        w_t = w_{t-1} - lr g_t / sqrt(v_t + eps)

    As in PyTorch, eps is added outside the square root: ``w_t = w_{t-1} - lr g_t / (sqrt(v_t)
    + eps)``. With ``centered=True`` the variance replaces the second moment:
    ``a_t = beta a_{t-1} + (1 - beta) g_t``, denominator ``sqrt(v_t - a_t^2) + eps``. With
    ``momentum`` mu > 0 a buffer accumulates the scaled steps:
    ``b_t = mu b_{t-1} + g_t / denominator; w_t = w_{t-1} - lr b_t``.

    Args:
        params: Tensors or param groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant beta of the average of g^2 (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty lambda, ``g <- g + lambda w`` (default 0).
        momentum: momentum factor mu (default 0).
        centered: normalise by the estimated variance of the gradient.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> opt = cr.optim.RMSprop(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param, group):
        state = {"square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def update(self, param, grad, state, group):
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1.0 - alpha) * (grad * grad)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1.0 - alpha) * grad
            denom = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denom = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / denom
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / denom)
