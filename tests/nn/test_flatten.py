"""Flatten and Unflatten."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_flatten_defaults_keep_the_batch_axis():
    x = cr.randn(2, 3, 4, 5, requires_grad=True)
    out = nn.Flatten()(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(2, 60))
    out.sum().backward()
    assert x.grad.shape == x.shape
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=3, end_dim=-1\): input has 2 dims"):
        nn.Flatten(3)(cr.zeros(2, 3))


def test_unflatten_inverts_flatten():
    x = cr.randn(4, 784)
    img = nn.Unflatten(1, (1, 28, 28))(x)
    assert img.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(nn.Flatten()(img).numpy(), x.numpy())
    assert nn.Unflatten(-1, (2, -1))(cr.zeros(3, 8)).shape == (3, 2, 4)
    with pytest.raises(ValueError, match=r"Unflatten\(dim=1, unflattened_size=\(3, 3\)\): "
                                         r"dimension 1 has size 8"):
        nn.Unflatten(1, (3, 3))(cr.zeros(2, 8))
