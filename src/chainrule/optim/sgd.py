"""Stochastic gradient descent, with momentum (heavy ball or Nesterov)."""

from __future__ import annotations

import numpy as np

from chainrule.backend import is_gpu_array
from chainrule.ops import fused
from chainrule.optim.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with momentum, Nesterov momentum and L2 weight decay.

    With learning rate ``lr`` (alpha), gradient ``g_t`` of the loss at ``w_{t-1}``:

        plain:     w_t = w_{t-1} - alpha g_t
        momentum:  b_1 = g_1,  b_t = mu b_{t-1} + (1 - dampening) g_t,  w_t = w_{t-1} - alpha b_t
        Nesterov:  w_t = w_{t-1} - alpha (g_t + mu b_t)

    The decks' momentum forms are these settings (verified in the tests):

    - heavy ball ``dw_t = mu dw_{t-1} - eta g_t; w_t = w_{t-1} + dw_t`` is
      ``SGD(lr=eta, momentum=mu)`` exactly (``dw_t = -eta b_t``);
    - the moving average ``m_t = beta m_{t-1} + (1 - beta) g_t; w_t = w_{t-1} - alpha m_t``
      (``m_0 = 0``) is ``SGD(lr=alpha (1 - beta), momentum=beta)`` exactly
      (``m_t = (1 - beta) b_t``), and ``SGD(lr=alpha, momentum=beta, dampening=beta)`` when the
      average starts from the first gradient (``m_1 = g_1``, PyTorch's convention);
    - Nesterov's look-ahead ``N_k = beta N_{k-1} + alpha grad L(W_{k-1} - beta N_{k-1});
      W_k = W_{k-1} - N_k`` is ``SGD(lr=alpha, momentum=beta, nesterov=True)``, whose iterates are
      the look-ahead points ``W_k - beta N_k``.

    Args:
        params: Tensors or param groups (see :class:`Optimizer`).
        lr: learning rate alpha (default 1e-3).
        momentum: momentum factor mu (default 0).
        dampening: dampening of the gradient in the momentum buffer (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        weight_decay: L2 penalty lambda, added as ``g <- g + lambda w`` (default 0).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> w = cr.tensor([0.0, 0.0], requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(100):
        ...     opt.zero_grad()
        ...     ((w - cr.tensor([3.0, 2.0])) ** 2).sum().backward()
        ...     opt.step()                                   # w -> (3, 2)
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"Nesterov momentum requires a momentum and zero dampening, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def update(self, param, grad, state, group):
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is not None and is_gpu_array(param):
                self._fused_update(param, grad, state, group)
                return
            if buf is None:
                buf = state["momentum_buffer"] = np.copy(grad)  # an array even for 0-d grads
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += grad if dampening == 0 else (1.0 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad

    def _fused_update(self, param, grad, state, group):
        """The momentum update as one fused kernel (a GPU's path, once the buffer exists):
        :func:`~chainrule.ops.fused.sgd_momentum_step` and its undamped and Nesterov forms, with
        the constants rounded to the parameter's dtype as above; the buffer and the parameter are
        written in place."""
        scalar = param.dtype.type
        momentum, lr, dampening = scalar(group["momentum"]), scalar(group["lr"]), group["dampening"]
        buf = state["momentum_buffer"]
        if group["nesterov"]:
            new, buf = fused.sgd_nesterov_step(param, grad, buf, momentum, lr)
        elif dampening == 0:
            new, buf = fused.sgd_momentum_undamped_step(param, grad, buf, momentum, lr)
        else:
            new, buf = fused.sgd_momentum_step(param, grad, buf, momentum,
                                               scalar(1.0 - dampening), lr)
        state["momentum_buffer"][...] = buf  # in place, as the CPU path and PyTorch
        param[...] = new
