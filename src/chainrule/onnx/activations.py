"""Converters of the activation modules of :mod:`chainrule.nn`, one ONNX formula each.

Where ONNX has the function it is one node (Relu, Elu, Softmax, ...); otherwise the formula of
chainrule's function is written out with elementwise nodes, in the same form (stable softplus,
GELU before opset 20).
"""

from __future__ import annotations

import math

from chainrule import nn
from chainrule.onnx.registry import register


def _one_node(op_type, **attributes):
    def convert(g, module, x):
        return g.op(op_type, x, **attributes)

    convert.__doc__ = f"y = {op_type}(x)."
    return convert


for _cls, _op in ((nn.ReLU, "Relu"), (nn.Sigmoid, "Sigmoid"), (nn.Tanh, "Tanh"),
                  (nn.Sign, "Sign")):
    register(_cls)(_one_node(_op))


@register(nn.LeakyReLU)
def leaky_relu(g, module, x):
    """LeakyReLU(z) = z for z > 0, alpha z otherwise: LeakyRelu(alpha)."""
    return g.op("LeakyRelu", x, alpha=float(module.negative_slope))


@register(nn.ELU)
def elu(g, module, x):
    """ELU(z) = z for z > 0, alpha (e^z - 1) otherwise: Elu(alpha)."""
    return g.op("Elu", x, alpha=float(module.alpha))


@register(nn.Softmax)
def softmax(g, module, x):
    """softmax(z)_i = e^{z_i} / sum_j e^{z_j} along ``dim``: Softmax(axis)."""
    return g.op("Softmax", x, axis=module.dim)


@register(nn.LogSoftmax)
def log_softmax(g, module, x):
    """log softmax(z)_i = z_i - logsumexp(z) along ``dim``: LogSoftmax(axis)."""
    return g.op("LogSoftmax", x, axis=module.dim)


@register(nn.Step)
def step(g, module, x):
    """Unit step (0 below zero, 1/2 at zero, 1 above) = (sign(z) + 1) / 2."""
    return g.op("Mul", g.op("Add", g.op("Sign", x), g.scalar(1.0, x)), g.scalar(0.5, x))


@register(nn.PiecewiseLinear)
def piecewise_linear(g, module, x):
    """Hard sigmoid max(0, min(1, z + 1/2)): HardSigmoid(alpha=1, beta=1/2)."""
    return g.op("HardSigmoid", x, alpha=1.0, beta=0.5)


def stable_softplus(g, x, like) -> str:
    """log(1 + e^z) = max(z, 0) + log(1 + e^{-|z|}), which never overflows."""
    tail = g.op("Log", g.op("Add", g.scalar(1.0, like), g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    return g.op("Add", g.op("Relu", x), tail)


@register(nn.Softplus)
def softplus(g, module, x):
    """Softplus(z) = (1/beta) log(1 + e^{beta z}), and z where beta z > threshold."""
    bz = x.name if module.beta == 1 else g.op("Mul", x, g.scalar(module.beta, x))
    y = stable_softplus(g, bz, x)
    if module.beta != 1:
        y = g.op("Div", y, g.scalar(module.beta, x))
    return g.op("Where", g.op("Greater", bz, g.scalar(module.threshold, x)), x, y)


@register(nn.LogSigmoid)
def log_sigmoid(g, module, x):
    """log sigmoid(z) = -softplus(-z) = min(z, 0) - log(1 + e^{-|z|}), stable for any z."""
    tail = g.op("Log", g.op("Add", g.scalar(1.0, x), g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    return g.op("Sub", g.op("Min", x, g.scalar(0.0, x)), tail)


def gelu(g, x, approximate: str = "none") -> str:
    """GELU(z) = z Phi(z): the Gelu node from opset 20, else its formula.

    exact: 0.5 z (1 + erf(z / sqrt 2)); "tanh": 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).
    """
    if g.opset >= 20:
        return g.op("Gelu", x, approximate=approximate)
    if approximate == "none":
        inner = g.op("Erf", g.op("Mul", x, g.scalar(1.0 / math.sqrt(2.0), x)))
    else:
        cube = g.op("Mul", g.op("Mul", g.op("Mul", x, x), x), g.scalar(0.044715, x))
        inner = g.op("Tanh", g.op("Mul", g.op("Add", x, cube),
                                  g.scalar(math.sqrt(2.0 / math.pi), x)))
    half = g.op("Mul", g.op("Mul", x, g.op("Add", inner, g.scalar(1.0, x))), g.scalar(0.5, x))
    return half


@register(nn.GELU)
def gelu_module(g, module, x):
    """GELU(z) = z Phi(z), exact or with the tanh approximation (see :func:`gelu`)."""
    return gelu(g, x, module.approximate)
