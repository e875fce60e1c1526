"""GroupNorm and F.group_norm: the formula, its special cases, gradients, errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def reference(x, groups, weight=None, bias=None, eps=1e-5):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    out = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps))
    out = out.reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def t(array, requires_grad=False):
    return cr.tensor(array, dtype=np.float64, requires_grad=requires_grad)


@pytest.mark.parametrize("shape,groups", [((4, 6), 3), ((2, 6, 5), 2), ((2, 4, 3, 3), 4),
                                          ((3, 4, 2, 5), 1)])
def test_formula(shape, groups):
    x = RNG.standard_normal(shape) * 3 + 1
    w, b = RNG.standard_normal(shape[1]), RNG.standard_normal(shape[1])
    out = F.group_norm(t(x), groups, t(w), t(b), eps=1e-3)
    np.testing.assert_allclose(out.numpy(), reference(x, groups, w, b, eps=1e-3), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(F.group_norm(t(x), groups).numpy(), reference(x, groups),
                               rtol=1e-10, atol=1e-12)


def test_one_group_is_layer_norm_and_c_groups_is_instance_norm():
    x = t(RNG.standard_normal((2, 4, 5)))
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(), F.layer_norm(x, (4, 5)).numpy(),
                               rtol=1e-12)
    per_channel = x.numpy()
    expected = (per_channel - per_channel.mean(-1, keepdims=True)) / np.sqrt(
        per_channel.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(F.group_norm(x, 4).numpy(), expected, rtol=1e-10)


def test_layer_parameters_modes_and_repr():
    gn = nn.GroupNorm(2, 6)
    assert gn.weight.shape == (6,) and gn.bias.shape == (6,)
    np.testing.assert_array_equal(gn.weight.numpy(), np.ones(6))
    assert sorted(gn.state_dict()) == ["bias", "weight"]
    assert repr(gn) == "GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)"
    x = cr.randn(3, 6, 4)
    train = gn(x).numpy()
    gn.eval()
    np.testing.assert_array_equal(gn(x).numpy(), train)  # no running statistics
    plain = nn.GroupNorm(3, 6, affine=False)
    assert list(plain.parameters()) == [] and plain.weight is None
    no_bias = nn.GroupNorm(2, 6, bias=False)
    assert no_bias.bias is None and sorted(no_bias.state_dict()) == ["weight"]
    np.testing.assert_allclose(no_bias(x).numpy(), gn(x).numpy())
    assert gn(x).dtype == np.float32


def test_layer_calls_functional(monkeypatch):
    calls = []
    original = F.group_norm
    monkeypatch.setattr(F, "group_norm", lambda *a, **k: calls.append(1) or original(*a, **k))
    nn.GroupNorm(2, 4)(cr.randn(2, 4))
    assert calls == [1]


def test_errors():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(num_groups=2, num_channels=6\): expected "
                                         r"an \(N, 6, \*\) input, got shape \(2, 5, 3\)"):
        nn.GroupNorm(2, 6)(cr.randn(2, 5, 3))
    with pytest.raises(TypeError, match="GroupNorm: input dtype float64 does not match weight "
                                        "dtype float32"):
        nn.GroupNorm(2, 6)(cr.randn(2, 6).double())
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(cr.randn(2, 6), 4)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.group_norm(cr.randn(6), 2)
    with pytest.raises(RuntimeError, match="expected weight to be a vector of size"):
        F.group_norm(cr.randn(2, 6), 2, cr.ones(3))
    with pytest.raises(ValueError, match="more than 1 value per group"):
        F.group_norm(cr.randn(1, 2), 2)


def test_gradients():
    x = t(RNG.standard_normal((2, 4, 3)), requires_grad=True)
    w = t(RNG.standard_normal(4), requires_grad=True)
    b = t(RNG.standard_normal(4), requires_grad=True)

    def fn(a, g, c):
        return F.group_norm(a, 2, g, c)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b), n_directions=4)
    layer = nn.GroupNorm(2, 4).double()
    assert gradcheck(layer, (x,))
