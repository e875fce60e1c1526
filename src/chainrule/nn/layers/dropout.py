"""`Dropout`: inverted dropout, active in training mode only."""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class Dropout(Module):
    """Zero each element with probability p during training and scale the rest by 1/(1 - p).

    y = x m / (1 - p), m_i ~ Bernoulli(1 - p), so the expected output equals the input and
    ``eval()`` makes the layer the identity. Masks come from chainrule's global generator
    (``cr.manual_seed``) unless a ``generator`` is given.

    Args:
        p: probability of dropping an element, 0 <= p <= 1.
        inplace: accepted for compatibility with PyTorch code; the input is never overwritten.
        generator: an optional ``numpy.random.Generator`` for the masks.

    Example:
        >>> drop = nn.Dropout(0.5)
        >>> drop.eval()(x) is x
        True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
