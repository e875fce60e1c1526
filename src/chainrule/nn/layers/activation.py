"""Activation functions as modules: each ``forward`` is one call into ``nn.functional``.

The formulas are those of :mod:`chainrule.nn.functional`; :func:`get_activation` turns a name
("relu", "tanh", ...) into a module, for models configured by strings.
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.layers.linear import Identity
from chainrule.nn.module import Module


class Step(Module):
    """Unit step: 0 for z < 0, 1/2 at z = 0, 1 for z > 0 (zero gradient); see ``F.step``."""

    def forward(self, input):
        return F.step(input)


class Sign(Module):
    """sign(z) in {-1, 0, 1}, the perceptron's output (zero gradient)."""

    def forward(self, input):
        return F.sign(input)


class PiecewiseLinear(Module):
    """Hard sigmoid: 0 for z <= -1/2, z + 1/2 between, 1 for z >= 1/2."""

    def forward(self, input):
        return F.piecewise_linear(input)


class Sigmoid(Module):
    """sigmoid(z) = 1 / (1 + e^-z), computed without overflow; derivative s (1 - s)."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(z) = (e^z - e^-z) / (e^z + e^-z); derivative 1 - tanh^2."""

    def forward(self, input):
        return F.tanh(input)


class _InplaceCompat(Module):
    """Accepts PyTorch's ``inplace`` flag; chainrule always returns a new tensor (same values)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceCompat):
    """ReLU(z) = max(0, z) (gradient 0 at z = 0).

    Args:
        inplace: accepted for compatibility with PyTorch code; the input is never overwritten.
    """

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(_InplaceCompat):
    """LeakyReLU(z) = max(alpha z, z): z for z > 0, alpha z otherwise.

    Args:
        negative_slope: alpha (0.01 by default).
        inplace: accepted for compatibility with PyTorch code; the input is never overwritten.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class ELU(_InplaceCompat):
    """ELU(z) = z for z > 0, alpha (e^z - 1) otherwise.

    Args:
        alpha: the saturation value for z -> -inf is -alpha.
        inplace: accepted for compatibility with PyTorch code; the input is never overwritten.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """GELU(z) = z Phi(z) = 0.5 z (1 + erf(z / sqrt 2)).

    Args:
        approximate: "none" (exact) or "tanh" (0.5 z (1 + tanh(sqrt(2/pi)(z + 0.044715 z^3)))).
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """Softplus(z) = (1/beta) log(1 + e^{beta z}), linear where beta z > threshold.

    Args:
        beta: sharpness (larger is closer to ReLU).
        threshold: above it the function is taken as linear.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    """log sigmoid(z) = -softplus(-z), stable for any z."""

    def forward(self, input):
        return F.logsigmoid(input)


class Softmax(Module):
    """softmax(z)_i = e^{z_i} / sum_j e^{z_j} along ``dim`` (default the last axis)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax(z)_i = z_i - logsumexp(z) along ``dim`` (default the last axis)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


ACTIVATIONS = {
    "identity": Identity, "linear": Identity, "step": Step, "heaviside": Step, "sign": Sign,
    "piecewise_linear": PiecewiseLinear, "hard_sigmoid": PiecewiseLinear, "sigmoid": Sigmoid,
    "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU,
    "softplus": Softplus, "logsigmoid": LogSigmoid, "log_sigmoid": LogSigmoid,
    "softmax": Softmax, "log_softmax": LogSoftmax,
}


def get_activation(spec) -> Module:
    """A fresh activation module from a name ("relu", "tanh", ...), a Module class or factory,
    or a Module instance (returned as is).

    Example:
        >>> nn.get_activation("leaky_relu")
        LeakyReLU(negative_slope=0.01)
    """
    if isinstance(spec, Module):
        return spec
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation {spec!r}; choose from {sorted(ACTIVATIONS)}")
        return ACTIVATIONS[key]()
    if callable(spec):
        module = spec()
        if not isinstance(module, Module):
            raise TypeError(f"activation factory {spec!r} returned {type(module).__name__}, "
                            "not an nn.Module")
        return module
    raise TypeError(f"activation must be a name, a Module or a Module class, got {spec!r}")
