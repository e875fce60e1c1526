"""Penalties for the regularised loss of the decks: L + alpha ||W||_1 or L + alpha ||W||_2^2.

Add them to the data loss before ``backward()``; their gradients are alpha sign(w) and
2 alpha w. The L2 form with an optimiser's ``weight_decay`` lambda corresponds to
alpha = lambda / 2 for plain SGD (the update w <- w - lr (g + lambda w)).
"""

from __future__ import annotations

from chainrule.tensor import Tensor


def _tensors(params):
    if isinstance(params, Tensor):
        return [params]
    if hasattr(params, "parameters"):
        return list(params.parameters())
    return list(params)


def l1_penalty(params) -> Tensor:
    """||W||_1 = sum over all given tensors of sum |w| (subgradient 0 at w = 0).

    Args:
        params: tensors, a Module (all its parameters) or one tensor.

    Example:
        >>> loss = F.mse_loss(model(x), y) + 1e-3 * nn.l1_penalty(model.fc.weight)
    """
    tensors = _tensors(params)
    if not tensors:
        raise ValueError("l1_penalty: no tensors given")
    total = tensors[0].abs().sum()
    for t in tensors[1:]:
        total = total + t.abs().sum()
    return total


def l2_penalty(params) -> Tensor:
    """||W||_2^2 = sum over all given tensors of sum w^2 (gradient 2 w).

    Args:
        params: tensors, a Module (all its parameters) or one tensor.
    """
    tensors = _tensors(params)
    if not tensors:
        raise ValueError("l2_penalty: no tensors given")
    total = (tensors[0] * tensors[0]).sum()
    for t in tensors[1:]:
        total = total + (t * t).sum()
    return total
