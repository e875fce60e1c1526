"""Every activation module of chainrule.nn, exported and run in onnxruntime."""

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn.layers.activation import ACTIVATIONS  # noqa: E402


def spread(n):
    """Values on both sides of every kink, zero included, and a few large ones."""
    x = cr.randn(n, 3, 8) * 3.0
    x.data[:, :, 0] = [0.0, -0.5, 0.5]
    x.data[:, :, 1] = [30.0, -30.0, 1e3]
    return x


@pytest.mark.parametrize("cls", sorted(set(ACTIVATIONS.values()), key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_every_registered_activation(cls, check):
    cr.manual_seed(0)
    check(cls(), spread)


@pytest.mark.parametrize("module", [
    nn.LeakyReLU(0.2), nn.ELU(0.5), nn.Softplus(beta=2.0, threshold=5.0), nn.Softmax(dim=1),
    nn.LogSoftmax(dim=1), nn.GELU("tanh")], ids=repr)
def test_activation_arguments(module, check):
    cr.manual_seed(0)
    check(module, spread)


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_as_a_formula_and_as_the_opset_20_node(approximate, opset, check):
    cr.manual_seed(0)
    check(nn.GELU(approximate), lambda n: cr.randn(n, 16) * 3, opset=opset)


def test_log_sigmoid_and_softplus_stay_finite_far_out(check):
    x = lambda n: cr.tensor(np.tile([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], (n, 1)))  # noqa: E731
    check(nn.LogSigmoid(), x)
    check(nn.Softplus(), x)
