"""L1 and L2 penalties of the regularised loss (SPEC 4)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_values_and_gradients():
    w = cr.tensor([[1.0, -2.0], [0.5, 0.0]], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    assert nn.l1_penalty([w, b]).item() == 6.5
    assert nn.l2_penalty([w, b]).item() == 1 + 4 + 0.25 + 9
    (0.1 * nn.l1_penalty(w) + 0.5 * nn.l2_penalty(w)).backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * np.sign(w.numpy()) + w.numpy())


def test_module_argument_and_regularised_loss():
    model = nn.Linear(3, 1)
    expected = sum(float((p.numpy() ** 2).sum()) for p in model.parameters())
    assert nn.l2_penalty(model).item() == pytest.approx(expected, rel=1e-6)
    x, y = cr.randn(8, 3), cr.randn(8, 1)
    loss = nn.MSELoss()(model(x), y) + 1e-2 * nn.l1_penalty(model.weight)
    loss.backward()
    assert model.weight.grad is not None
    with pytest.raises(ValueError, match="no tensors"):
        nn.l1_penalty([])


def test_l2_penalty_gradient_equals_weight_decay():
    # With plain SGD, weight_decay lambda adds lambda w to the gradient: alpha = lambda / 2.
    w = cr.tensor([0.3, -1.2], requires_grad=True)
    (0.05 * nn.l2_penalty(w)).backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * w.numpy(), rtol=1e-6)
