"""Toy datasets generated on the spot, and loaders for data that sits on this machine.

Generators return ``(X, y)`` as Tensors: ``X`` float32 of shape (n_samples, n_features), ``y``
int64 class labels of shape (n_samples,) (float32 targets of shape (n_samples, 1) for the
regression set :func:`make_sine`). Each takes a ``seed``: with one, it draws from a private
generator; without, from chainrule's global generator (seeded by :func:`chainrule.manual_seed`).

Sequences for recurrent networks (:func:`make_sine_sequences`, :func:`make_price_series`,
:func:`sliding_windows`, from :mod:`chainrule.data.sequences`) and mixtures of Gaussians for
generative models (:func:`make_gaussian_mixture`, :func:`ring_centers`, from
:mod:`chainrule.data.generative`) are available here too, so that ``cr.datasets`` lists every
dataset.

Nothing here downloads: :func:`load_digits` reads the 8x8 digits that ship with scikit-learn
(an optional extra), and :func:`load_mnist` reads MNIST-format IDX files from a local folder.

Example:
    >>> X, y = cr.datasets.make_moons(500, noise=0.1, seed=0)
    >>> X.shape, y.shape                   # ((500, 2), (500,))
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from chainrule import backend
from chainrule.creation import as_tensor
from chainrule.data.generative import make_gaussian_mixture, ring_centers
from chainrule.data.sequences import make_price_series, make_sine_sequences, sliding_windows

__all__ = ["make_xor", "make_linearly_separable", "make_moons", "make_circles", "make_spirals",
           "make_blobs", "make_sine", "make_sine_sequences", "make_price_series",
           "sliding_windows", "make_gaussian_mixture", "ring_centers", "load_digits", "load_idx",
           "load_mnist"]


def _generator(seed):
    return np.random.default_rng(seed) if seed is not None else backend.default_generator()


def _check_n(n_samples, name, minimum=1):
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < minimum:
        raise ValueError(f"{name}: n_samples must be an integer >= {minimum}, got {n_samples!r}")


def _classification(X, y, rng, shuffle=True):
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return as_tensor(np.asarray(X, dtype=np.float32)), as_tensor(np.asarray(y, dtype=np.int64))


# ---- generated classification sets ------------------------------------------------------------
def make_xor(n_samples: int = 200, noise: float = 0.0, seed: int | None = None):
    """Points in the square [-1, 1]^2 labelled by the XOR of their signs.

    y = 1 when exactly one coordinate is positive: (x1 > 0) xor (x2 > 0). No single line separates
    the classes (the perceptron's classic failure); one hidden layer does.

    Args:
        n_samples: number of points.
        noise: standard deviation of Gaussian noise added after labelling.
        seed: seed of a private generator (default: the global generator).

    Returns:
        (X, y): float32 (n_samples, 2) and int64 (n_samples,).
    """
    _check_n(n_samples, "make_xor")
    rng = _generator(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = (X[:, 0] > 0) ^ (X[:, 1] > 0)
    X = X + noise * rng.standard_normal(X.shape)
    return _classification(X, y, rng, shuffle=False)


def make_linearly_separable(n_samples: int = 100, n_features: int = 2, margin: float = 0.1,
                            seed: int | None = None):
    """Two classes split by a random hyperplane w.x + b = 0, with a gap of ``margin``.

    Points are uniform in [-1, 1]^n_features, kept when |w.x + b| / ||w|| >= margin, and labelled
    y = 1 if w.x + b > 0 else 0 (use ``2 * y - 1`` for a sign perceptron's {-1, 1} targets). The
    perceptron learning rule converges on such data.

    Args:
        n_samples: number of points.
        n_features: dimension of the points.
        margin: half-width of the empty band around the hyperplane (>= 0).
        seed: seed of a private generator (default: the global generator).

    Returns:
        (X, y): float32 (n_samples, n_features) and int64 (n_samples,).
    """
    _check_n(n_samples, "make_linearly_separable")
    if not 0 <= margin < 0.5:
        raise ValueError(f"make_linearly_separable: margin must lie in [0, 0.5), got {margin}")
    rng = _generator(seed)
    w = rng.standard_normal(n_features)
    w /= np.linalg.norm(w)
    b = rng.uniform(-0.2, 0.2)
    kept = []
    while sum(len(k) for k in kept) < n_samples:
        X = rng.uniform(-1.0, 1.0, size=(2 * n_samples, n_features))
        kept.append(X[np.abs(X @ w + b) >= margin])
    X = np.concatenate(kept)[:n_samples]
    return _classification(X, X @ w + b > 0, rng, shuffle=False)


def make_moons(n_samples: int = 200, noise: float = 0.0, seed: int | None = None):
    """Two interleaving half circles (as scikit-learn's ``make_moons``).

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t in [0, pi]; plus Gaussian noise.

    Returns:
        (X, y): float32 (n_samples, 2) and int64 (n_samples,), shuffled.
    """
    _check_n(n_samples, "make_moons", 2)
    rng = _generator(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0, np.pi, n_outer)
    t_inner = np.linspace(0, np.pi, n_inner)
    X = np.concatenate([np.stack([np.cos(t_outer), np.sin(t_outer)], 1),
                        np.stack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)], 1)])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X = X + noise * rng.standard_normal(X.shape)
    return _classification(X, y, rng)


def make_circles(n_samples: int = 200, noise: float = 0.0, factor: float = 0.5,
                 seed: int | None = None):
    """A circle of radius 1 (class 0) around a circle of radius ``factor`` (class 1).

    Returns:
        (X, y): float32 (n_samples, 2) and int64 (n_samples,), shuffled.
    """
    _check_n(n_samples, "make_circles", 2)
    if not 0 <= factor < 1:
        raise ValueError(f"make_circles: factor must lie in [0, 1), got {factor}")
    rng = _generator(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0, 2 * np.pi, n_inner, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_outer), np.sin(t_outer)], 1),
                        factor * np.stack([np.cos(t_inner), np.sin(t_inner)], 1)])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X = X + noise * rng.standard_normal(X.shape)
    return _classification(X, y, rng)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2,
                 seed: int | None = None):
    """``n_classes`` interleaved spiral arms.

    Arm k: radius r in [0, 1] and angle t = 4 (k + r) + noise, point r (sin t, cos t).

    Returns:
        (X, y): float32 (n_samples, 2) and int64 (n_samples,) in 0 .. n_classes - 1, shuffled.
    """
    _check_n(n_samples, "make_spirals", n_classes)
    rng = _generator(seed)
    sizes = [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]
    parts, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        t = 4.0 * (k + r) + noise * rng.standard_normal(size)
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        labels.append(np.full(size, k))
    return _classification(np.concatenate(parts), np.concatenate(labels), rng)


def make_blobs(n_samples: int = 300, centers=3, n_features: int = 2, cluster_std: float = 1.0,
               center_box: tuple = (-10.0, 10.0), seed: int | None = None):
    """Gaussian clusters, one class per centre.

    Args:
        n_samples: number of points, shared out evenly between the centres.
        centers: the number of centres (drawn uniformly in ``center_box``) or their coordinates,
            an array of shape (n_centers, n_features).
        n_features: dimension (when ``centers`` is a number).
        cluster_std: standard deviation of every cluster.
        center_box: bounds of the random centres.
        seed: seed of a private generator (default: the global generator).

    Returns:
        (X, y): float32 (n_samples, n_features) and int64 (n_samples,), shuffled.
    """
    rng = _generator(seed)
    if np.ndim(centers) == 0:
        centers = rng.uniform(*center_box, size=(int(centers), n_features))
    centers = np.asarray(centers, dtype=np.float64)
    _check_n(n_samples, "make_blobs", len(centers))
    sizes = [n_samples // len(centers) + (k < n_samples % len(centers))
             for k in range(len(centers))]
    X = np.concatenate([c + cluster_std * rng.standard_normal((size, centers.shape[1]))
                        for c, size in zip(centers, sizes)])
    y = np.repeat(np.arange(len(centers)), sizes)
    return _classification(X, y, rng)


# ---- generated regression set -----------------------------------------------------------------
def make_sine(n_samples: int = 200, noise: float = 0.05, x_range: tuple = (-np.pi, np.pi),
              seed: int | None = None):
    """Regression of y = sin(x) + noise, x uniform in ``x_range``.

    Returns:
        (X, y): float32 tensors of shape (n_samples, 1) each.
    """
    _check_n(n_samples, "make_sine")
    rng = _generator(seed)
    x = rng.uniform(x_range[0], x_range[1], size=(n_samples, 1))
    y = np.sin(x) + noise * rng.standard_normal(x.shape)
    return as_tensor(x.astype(np.float32)), as_tensor(y.astype(np.float32))


# ---- data on this machine ---------------------------------------------------------------------
def load_digits(images: bool = False):
    """The 1,797 8x8 handwritten digits that ship with scikit-learn (no download).

    Pixels are scaled from 0..16 to [0, 1]: x = pixel / 16.

    Args:
        images: return X as images of shape (N, 1, 8, 8) (for CNNs) instead of (N, 64).

    Returns:
        (X, y): float32 (1797, 64) or (1797, 1, 8, 8), and int64 labels 0..9.

    Raises:
        ImportError: when scikit-learn is not installed, saying how to install it.
    """
    try:
        from sklearn.datasets import load_digits as _sklearn_digits
    except ImportError:
        raise ImportError("load_digits needs scikit-learn, which ships the digits: "
                          "pip install 'chainrule[datasets]' (or pip install scikit-learn)") \
            from None
    bunch = _sklearn_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return as_tensor(X), as_tensor(bunch.target.astype(np.int64))


# IDX type codes (http://yann.lecun.com/exdb/mnist/): data are big-endian.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Layout: two zero bytes, a type code byte, the number of dimensions d, d big-endian uint32
    sizes, then the data in row-major order.

    Args:
        path: the file (gzip compression is recognised by its magic bytes, not its name).

    Returns:
        A NumPy array with the file's shape and dtype (native byte order).

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for a file that is not IDX, or is truncated, naming the file.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"load_idx: {os.fspath(path)!r} is a damaged gzip file: {err}") \
                from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES:
        raise ValueError(f"load_idx: {os.fspath(path)!r} is not an IDX file (bad magic number "
                         f"{raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"load_idx: {os.fspath(path)!r} is truncated inside its header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"load_idx: {os.fspath(path)!r} holds {len(raw) - header} bytes of "
                         f"data, but its header announces shape {shape} ({expected} bytes): "
                         "the file is truncated or corrupted")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(root: str, split: str, kind: str) -> str | None:
    stem = f"{split}-{kind}"
    ndim = 3 if kind == "images" else 1
    for name in (f"{stem}-idx{ndim}-ubyte", f"{stem}.idx{ndim}-ubyte"):
        for suffix in ("", ".gz"):
            candidate = os.path.join(root, name + suffix)
            if os.path.isfile(candidate):
                return candidate
    return None


def load_mnist(root: str | os.PathLike, train: bool = True, flatten: bool = False):
    """MNIST (or Fashion-MNIST, same format) from IDX files in a local folder; nothing downloads.

    Expected files in ``root`` (each optionally ``.gz``): ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte`` (``train=True``) or ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte`` (``train=False``). Pixels are scaled to [0, 1]: x = pixel / 255.

    Args:
        root: the folder holding the files.
        train: the training split (60,000 images) or the test split (10,000).
        flatten: return X of shape (N, 784) instead of (N, 1, 28, 28).

    Returns:
        (X, y): float32 images and int64 labels.

    Raises:
        FileNotFoundError: naming the folder and the expected files when they are absent.
        ValueError: when the files are not IDX, truncated, or their counts disagree.
    """
    root = os.fspath(root)
    split = "train" if train else "t10k"
    paths = {kind: _find_idx(root, split, kind) for kind in ("images", "labels")}
    missing = [f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte[.gz]"
               for kind, p in paths.items() if p is None]
    if missing:
        raise FileNotFoundError(f"load_mnist: missing {' and '.join(missing)} in {root!r}; put "
                                "the MNIST IDX files there (chainrule never downloads)")
    images = load_idx(paths["images"])
    labels = load_idx(paths["labels"])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"load_mnist: images of shape {images.shape} and labels of shape "
                         f"{labels.shape} in {root!r} do not match")
    X = images.astype(np.float32) / np.float32(255.0)
    X = X.reshape(len(X), -1) if flatten else X[:, None]
    return as_tensor(X), as_tensor(labels.astype(np.int64))
