"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

import numpy as np

from chainrule.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): coordinates with large past gradients take smaller steps.

    The decks' equations, with learning rate alpha:

        v_t = v_{t-1} + g_t^2
        w_t = w_{t-1} - alpha g_t / sqrt(v_t + eps)

    As in PyTorch, eps is added outside the square root, the learning rate decays as
    ``alpha_t = alpha / (1 + (t - 1) lr_decay)``, and ``v_0 = initial_accumulator_value``:

        w_t = w_{t-1} - alpha_t g_t / (sqrt(v_t) + eps)

    Args:
        params: Tensors or param groups (see :class:`Optimizer`).
        lr: learning rate alpha (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty lambda, ``g <- g + lambda w`` (default 0).
        initial_accumulator_value: starting value of v (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> opt = cr.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param, group):
        return {"sum": np.full_like(param, group["initial_accumulator_value"])}

    def update(self, param, grad, state, group):
        clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += grad * grad
        param -= clr * (grad / (np.sqrt(total) + group["eps"]))
