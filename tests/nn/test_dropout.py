"""Dropout: inverted scaling, randomness from the seeded generator, train/eval modes."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def test_inverted_dropout_keeps_expectation():
    cr.manual_seed(0)
    x = cr.ones(400, 250)
    out = nn.Dropout(0.2)(x).numpy()
    assert set(np.unique(out)) == {0.0, np.float32(1.25)}
    assert abs((out == 0).mean() - 0.2) < 0.01
    assert abs(out.mean() - 1.0) < 0.01
    assert out.dtype == np.float32


def test_eval_is_identity_and_train_restores():
    drop = nn.Dropout(0.5)
    x = cr.randn(4, 5)
    drop.eval()
    assert drop(x) is x
    drop.train()
    assert (drop(cr.ones(100)).numpy() == 0).any()


def test_same_seed_same_mask_and_generator_argument():
    cr.manual_seed(3)
    a = F.dropout(cr.ones(50), 0.5).numpy()
    cr.manual_seed(3)
    b = F.dropout(cr.ones(50), 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(7)
    c = nn.Dropout(0.5, generator=gen)(cr.ones(50)).numpy()
    d = F.dropout(cr.ones(50), 0.5, generator=np.random.default_rng(7)).numpy()
    np.testing.assert_array_equal(c, d)


def test_gradient_flows_through_kept_elements_only():
    x = cr.ones(1000, requires_grad=True)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.detach().numpy(), rtol=1e-6)


def test_edge_probabilities_and_validation():
    x = cr.randn(3, 3, requires_grad=True)
    assert F.dropout(x, 0.0) is x
    zeros = F.dropout(x, 1.0)
    np.testing.assert_array_equal(zeros.numpy(), 0.0)
    zeros.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="got -0.1"):
        F.dropout(x, -0.1)
