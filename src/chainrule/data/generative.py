"""Toy data for generative models: mixtures of Gaussians in the plane.

A mixture with well separated, narrow modes is the standard test of a GAN: a generator that
suffers *mode collapse* puts all its samples on one or a few modes, which a count of the modes
covered (see :func:`chainrule.models.gan.mode_coverage`) shows at once.

Example:
    >>> X, y = make_gaussian_mixture(2000, modes=8, radius=2.0, std=0.05, seed=0)
    >>> X.shape, y.shape                   # ((2000, 2), (2000,)); y is the mode of each point
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.creation import as_tensor

__all__ = ["ring_centers", "make_gaussian_mixture"]


def ring_centers(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """``modes`` points evenly spaced on a circle: c_k = r (cos 2 pi k / K, sin 2 pi k / K).

    Args:
        modes: the number K of points (>= 1).
        radius: the radius r of the circle.

    Returns:
        A float64 NumPy array of shape (modes, 2).

    Example:
        >>> ring_centers(4, 1.0).round(6)          # (1, 0), (0, 1), (-1, 0), (0, -1)
    """
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 1:
        raise ValueError(f"ring_centers: modes must be a positive integer, got {modes!r}")
    angles = 2.0 * np.pi * np.arange(modes) / modes
    return float(radius) * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def make_gaussian_mixture(n_samples: int = 1000, modes=8, radius: float = 2.0,
                          std: float = 0.05, seed: int | None = None):
    """Samples of an equal-weight mixture of isotropic Gaussians.

    p(x) = (1 / K) sum_k N(x; c_k, std^2 I). With ``modes`` a number K the centres c_k lie on a
    circle of radius ``radius`` (the "8 Gaussians on a ring" of the GAN literature); with
    ``modes`` an array they are its rows (any dimension), and ``radius`` is ignored.
    Each mode gets n_samples / K points (the first n_samples mod K modes one more), shuffled.

    Args:
        n_samples: number of points (at least one per mode).
        modes: the number of modes on the ring, or their centres, shape (K, n_features).
        radius: radius of the ring of centres.
        std: standard deviation of every mode (>= 0).
        seed: seed of a private generator (default: chainrule's global generator, seeded by
            :func:`chainrule.manual_seed`).

    Returns:
        (X, y): float32 (n_samples, n_features) points and int64 (n_samples,) mode indices.

    Example:
        >>> X, y = make_gaussian_mixture(800, modes=8, radius=2.0, std=0.02, seed=0)
        >>> np.bincount(y.numpy())                 # array([100, 100, ..., 100])
    """
    if np.ndim(modes) == 0:
        centers = ring_centers(modes, radius)
    else:
        centers = np.asarray(modes, dtype=np.float64)
        if centers.ndim != 2 or len(centers) == 0:
            raise ValueError(f"make_gaussian_mixture: modes must be a count or an array of "
                             f"centres of shape (K, n_features), got shape {centers.shape}")
    k = len(centers)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < k:
        raise ValueError(f"make_gaussian_mixture: n_samples must be an integer >= the number of "
                         f"modes ({k}), got {n_samples!r}")
    if not std >= 0:
        raise ValueError(f"make_gaussian_mixture: std must be >= 0, got {std!r}")
    rng = np.random.default_rng(seed) if seed is not None else backend.default_generator()
    sizes = [n_samples // k + (i < n_samples % k) for i in range(k)]
    y = np.repeat(np.arange(k), sizes)
    X = centers[y] + std * rng.standard_normal((n_samples, centers.shape[1]))
    order = rng.permutation(n_samples)
    return (as_tensor(X[order].astype(np.float32)),
            as_tensor(y[order].astype(np.int64)))
