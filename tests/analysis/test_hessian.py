"""Hessian-vector products and the dense Hessian (RELIABILITY 7, SPEC 8)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.analysis import HessianOperator, hessian, hvp


def _quadratic(A, w):
    At = cr.tensor(A, dtype=cr.float64)
    return lambda: 0.5 * (w @ (At @ w))


def _symmetric(n, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    return (M + M.T) / 2


def test_hvp_of_a_quadratic_is_A_v():
    A = _symmetric(5, 0)
    w = cr.tensor(np.ones(5), dtype=cr.float64, requires_grad=True)
    v = np.arange(5.0)
    hv = hvp(_quadratic(A, w), w, cr.tensor(v, dtype=cr.float64))
    np.testing.assert_allclose(hv.numpy(), A @ v, rtol=1e-12, atol=1e-12)


def test_hvp_structures_follow_v():
    rng = np.random.default_rng(1)
    a = cr.tensor(rng.standard_normal((2, 3)), dtype=cr.float64, requires_grad=True)
    b = cr.tensor(rng.standard_normal(3), dtype=cr.float64, requires_grad=True)

    def loss():
        return ((a @ b) ** 2).sum() + (b * b * b).sum()

    va = rng.standard_normal((2, 3))
    vb = rng.standard_normal(3)
    per = hvp(loss, [a, b], [va, vb])
    flat = hvp(loss, [a, b], np.concatenate([va.ravel(), vb]))
    assert isinstance(per, tuple) and per[0].shape == (2, 3) and per[1].shape == (3,)
    assert flat.shape == (9,)
    np.testing.assert_allclose(np.concatenate([per[0].numpy().ravel(), per[1].numpy()]),
                               flat.numpy(), rtol=1e-12)
    # against the dense Hessian
    H = hessian(loss, [a, b])
    np.testing.assert_allclose(H @ np.concatenate([va.ravel(), vb]), flat.numpy(), rtol=1e-10)


def test_hessian_of_worked_function():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    H = hessian(lambda: x[0] ** 2 * x[1], x)
    np.testing.assert_allclose(H, [[4.0, 2.0], [2.0, 0.0]])


def test_hessian_matches_finite_differences_of_the_gradient():
    rng = np.random.default_rng(2)
    W = cr.tensor(rng.standard_normal((3, 4)), dtype=cr.float64, requires_grad=True)
    X = cr.tensor(rng.standard_normal((6, 4)), dtype=cr.float64)
    y = cr.tensor(rng.standard_normal((6, 3)), dtype=cr.float64)

    def loss():
        return ((cr.tanh(X @ W.T) - y) ** 2).mean()

    H = hessian(loss, W)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    eps = 1e-6
    w0 = W.numpy().copy()
    for i in range(w0.size):
        grads = []
        for s in (1, -1):
            w = w0.copy().ravel()
            w[i] += s * eps
            Wp = cr.tensor(w.reshape(3, 4), dtype=cr.float64, requires_grad=True)
            (g,) = cr.autograd.grad(((cr.tanh(X @ Wp.T) - y) ** 2).mean(), Wp)
            grads.append(g.numpy().ravel())
        np.testing.assert_allclose(H[:, i], (grads[0] - grads[1]) / (2 * eps), atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 6), m=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_hvp_is_symmetric(n, m, seed):
    """u . Hv == v . Hu (RELIABILITY 7) for a small non-linear model of varying shape."""
    rng = np.random.default_rng(seed)
    W = cr.tensor(rng.standard_normal((m, n)), dtype=cr.float64, requires_grad=True)
    b = cr.tensor(rng.standard_normal(m), dtype=cr.float64, requires_grad=True)
    X = cr.tensor(rng.standard_normal((4, n)), dtype=cr.float64)

    def loss():
        return cr.sigmoid(X @ W.T + b).log_softmax(-1).sum() + (W ** 4).sum()

    u = rng.standard_normal(m * n + m)
    v = rng.standard_normal(m * n + m)
    hu = hvp(loss, [W, b], u).numpy()
    hv = hvp(loss, [W, b], v).numpy()
    assert u @ hv == pytest.approx(v @ hu, rel=1e-9, abs=1e-9)


def test_linear_loss_has_zero_hessian_and_unused_parameters_get_zeros():
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    unused = cr.tensor([3.0], dtype=cr.float64, requires_grad=True)
    hv = hvp(lambda: (3 * w).sum(), [w, unused], [np.ones(2), np.ones(1)])
    np.testing.assert_array_equal(hv[0].numpy(), 0.0)
    np.testing.assert_array_equal(hv[1].numpy(), 0.0)


def test_hessian_operator_reuses_one_graph_and_leaves_grads_alone():
    A = _symmetric(4, 3)
    w = cr.tensor(np.ones(4), dtype=cr.float64, requires_grad=True)
    calls = []

    def loss():
        calls.append(1)
        return _quadratic(A, w)()

    op = HessianOperator([w], loss)
    for i in range(4):
        np.testing.assert_allclose(op.matvec(np.eye(4)[i]), A[:, i], atol=1e-12)
    assert len(calls) == 1
    assert w.grad is None
    np.testing.assert_allclose(op.dense(), A, atol=1e-12)


def test_bad_inputs_raise():
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    with pytest.raises(ValueError, match="scalar"):
        hvp(lambda: w * w, w, np.ones(2))
    with pytest.raises(ValueError, match="size 3"):
        hvp(lambda: (w * w).sum(), [w], np.ones(3))
    with pytest.raises(ValueError, match="requires grad"):
        hvp(lambda: (w * w).sum(), [cr.tensor([1.0])], np.ones(1))
