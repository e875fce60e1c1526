"""`Linear` (a fully connected layer, y = x W^T + b) and `Identity`."""

from __future__ import annotations

import math

from chainrule import creation
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.checks import check_dtype
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


class Linear(Module):
    """A fully connected layer: y = x W^T + b.

    Each of the ``out_features`` neurons computes f(sum_i w_i x_i + b) before its activation,
    so the layer has (in_features + 1) * out_features parameters (n + 1 per neuron).

    Args:
        in_features: size n of each input sample.
        out_features: number m of neurons.
        bias: learn an additive bias b.
        dtype: parameter dtype (float32 by default).

    Shape:
        input (*, in_features) -> output (*, out_features); the input's dtype must be the
        weight's (an integer input raises, as in PyTorch).

    Attributes:
        weight: W of shape (out_features, in_features), initialised U(-k, k) with
            k = 1 / sqrt(in_features) (``kaiming_uniform_`` with a = sqrt(5), as PyTorch).
        bias: b of shape (out_features,), U(-k, k).

    Example:
        >>> layer = nn.Linear(3, 2)
        >>> layer(cr.randn(4, 3)).shape
        (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: sizes must be non-negative, got in_features="
                             f"{in_features}, out_features={out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw W and b from their default distributions."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            features = input.shape[-1] if input.ndim else 0
            raise ValueError(f"Linear(in_features={self.in_features}): input has {features} "
                             f"features, shape {tuple(input.shape)}")
        weight = self.weight
        check_dtype(self, input, weight)
        return F.linear(input, weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (f(z) = z); any constructor arguments are ignored.

    A placeholder layer, and the linear activation of regression outputs.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
