"""Linear and Identity: the neuron of SPEC 1, parameter counts of SPEC 3, errors, gradients."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck


def test_spec1_neuron_as_a_linear_layer():
    neuron = nn.Linear(3, 1)
    neuron.load_state_dict({"weight": [[0.2, 0.3, 0.9]], "bias": [0.5]})
    y = F.sigmoid(neuron(cr.tensor([[0.5, 0.6, 0.1]])))
    assert y.item() == pytest.approx(1 / (1 + math.exp(-0.87)), rel=1e-6)
    assert round(y.item(), 4) == 0.7047
    assert neuron.num_parameters() == 3 + 1  # n + 1 parameters per neuron


def test_layout_shapes_and_output():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    x = cr.randn(2, 4, 5)
    out = layer(x)
    assert out.shape == (2, 4, 3)
    expected = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert nn.Linear(5, 3, bias=False).bias is None
    assert len(list(nn.Linear(5, 3, bias=False).parameters())) == 1


def test_default_initialisation_bounds():
    cr.manual_seed(0)
    layer = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert layer.weight.dtype == np.float32
    cr.manual_seed(0)
    again = nn.Linear(100, 50)
    np.testing.assert_array_equal(layer.weight.numpy(), again.weight.numpy())


def test_input_mismatch_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=4\): input has 5 features, "
                                         r"shape \(2, 5\)"):
        nn.Linear(4, 3)(cr.zeros(2, 5))
    with pytest.raises(ValueError, match="input has 0 features"):
        nn.Linear(4, 3)(cr.tensor(1.0))


def test_gradcheck_and_second_order():
    layer = nn.Linear(3, 2).double()
    x = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda a, w, b: F.linear(a, w, b), (x, layer.weight, layer.bias))
    assert gradgradcheck(lambda a, w, b: F.tanh(F.linear(a, w, b)),
                         (x, layer.weight, layer.bias))


def test_gradients_of_a_layer_accumulate_on_parameters():
    layer = nn.Linear(2, 1)
    layer.load_state_dict({"weight": [[1.0, -1.0]], "bias": [0.0]})
    x = cr.tensor([[1.0, 2.0], [3.0, 5.0]])
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), [[4.0, 7.0]])
    np.testing.assert_allclose(layer.bias.grad.numpy(), [2.0])


def test_identity_returns_input_and_ignores_arguments():
    x = cr.randn(3)
    assert nn.Identity(54, unused="x")(x) is x
