"""Eigenvalues, trace and spectral density of the Hessian (RELIABILITY 27-28, SPEC 8)."""

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.analysis import (
    hessian,
    hessian_eigenvalues,
    hessian_spectrum,
    hessian_trace,
    lanczos,
)

# A quadratic 1/2 w^T A w with a known spectrum whose dominant eigenvalue is negative.
SPECTRUM = np.array([-9.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.1, 0.0, -0.2, -1.0, -2.0])


def _known_quadratic(eigenvalues=SPECTRUM, seed=0):
    n = eigenvalues.size
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(eigenvalues) @ Q.T
    w = cr.tensor(rng.standard_normal(n), dtype=cr.float64, requires_grad=True)
    At = cr.tensor(A, dtype=cr.float64)
    return A, w, (lambda: 0.5 * (w @ (At @ w)))


EXPECTED = {
    "LM": [-9.0, 5.0, 4.0],
    "LA": [5.0, 4.0, 3.0],
    "SA": [-9.0, -2.0, -1.0],
}


@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("which", ["LM", "LA", "SA"])
def test_known_spectrum_is_recovered(method, which):
    _, w, loss = _known_quadratic()
    values = hessian_eigenvalues([w], loss, k=3, which=which, method=method, seed=0)
    rtol = 1e-9 if method == "lanczos" else 1e-5
    np.testing.assert_allclose(values, EXPECTED[which], rtol=rtol, atol=rtol)


def test_dominant_negative_eigenvalue_and_its_eigenvector():
    A, w, loss = _known_quadratic()
    values, vectors = hessian_eigenvalues([w], loss, k=1, seed=3, return_eigenvectors=True)
    assert values[0] == pytest.approx(-9.0)
    u = vectors[0]
    np.testing.assert_allclose(A @ u, -9.0 * u, atol=1e-8)
    assert np.linalg.norm(u) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_eigenvalues_of_a_tiny_model_equal_eigh_of_the_explicit_hessian(method):
    rng = np.random.default_rng(4)
    W1 = cr.tensor(rng.standard_normal((3, 2)), dtype=cr.float64, requires_grad=True)
    W2 = cr.tensor(rng.standard_normal((1, 3)), dtype=cr.float64, requires_grad=True)
    X = cr.tensor(rng.standard_normal((8, 2)), dtype=cr.float64)
    y = cr.tensor(rng.standard_normal((8, 1)), dtype=cr.float64)

    def loss():
        return ((cr.tanh(X @ W1.T) @ W2.T - y) ** 2).mean()

    H = hessian(loss, [W1, W2])
    exact = np.linalg.eigvalsh(H)
    for which, expected in (("LA", exact[::-1][:4]), ("SA", exact[:2])):
        values = hessian_eigenvalues([W1, W2], loss, k=len(expected), which=which,
                                     method=method, seed=0, tol=1e-12 if method == "power"
                                     else None, max_iter=20_000 if method == "power" else None)
        np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_same_seed_same_numbers(method):
    _, w, loss = _known_quadratic()
    a = hessian_eigenvalues([w], loss, k=2, method=method, seed=7, tol=1e-3)
    b = hessian_eigenvalues([w], loss, k=2, method=method, seed=7, tol=1e-3)
    np.testing.assert_array_equal(a, b)
    cr.manual_seed(11)
    c = hessian_trace([w], loss, n_samples=5)
    cr.manual_seed(11)
    d = hessian_trace([w], loss, n_samples=5)
    assert c == d
    e, f = (hessian_spectrum([w], loss, n_iter=6, n_runs=3, seed=5) for _ in range(2))
    np.testing.assert_array_equal(e.nodes, f.nodes)
    np.testing.assert_array_equal(e.weights, f.weights)
    g = hessian_spectrum([w], loss, n_iter=6, n_runs=3, seed=6)
    assert not np.array_equal(e.weights, g.weights)     # the seed matters


def test_k_equal_to_n_uses_the_dense_hessian_and_bad_arguments_raise():
    _, w, loss = _known_quadratic()
    values = hessian_eigenvalues([w], loss, k=12, which="LA", seed=0)
    np.testing.assert_allclose(values, np.sort(SPECTRUM)[::-1], atol=1e-10)
    with pytest.raises(ValueError, match="k must be"):
        hessian_eigenvalues([w], loss, k=13)
    with pytest.raises(ValueError, match="which"):
        hessian_eigenvalues([w], loss, which="BE")
    with pytest.raises(ValueError, match="method"):
        hessian_eigenvalues([w], loss, method="qr")


def test_missing_scipy_gives_a_clear_error(monkeypatch):
    _, w, loss = _known_quadratic()
    monkeypatch.setitem(sys.modules, "scipy.sparse.linalg", None)
    with pytest.raises(ImportError, match="scipy.*method='power'"):
        hessian_eigenvalues([w], loss, k=1, seed=0)
    # power iteration needs no SciPy
    assert hessian_eigenvalues([w], loss, k=1, method="power", seed=0)[0] == pytest.approx(-9)


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    d = np.array([3.0, -1.0, 0.5, 2.0])
    w = cr.tensor(np.ones(4), dtype=cr.float64, requires_grad=True)
    dt = cr.tensor(d, dtype=cr.float64)
    assert hessian_trace([w], lambda: 0.5 * (dt * w * w).sum(), n_samples=1, seed=0) \
        == pytest.approx(d.sum(), abs=1e-12)


def test_hutchinson_converges_to_the_exact_trace():
    A, w, loss = _known_quadratic()
    exact = np.trace(A)
    sigma = np.sqrt(2 * ((A * A).sum() - (np.diag(A) ** 2).sum()))  # std of one sample
    errors = []
    for n_samples in (10, 4000):
        estimate = hessian_trace([w], loss, n_samples=n_samples, seed=1)
        assert abs(estimate - exact) < 4 * sigma / np.sqrt(n_samples)
        errors.append(abs(estimate - exact))
    assert errors[1] < 0.05 * sigma


def test_lanczos_stops_when_the_krylov_space_is_exhausted():
    A = np.diag([1.0, 1.0, 2.0, 2.0, 3.0])  # three distinct eigenvalues
    alpha, beta = lanczos(lambda v: A @ v, np.ones(5), 5)
    assert alpha.size == 3 and beta.size == 2
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(T), [1.0, 2.0, 3.0], atol=1e-10)


def test_slq_recovers_nodes_weights_and_the_trace():
    eig = np.array([-2.0, 0.5, 0.5, 1.0, 4.0, 4.0, 4.0, 7.0])
    A, w, loss = _known_quadratic(eig, seed=5)
    spec = hessian_spectrum([w], loss, n_iter=8, n_runs=4, seed=0)
    assert spec.n == 8 and spec.nodes.shape == (4, 8)
    np.testing.assert_allclose(spec.weights.sum(axis=1), 1.0, atol=1e-12)
    for nodes, weights in zip(spec.nodes, spec.weights):
        ok = ~np.isnan(nodes)
        # each Ritz value with visible weight is an eigenvalue (the space is exhausted)
        for node, weight in zip(nodes[ok], weights[ok]):
            if weight > 1e-8:
                assert np.min(np.abs(eig - node)) < 1e-6
    grid, phi = spec.density(sigma=0.05)
    assert np.trapezoid(phi, grid) == pytest.approx(1.0, abs=1e-3)
    assert grid[np.argmax(phi)] == pytest.approx(4.0, abs=0.05)  # the triple eigenvalue
    # n * sum_j w_j theta_j is the Hutchinson sample z^T H z of the same start vectors
    same = hessian_trace([w], loss, n_samples=4, seed=0)
    assert spec.trace() == pytest.approx(same, rel=1e-8)
