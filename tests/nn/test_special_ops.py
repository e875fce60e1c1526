"""The fused primitives behind nn.functional: ops/special.py and ops/loss.py."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import grad, gradcheck
from chainrule.ops import special
from chainrule.ops.loss import cross_entropy_rows


def test_erf_values_dtype_and_fallback_without_scipy(monkeypatch):
    x = np.linspace(-4, 4, 41)
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(special.erf(cr.tensor(x, dtype=np.float64)).numpy(), expected,
                               rtol=1e-14, atol=1e-16)
    assert special.erf(cr.tensor(x)).dtype == np.float32
    monkeypatch.setattr(special, "_scipy_erf", lambda: None)
    out = special.erf(cr.tensor(x, dtype=np.float64))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-15, atol=0)
    assert special.erf(cr.tensor(x)).dtype == np.float32


def test_erf_derivative():
    x = cr.tensor([-1.0, 0.0, 0.5], dtype=np.float64, requires_grad=True)
    (g,) = grad(special.erf(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), 2 / math.sqrt(math.pi) * np.exp(-x.numpy() ** 2))


def test_normal_cdf_values_in_every_dtype_and_without_scipy(monkeypatch):
    x = np.concatenate([np.linspace(-12, 12, 2401), [-30.0, 0.0, 30.0]])
    expected = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    exact = special.normal_cdf(cr.tensor(x, dtype=np.float64)).numpy()
    np.testing.assert_allclose(exact, expected, rtol=1e-12, atol=1e-300)
    for dtype in (np.float32, np.float16):
        out = special.normal_cdf(cr.tensor(x, dtype=dtype)).numpy()
        assert out.dtype == dtype
        tol = 3e-7 if dtype == np.float32 else 2e-3
        np.testing.assert_allclose(out, expected, rtol=0, atol=tol)
    tail = (x < 0) & (expected > 1e-30)  # float32 keeps its relative precision in the left tail
    out = special.normal_cdf(cr.tensor(x[tail], dtype=np.float32)).numpy()
    np.testing.assert_allclose(out, expected[tail], rtol=5e-5)
    monkeypatch.setattr(special, "_scipy_erf", lambda: None)
    np.testing.assert_allclose(special.normal_cdf(cr.tensor(x, dtype=np.float64)).numpy(),
                               expected, rtol=1e-12, atol=1e-300)


def test_normal_cdf_of_a_large_strided_float32_input_block_by_block():
    x = np.random.default_rng(0).standard_normal((3 * 2 ** 16 + 5, 2)) * 3
    got = special.normal_cdf(cr.tensor(x[:, 0], dtype=np.float32)).numpy()  # several blocks
    exact = special.normal_cdf(cr.tensor(x[:, 0], dtype=np.float64)).numpy()
    assert got.dtype == np.float32 and got.shape == exact.shape
    np.testing.assert_allclose(got, exact, atol=3e-7, rtol=0)


def test_normal_cdf_first_and_second_derivatives():
    x = cr.tensor([-2.5, -0.3, 0.0, 0.7, 3.0], dtype=np.float64, requires_grad=True)
    assert gradcheck(special.normal_cdf, (x,))
    assert cr.autograd.gradgradcheck(special.normal_cdf, (x,))
    (g,) = grad(special.normal_cdf(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), np.exp(-x.numpy() ** 2 / 2) / math.sqrt(2 * math.pi))


def test_softplus_threshold_and_beta():
    x = cr.tensor([-30.0, 0.0, 5.0, 25.0], dtype=np.float64, requires_grad=True)
    out = special.softplus(x, beta=2.0, threshold=8.0)
    np.testing.assert_allclose(out.numpy(), [np.log1p(np.exp(-60)) / 2, np.log(2) / 2, 5.0,
                                             25.0], rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / (1 + np.exp(60)), 0.5, 1.0, 1.0])
    with pytest.raises(ValueError, match="beta must be positive"):
        special.softplus(x, beta=0.0)


def test_heaviside_value_at_zero():
    x = cr.tensor([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(special.heaviside(x, 0.0).numpy(), [0, 0, 1])
    np.testing.assert_array_equal(special.heaviside(x, 1.0).numpy(), [0, 1, 1])
    assert special.heaviside(cr.tensor([0, 3]), 0.5).dtype == np.float32


def test_cross_entropy_hessian_is_diag_p_minus_p_p_transpose():
    z = cr.tensor([[0.3, -1.2, 2.0, 0.1]], dtype=np.float64, requires_grad=True)
    loss = cross_entropy_rows(z, cr.tensor([2]), reduction="sum")
    (g,) = grad(loss, z, create_graph=True)
    p = np.exp(z.numpy()[0]) / np.exp(z.numpy()[0]).sum()
    rows = [grad(g[0, i], z, retain_graph=True)[0].numpy()[0] for i in range(4)]
    np.testing.assert_allclose(np.array(rows), np.diag(p) - np.outer(p, p), rtol=1e-10,
                               atol=1e-14)


def test_mean_over_only_ignored_rows_raises_instead_of_nan():
    with pytest.raises(ValueError, match=r"every target is ignore_index \(-100\)"):
        cross_entropy_rows(cr.zeros(2, 3), cr.tensor([-100, -100]))
    with pytest.raises(ValueError, match="every target is ignore_index"):
        F.nll_loss(cr.zeros(2, 3), cr.tensor([1, 1]), ignore_index=1)
    assert cross_entropy_rows(cr.zeros(2, 3), cr.tensor([-100, -100]), reduction="sum").item() \
        == 0.0


def test_cross_entropy_probability_target_gradient():
    z = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)), dtype=np.float64,
                  requires_grad=True)
    t = cr.tensor(np.random.default_rng(1).dirichlet(np.ones(4), 3), dtype=np.float64,
                  requires_grad=True)
    assert gradcheck(lambda a, b: cross_entropy_rows(a, b, label_smoothing=0.3), (z, t))
