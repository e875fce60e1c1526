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
