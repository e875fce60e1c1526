"""The 2-D datasets of the network tab, split into training and test points.

Each set comes from :mod:`chainrule.datasets` (``make_xor``, ``make_circles``, ``make_moons``,
``make_spirals``, ``make_blobs``, ``make_gaussian_mixture``) and is scaled to fill the plane
[-6, 6] x [-6, 6] that the page draws (the frame of TensorFlow's playground, so that sin(x1)
shows a couple of periods). ``noise`` in [0, 1] is the share of the set's own scale that
Gaussian noise adds: 0 gives clean classes, 1 mixes them badly.

| name      | classes | what separates them                               |
|-----------|---------|---------------------------------------------------|
| xor       | 2       | the signs of x1 and x2 (no single line does)      |
| circles   | 2       | the radius                                        |
| moons     | 2       | two interleaving half circles                     |
| spirals   | 2       | two spiral arms (the hardest)                     |
| blobs     | 3       | three Gaussian clusters (softmax over 3 outputs)  |
| gaussians | 2       | two Gaussian clouds (one line suffices)           |

Example:
    >>> split = make_dataset("xor", n_samples=400, noise=0.0, train_ratio=0.5, seed=0)
    >>> split.x_train.shape, split.y_train.shape, split.classes
    ((200, 2), (200,), 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule import datasets

EXTENT = 6.0
_XOR_PAD = 0.1  # keep XOR points this far (in unit coordinates) from the axes


@dataclass(frozen=True)
class Split:
    """Points (float32, (N, 2)) and class labels (int64, (N,)) for training and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int


def _numpy(pair):
    X, y = pair
    return np.asarray(X.numpy(), dtype=np.float64), np.asarray(y.numpy(), dtype=np.int64)


def _xor(n, noise, seed, rng):
    X, y = _numpy(datasets.make_xor(n, 0.0, seed=seed))
    # NOTE: points on the axes belong to neither quadrant clearly; a small gap keeps the
    # classes apart when noise is 0, as the playground this page imitates does.
    X = np.sign(X) * (_XOR_PAD + (1 - _XOR_PAD) * np.abs(X))
    return 5.0 * (X + 0.5 * noise * rng.standard_normal(X.shape)), y


def _circles(n, noise, seed, rng):
    X, y = _numpy(datasets.make_circles(n, noise=0.25 * noise, factor=0.5, seed=seed))
    return 5.0 * X, y


def _moons(n, noise, seed, rng):
    X, y = _numpy(datasets.make_moons(n, noise=0.3 * noise, seed=seed))
    return 3.0 * (X - np.array([0.5, 0.25])), y


def _spirals(n, noise, seed, rng):
    X, y = _numpy(datasets.make_spirals(n, n_classes=2, noise=0.5 * noise, seed=seed))
    return 5.5 * X, y


def _blobs(n, noise, seed, rng):
    centers = np.array([[-0.55, -0.45], [0.55, -0.45], [0.0, 0.55]])
    X, y = _numpy(datasets.make_blobs(n, centers=centers, cluster_std=0.12 + 0.4 * noise,
                                      seed=seed))
    return 5.0 * X, y


def _gaussians(n, noise, seed, rng):
    centers = np.array([[-0.45, -0.45], [0.45, 0.45]])
    X, y = _numpy(datasets.make_gaussian_mixture(n, modes=centers, std=0.15 + 0.4 * noise,
                                                 seed=seed))
    return 5.0 * X, y


_MAKERS = {"xor": (_xor, 2), "circles": (_circles, 2), "moons": (_moons, 2),
           "spirals": (_spirals, 2), "blobs": (_blobs, 3), "gaussians": (_gaussians, 2)}


def make_dataset(name: str, n_samples: int = 400, noise: float = 0.0, train_ratio: float = 0.5,
                 seed: int = 0) -> Split:
    """Generate a 2-D dataset and split it at random into training and test points.

    n_train = round(train_ratio * n_samples) (at least one point on each side); the split is a
    random permutation drawn from ``seed``, like ``cr.data.random_split``.

    Args:
        name: one of xor, circles, moons, spirals, blobs, gaussians.
        n_samples: the number of points.
        noise: noise in [0, 1], as a share of the set's scale.
        train_ratio: the share of points used for training.
        seed: the seed of the points, their noise and the split.

    Returns:
        A :class:`Split` with points in about [-6, 6]^2.
    """
    if name not in _MAKERS:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(_MAKERS)}")
    make, classes = _MAKERS[name]
    rng = np.random.default_rng(seed)
    X, y = make(int(n_samples), float(noise), int(seed), rng)
    X = np.clip(X, -EXTENT, EXTENT).astype(np.float32)
    order = rng.permutation(len(y))
    n_train = min(max(int(round(train_ratio * len(y))), 1), len(y) - 1)
    train, test = order[:n_train], order[n_train:]
    return Split(X[train], y[train], X[test], y[test], classes)


def dataset_classes(name: str) -> int:
    """The number of classes of the dataset ``name``."""
    return _MAKERS[name][1]
