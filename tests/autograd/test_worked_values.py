"""The worked values of SPEC sections 1 and 5."""

import numpy as np
import pytest

import chainrule as cr


def test_spec5_worked_graph():
    a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
    loss = ((a + b) * w - t) ** 2 + w ** 2
    loss.backward()
    assert loss.item() == pytest.approx(8.0)
    assert a.grad.item() == pytest.approx(8.0)
    assert b.grad.item() == pytest.approx(8.0)
    assert w.grad.item() == pytest.approx(16.0)
    assert t.grad.item() == pytest.approx(-4.0)


def test_spec1_neuron():
    w = cr.tensor([0.2, 0.3, 0.9])
    x = cr.tensor([0.5, 0.6, 0.1])
    y = cr.sigmoid(w @ x + 0.5)
    assert y.item() == pytest.approx(1 / (1 + np.exp(-0.87)), rel=1e-6)
    assert round(y.item(), 4) == 0.7047


def test_spec1_sigmoid_mse_gradient_formula():
    """SPEC 1: with o = sigmoid(w.x + b) and L = (t - o)^2 / 2, dL/dw_i = -(t - o) o (1 - o) x_i."""
    x = cr.tensor([0.5, 0.6, 0.1], dtype=cr.float64)
    w = cr.tensor([0.2, 0.3, 0.9], dtype=cr.float64, requires_grad=True)
    b = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    t = 1.0
    o = cr.sigmoid((w * x).sum() + b)
    ((t - o) ** 2 / 2).backward()
    o_val = o.item()
    np.testing.assert_allclose(w.grad.numpy(), -(t - o_val) * o_val * (1 - o_val) * x.numpy())
    assert b.grad.item() == pytest.approx(-(t - o_val) * o_val * (1 - o_val))


def test_spec6_gradient_descent_by_hand():
    """SPEC 6: w <- w - alpha df/dw finds the minima of w^2 - 4w + 4 (w = 2) and of
    (w1 - 3)^2 + (w2 - 2)^2 (w = (3, 2)), with gradients from the engine."""
    w = cr.tensor(-1.0, requires_grad=True)
    v = cr.tensor([0.0, 0.0], requires_grad=True)
    for _ in range(200):
        (dw,) = cr.autograd.grad(w ** 2 - 4 * w + 4, w)
        (dv,) = cr.autograd.grad(((v - cr.tensor([3.0, 2.0])) ** 2).sum(), v)
        with cr.no_grad():
            w.sub_(0.1 * dw)
            v.sub_(0.1 * dv)
    assert w.item() == pytest.approx(2.0, abs=1e-5)
    np.testing.assert_allclose(v.numpy(), [3.0, 2.0], atol=1e-5)
