"""Activations of SPEC 2: values, stability, gradients and second derivatives (float64)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.ops.special import erf


def _erf(x):
    return np.vectorize(math.erf)(x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name, function, NumPy reference, second-order check
TABLE = [
    ("identity", F.identity, lambda x: x, False),
    ("step", F.step, lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5)), True),
    ("sign", F.sign, np.sign, True),
    ("piecewise_linear", F.piecewise_linear, lambda x: np.clip(x + 0.5, 0, 1), True),
    ("sigmoid", F.sigmoid, _sigmoid, True),
    ("tanh", F.tanh, np.tanh, True),
    ("relu", F.relu, lambda x: np.maximum(x, 0), True),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: np.maximum(0.1 * x, x), True),
    ("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1)), True),
    ("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), True),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))), True),
    ("softplus", F.softplus, lambda x: np.log1p(np.exp(x)), True),
    ("softplus_beta", lambda x: F.softplus(x, 3.0, 2.0),
     lambda x: np.where(3 * x > 2, x, np.log1p(np.exp(3 * x)) / 3), True),
    ("logsigmoid", F.logsigmoid, lambda x: np.log(_sigmoid(x)), True),
    ("softmax", lambda x: F.softmax(x, 1),
     lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True), True),
    ("log_softmax", lambda x: F.log_softmax(x, 0),
     lambda x: x - np.log(np.exp(x).sum(0, keepdims=True)), True),
    ("erf", erf, _erf, True),
]
IDS = [row[0] for row in TABLE]


def away_from_kinks(shape, seed=0):
    """Values in [-3, 3] at least 0.05 from the kinks at -1/2, 0, 1/2 and 2/3."""
    x = np.random.default_rng(seed).uniform(-3, 3, shape)
    for kink in (-0.5, 0.0, 0.5, 2 / 3):
        near = np.abs(x - kink) < 0.05
        x[near] += 0.1
    return x


@pytest.mark.parametrize("name,fn,ref,second", TABLE, ids=IDS)
def test_values_match_reference(name, fn, ref, second):
    x = away_from_kinks((3, 4))
    out = fn(cr.tensor(x, dtype=np.float64))
    np.testing.assert_allclose(out.numpy(), ref(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,fn,ref,second", TABLE, ids=IDS)
def test_gradcheck(name, fn, ref, second):
    x = cr.tensor(away_from_kinks((3, 4), seed=1), dtype=np.float64, requires_grad=True)
    if name == "identity":
        x = x * 1.0  # a graph node, so there is something to differentiate
    assert gradcheck(fn, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,fn,ref,second", [r for r in TABLE if r[3]],
                         ids=[r[0] for r in TABLE if r[3]])
def test_gradgradcheck(name, fn, ref, second):
    x = cr.tensor(away_from_kinks((2, 3), seed=2), dtype=np.float64, requires_grad=True)
    assert gradgradcheck(fn, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name,fn,ref,second", TABLE, ids=IDS)
def test_float32_stays_float32(name, fn, ref, second):
    x = cr.randn(5, 3, requires_grad=True)
    y = fn(x * 1.0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-50, 50)))
def test_any_shape_matches_reference_and_gradient_shape(data):
    for name, fn, ref, _ in TABLE:
        if name in ("softmax", "log_softmax") and data.ndim < 2:
            continue
        x = cr.tensor(data, dtype=np.float64, requires_grad=True)
        y = fn(x * 1.0)
        np.testing.assert_allclose(y.numpy(), ref(data), rtol=1e-9, atol=1e-12, err_msg=name)
        y.sum().backward()
        assert x.grad.shape == data.shape


# ---- the decks' conventions and the stability promises --------------------------------------
def test_step_is_one_half_at_zero_and_equals_sign_form():
    z = cr.tensor([-2.0, -0.0, 0.0, 1e-30, 3.0])
    np.testing.assert_array_equal(F.step(z).numpy(), [0, 0.5, 0.5, 1, 1])
    np.testing.assert_array_equal(F.step(z).numpy(), ((F.sign(z) + 1) / 2).numpy())
    np.testing.assert_array_equal(nn.Step()(z).numpy(), F.step(z).numpy())


def test_step_and_sign_pass_a_zero_gradient():
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (F.step(x) + F.sign(x)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0])


def test_piecewise_linear_breakpoints():
    z = cr.tensor([-1.0, -0.5, 0.0, 0.25, 0.5, 2.0])
    np.testing.assert_allclose(F.piecewise_linear(z).numpy(), [0, 0, 0.5, 0.75, 1, 1])


def test_sigmoid_and_log_sigmoid_do_not_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor([-1000.0, 1000.0], requires_grad=True)
        s = F.sigmoid(x)
        np.testing.assert_array_equal(s.numpy(), [0.0, 1.0])
        ls = F.logsigmoid(x)
        np.testing.assert_array_equal(ls.numpy(), [-1000.0, 0.0])
        ls.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0])
        sp = F.softplus(cr.tensor([1000.0, -1000.0]))
        np.testing.assert_array_equal(sp.numpy(), [1000.0, 0.0])


def test_softmax_stable_for_large_logits():
    np.testing.assert_array_equal(F.log_softmax(cr.tensor([1000.0, 1.0])).numpy(), [0.0, -999.0])
    np.testing.assert_allclose(F.softmax(cr.tensor([1000.0, 1000.0])).numpy(), [0.5, 0.5])


def test_elu_far_negative_and_positive_has_finite_gradient():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor([-1000.0, 1000.0], requires_grad=True)
        F.elu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


def test_subgradients_at_kinks_match_pytorch_conventions():
    x = cr.tensor([0.0], dtype=np.float64, requires_grad=True)
    for fn, expected in [(F.relu, 0.0), (lambda t: F.leaky_relu(t, 0.2), 0.2),
                         (lambda t: F.elu(t, 0.7), 0.7), (F.gelu, 0.5)]:
        (g,) = cr.autograd.grad(fn(x).sum(), x)
        assert g.item() == pytest.approx(expected)


def test_gelu_approximations_are_close():
    x = cr.linspace(-4, 4, 101, dtype=np.float64)
    exact, approx = F.gelu(x).numpy(), F.gelu(x, "tanh").numpy()
    assert np.abs(exact - approx).max() < 1e-3
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, "fast")


def test_modules_are_thin_wrappers():
    x = cr.tensor(away_from_kinks((2, 3)))
    pairs = [(nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh), (nn.ReLU(), F.relu),
             (nn.LeakyReLU(0.3), lambda t: F.leaky_relu(t, 0.3)), (nn.ELU(), F.elu),
             (nn.GELU("tanh"), lambda t: F.gelu(t, "tanh")), (nn.Softplus(2.0), lambda t:
                                                              F.softplus(t, 2.0)),
             (nn.LogSigmoid(), F.logsigmoid), (nn.Softmax(0), lambda t: F.softmax(t, 0)),
             (nn.LogSoftmax(), F.log_softmax), (nn.Sign(), F.sign),
             (nn.PiecewiseLinear(), F.piecewise_linear), (nn.Identity(), F.identity)]
    for module, fn in pairs:
        np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())
        assert list(module.parameters()) == []


def test_get_activation_by_name_class_and_instance():
    assert isinstance(nn.get_activation("ReLU"), nn.ReLU)
    assert isinstance(nn.get_activation("leaky-relu"), nn.LeakyReLU)
    assert isinstance(nn.get_activation(nn.Tanh), nn.Tanh)
    act = nn.ELU(0.5)
    assert nn.get_activation(act) is act
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        nn.get_activation("swishy")
    with pytest.raises(TypeError):
        nn.get_activation(lambda: 3)
