"""The Hessian's eigenvalues, trace and spectral density, from Hessian-vector products only.

* Top-k eigenvalues: Lanczos (SciPy's ``eigsh`` on a ``LinearOperator``) or power iteration with
  deflation. A positive eigenvalue means the loss curves up along its eigenvector (locally
  convex there), a negative one that it curves down; the magnitude is the curvature.
* Trace: Hutchinson's estimator tr(H) = E_z[z^T H z] with Rademacher z (entries +-1).
* Density: stochastic Lanczos quadrature (Ghorbani et al. 2019): m Lanczos steps from a random
  unit vector give a tridiagonal T whose eigenvalues theta_j (nodes) and squared first
  eigenvector components w_j (weights) approximate the spectrum; averaged over runs and smoothed
  with a Gaussian, phi(t) = 1/R sum_r sum_j w_rj N(t; theta_rj, sigma^2).

Each tool evaluates the model in eval mode unless ``train_mode=True``, and gives it back in the
mode it was in; parameters are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule.analysis._common import resolve_rng
from chainrule.analysis.hessian import HessianOperator
from chainrule.analysis.state import preserved

_WHICH = ("LM", "LA", "SA")


def _default_tol(op, tol):
    if tol is not None:
        return float(tol)
    return float(np.sqrt(np.finfo(op.dtype).eps))


def _order(values, which):
    if which == "LM":
        return np.argsort(-np.abs(values), kind="stable")
    if which == "LA":
        return np.argsort(-values, kind="stable")
    return np.argsort(values, kind="stable")


def _eigsh(op, k, which, rng, tol, max_iter):
    try:
        from scipy.sparse.linalg import LinearOperator, eigsh
    except ImportError:
        raise ImportError(
            "hessian_eigenvalues(method='lanczos') needs SciPy: pip install 'chainrule[analysis]' "
            "(or pip install scipy), or use method='power'"
        ) from None
    linop = LinearOperator((op.n, op.n), matvec=op.matvec, dtype=np.float64)
    v0 = rng.standard_normal(op.n)
    values, vectors = eigsh(linop, k=k, which=which, v0=v0, tol=tol, maxiter=max_iter)
    return values, vectors.T


def _power(op, k, which, rng, tol, max_iter):
    """Power iteration with deflation by projection; shifted so LA/SA become dominant."""

    def run(apply, count):
        values, vectors = [], []
        for _ in range(count):
            v = rng.standard_normal(op.n)
            basis = np.array(vectors) if vectors else None
            mu = 0.0
            for it in range(max_iter):
                if basis is not None:
                    v = v - basis.T @ (basis @ v)
                norm = np.linalg.norm(v)
                if norm == 0.0:
                    break
                v = v / norm
                w = apply(v)
                if basis is not None:
                    w = w - basis.T @ (basis @ w)
                new_mu = float(v @ w)
                converged = it > 0 and abs(new_mu - mu) <= tol * max(abs(new_mu), 1e-30)
                mu = new_mu
                if converged:
                    break
                v = w
            values.append(mu)
            vectors.append(v / max(np.linalg.norm(v), 1e-300))
        return values, vectors

    if which == "LM":
        values, vectors = run(op.matvec, k)
        return np.array(values), np.array(vectors)
    # NOTE: rho = |lambda|_max makes H + rho I (for LA) or rho I - H (for SA) positive
    # semi-definite, so their dominant eigenvalue is the algebraically largest (smallest) of H.
    (lam,), _ = run(op.matvec, 1)
    rho = abs(lam)
    sign = 1.0 if which == "LA" else -1.0
    values, vectors = run(lambda v: sign * op.matvec(v) + rho * v, k)
    return sign * (np.array(values) - rho), np.array(vectors)


def hessian_eigenvalues(model, loss_fn, data=None, k=1, which="LM", method="lanczos", seed=None,
                        tol=None, max_iter=None, return_eigenvectors=False, train_mode=False):
    """The top-k eigenvalues of the Hessian H = d^2 L / dW dW of a model's loss.

    H v products come from double backward (:class:`HessianOperator`); H is never formed.

    Args:
        model: a module, or a sequence of Tensors (then ``loss_fn`` is a zero-argument closure).
        loss_fn: ``loss_fn(model(inputs), targets)``, or a closure when ``data`` is None.
        data: one ``(inputs, targets)`` batch, an iterable of batches, or None.
        k: how many eigenvalues (k < n for Lanczos; k == n falls back to the dense Hessian).
        which: "LM" largest magnitude, "LA" largest (algebraic), "SA" smallest.
        method: "lanczos" (SciPy's eigsh, an optional extra) or "power" (power iteration with
            deflation, shifted by |lambda|_max for "LA"/"SA").
        seed: seed of the random start vectors (None: drawn from ``cr.manual_seed``'s generator).
        tol: relative tolerance (default sqrt(machine epsilon) of the parameters' dtype).
        max_iter: iteration limit (eigsh's default, or 1,000 power steps per eigenvalue).
        return_eigenvectors: also return the unit eigenvectors as rows of a (k, n) array.
        train_mode: compute in train mode (dropout active, batch statistics); default eval.

    Returns:
        The k eigenvalues as a float64 array, ordered by ``which`` (largest |lambda| first, largest
        first, smallest first), and the (k, n) eigenvectors when asked.

    Example:
        >>> top = hessian_eigenvalues(model, nn.CrossEntropyLoss(), (X, y), k=5, seed=0)
    """
    if which not in _WHICH:
        raise ValueError(f"hessian_eigenvalues: which must be one of {_WHICH}, got {which!r}")
    if method not in ("lanczos", "power"):
        raise ValueError(f"hessian_eigenvalues: method must be 'lanczos' or 'power', got "
                         f"{method!r}")
    rng = resolve_rng(seed)
    with preserved(model, train_mode=train_mode, parameters=False):
        op = HessianOperator(model, loss_fn, data)
        if not 1 <= k <= op.n:
            raise ValueError(f"hessian_eigenvalues: k must be between 1 and n = {op.n}, got {k}")
        tol = _default_tol(op, tol)
        if k == op.n or (method == "lanczos" and op.n <= 2):
            values, vecs = np.linalg.eigh(op.dense())
            vectors = vecs.T
        elif method == "lanczos":
            values, vectors = _eigsh(op, k, which, rng, tol, max_iter)
        else:
            values, vectors = _power(op, k, which, rng, tol, max_iter or 1000)
    idx = _order(values, which)[:k]
    values, vectors = values[idx], vectors[idx]
    return (values, vectors) if return_eigenvectors else values


def hessian_trace(model, loss_fn, data=None, n_samples=100, seed=None, train_mode=False):
    """Hutchinson's estimate of the Hessian's trace: tr(H) ~ 1/S sum_s z_s^T H z_s.

    z has independent Rademacher entries (+1 or -1 with probability 1/2), so E[z z^T] = I and
    E[z^T H z] = tr(H); the variance is 2 sum_{i != j} H_ij^2 per sample (zero for a diagonal H).

    Args:
        model, loss_fn, data, train_mode: as in :func:`hessian_eigenvalues`.
        n_samples: the number S of random vectors (Hessian-vector products).
        seed: seed of the Rademacher vectors (None: from ``cr.manual_seed``'s generator).

    Returns:
        The estimate as a float.

    Example:
        >>> hessian_trace(model, nn.MSELoss(), (X, y), n_samples=200, seed=0)
    """
    if n_samples < 1:
        raise ValueError(f"hessian_trace: n_samples must be >= 1, got {n_samples}")
    rng = resolve_rng(seed)
    with preserved(model, train_mode=train_mode, parameters=False):
        op = HessianOperator(model, loss_fn, data)
        total = 0.0
        for _ in range(n_samples):
            z = rng.integers(0, 2, size=op.n) * 2.0 - 1.0
            total += float(z @ op.matvec(z))
    return total / n_samples


def lanczos(matvec, v0, m):
    """m steps of the Lanczos iteration with full reorthogonalisation.

    Builds an orthonormal basis V of the Krylov space span{v0, Hv0, ..., H^(m-1) v0} and the
    tridiagonal T = V^T H V (alpha on the diagonal, beta off it). Stops early when the space is
    exhausted (beta ~ 0, e.g. H with fewer than m distinct eigenvalues).

    Args:
        matvec: v -> H v on flat float64 NumPy vectors (H symmetric).
        v0: the starting vector (normalised here).
        m: the largest number of steps.

    Returns:
        (alpha, beta): the diagonal (length m' <= m) and off-diagonal (length m' - 1) of T.

    Example:
        >>> A = np.diag([1.0, 2.0, 5.0])
        >>> alpha, beta = lanczos(lambda v: A @ v, np.ones(3), 3)
        >>> np.linalg.eigvalsh(np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1))
        array([1., 2., 5.])
    """
    v = np.asarray(v0, dtype=np.float64)
    v = v / np.linalg.norm(v)
    basis, alpha, beta = [v], [], []
    for j in range(min(m, v.size)):
        w = matvec(v)
        a = float(w @ v)
        alpha.append(a)
        V = np.array(basis)
        for _ in range(2):  # NOTE: twice is enough to keep the basis orthogonal in floating point
            w = w - V.T @ (V @ w)
        b = float(np.linalg.norm(w))
        scale = max(max(abs(x) for x in alpha), max(beta, default=0.0), 1e-300)
        if j == min(m, v.size) - 1 or b <= 1e-8 * scale:
            break
        beta.append(b)
        v = w / b
        basis.append(v)
    return np.array(alpha), np.array(beta)


@dataclass
class SpectralDensity:
    """Nodes and weights of stochastic Lanczos quadrature, one row per random start vector.

    Attributes:
        nodes: (runs, m) Ritz values theta (padded with NaN where a run stopped early).
        weights: (runs, m) squared first components of T's eigenvectors (each row sums to 1).
        n: the dimension of the Hessian.
    """

    nodes: np.ndarray
    weights: np.ndarray
    n: int

    def density(self, grid=None, sigma=None, num=1000):
        """phi(t) = 1/R sum_r sum_j w_rj N(t; theta_rj, sigma^2), integrating to 1.

        Args:
            grid: the points t (default ``num`` points spanning the nodes with a margin).
            sigma: the Gaussian width (default 1% of the nodes' range, at least 1e-6).

        Returns:
            (grid, density) as float64 arrays.
        """
        ok = ~np.isnan(self.nodes)
        theta, w = self.nodes[ok], self.weights[ok]
        lo, hi = float(theta.min()), float(theta.max())
        if sigma is None:
            sigma = max(0.01 * (hi - lo), 1e-3 * max(abs(lo), abs(hi)), 1e-6)
        if grid is None:
            grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, num)
        grid = np.asarray(grid, dtype=np.float64)
        z = (grid[:, None] - theta[None, :]) / sigma
        phi = np.exp(-0.5 * z * z) / (sigma * np.sqrt(2 * np.pi))
        return grid, phi @ w / self.nodes.shape[0]

    def trace(self) -> float:
        """The trace estimate n * mean_r sum_j w_rj theta_rj (a Hutchinson estimate)."""
        ok = ~np.isnan(self.nodes)
        return float(self.n * np.sum(np.where(ok, self.nodes * self.weights, 0.0))
                     / self.nodes.shape[0])


def hessian_spectrum(model, loss_fn, data=None, n_iter=30, n_runs=5, seed=None,
                     train_mode=False) -> SpectralDensity:
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al. 2019).

    Args:
        model, loss_fn, data, train_mode: as in :func:`hessian_eigenvalues`.
        n_iter: Lanczos steps m per run (m Hessian-vector products; capped at n).
        n_runs: the number R of random start vectors (Rademacher, normalised).
        seed: seed of the start vectors (None: from ``cr.manual_seed``'s generator).

    Returns:
        A :class:`SpectralDensity`; ``.density()`` gives (grid, phi) for plotting.

    Example:
        >>> spec = hessian_spectrum(model, nn.CrossEntropyLoss(), (X, y), n_iter=40, seed=0)
        >>> t, phi = spec.density()
    """
    if n_iter < 1 or n_runs < 1:
        raise ValueError(f"hessian_spectrum: n_iter and n_runs must be >= 1, got {n_iter}, "
                         f"{n_runs}")
    rng = resolve_rng(seed)
    with preserved(model, train_mode=train_mode, parameters=False):
        op = HessianOperator(model, loss_fn, data)
        m = min(n_iter, op.n)
        nodes = np.full((n_runs, m), np.nan)
        weights = np.zeros((n_runs, m))
        for r in range(n_runs):
            v0 = rng.integers(0, 2, size=op.n) * 2.0 - 1.0
            alpha, beta = lanczos(op.matvec, v0, m)
            T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
            theta, S = np.linalg.eigh(T)
            nodes[r, :theta.size] = theta
            weights[r, :theta.size] = S[0] ** 2
    return SpectralDensity(nodes, weights, op.n)
