"""The optimisers of the decks by name, built from :mod:`chainrule.optim`.

| name     | chainrule                                   | update (g: gradient)                   |
|----------|---------------------------------------------|----------------------------------------|
| sgd      | ``cr.optim.SGD(lr)``                        | w <- w - alpha g                       |
| momentum | ``cr.optim.SGD(lr, momentum=mu)``           | b <- mu b + g; w <- w - alpha b        |
| nesterov | ``cr.optim.SGD(lr, momentum, nesterov)``    | w <- w - alpha (g + mu b)              |
| adagrad  | ``cr.optim.Adagrad(lr)``                    | v <- v + g^2; w <- w - alpha g / sqrt v |
| rmsprop  | ``cr.optim.RMSprop(lr, alpha)``             | v <- a v + (1 - a) g^2; as Adagrad     |
| adadelta | ``cr.optim.Adadelta(lr, rho)``              | step sqrt(D + eps) / sqrt(v + eps) g   |
| adam     | ``cr.optim.Adam(lr, betas)``                | bias-corrected m / (sqrt v + eps)      |
| adamw    | ``cr.optim.AdamW(lr, betas)``               | Adam with decoupled weight decay 0.01  |

L-BFGS (``cr.optim.LBFGS``) is left out: it needs a closure that re-evaluates the loss, which
the step-by-step pictures of the playground do not fit.

Example:
    >>> opt = build_optimizer("nesterov", model.parameters(), lr=0.1, momentum=0.9)
"""

from __future__ import annotations

from chainrule import optim

LABELS = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "Adagrad",
          "rmsprop": "RMSprop", "adadelta": "Adadelta", "adam": "Adam", "adamw": "AdamW"}


def _hyper(name, momentum, alpha, rho, beta1, beta2) -> dict:
    """The keyword arguments (besides lr) that optimiser ``name`` takes from the settings."""
    if name == "momentum":
        return {"momentum": momentum}
    if name == "nesterov":
        return {"momentum": momentum, "nesterov": True}
    if name == "rmsprop":
        return {"alpha": alpha}
    if name == "adadelta":
        return {"rho": rho}
    if name in ("adam", "adamw"):
        return {"betas": (beta1, beta2)}
    return {}


_CLASSES = {"sgd": optim.SGD, "momentum": optim.SGD, "nesterov": optim.SGD,
            "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop, "adadelta": optim.Adadelta,
            "adam": optim.Adam, "adamw": optim.AdamW}


def build_optimizer(name: str, params, lr: float, momentum: float = 0.9, alpha: float = 0.99,
                    rho: float = 0.9, beta1: float = 0.9, beta2: float = 0.999):
    """A fresh optimiser ``name`` over ``params`` (see the table of the module docstring).

    Args:
        name: sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam or adamw.
        params: the tensors to optimise.
        lr: the learning rate alpha.
        momentum, alpha, rho, beta1, beta2: the hyper-parameters of the optimisers that have
            them (ignored by the others).
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown optimiser {name!r}; choose from {sorted(_CLASSES)}")
    return _CLASSES[name](params, lr=lr, **_hyper(name, momentum, alpha, rho, beta1, beta2))


def update_hyperparameters(optimizer, name: str, lr: float, momentum: float = 0.9,
                           alpha: float = 0.99, rho: float = 0.9, beta1: float = 0.9,
                           beta2: float = 0.999) -> None:
    """Change the learning rate and hyper-parameters in place, keeping the optimiser's state.

    The state (momentum buffers, running averages of g^2) carries on, as after changing
    ``param_groups[i]["lr"]`` in PyTorch.
    """
    values = {"lr": lr, **_hyper(name, momentum, alpha, rho, beta1, beta2)}
    for group in optimizer.param_groups:
        group.update(values)
