"""Generated datasets, the digits that ship with scikit-learn, and IDX / MNIST files."""

import gzip
import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import datasets

GENERATORS = [
    (datasets.make_xor, {}),
    (datasets.make_linearly_separable, {}),
    (datasets.make_moons, {"noise": 0.1}),
    (datasets.make_circles, {"noise": 0.05}),
    (datasets.make_spirals, {}),
    (datasets.make_blobs, {}),
]


@pytest.mark.parametrize("make, kwargs", GENERATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_generators_are_seeded_and_typed(make, kwargs):
    X, y = make(n_samples=120, seed=4, **kwargs)
    X2, y2 = make(n_samples=120, seed=4, **kwargs)
    X3, _ = make(n_samples=120, seed=5, **kwargs)
    assert X.shape[0] == y.shape[0] == 120 and X.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(X.numpy(), X2.numpy()) and np.array_equal(y.numpy(), y2.numpy())
    assert not np.array_equal(X.numpy(), X3.numpy())
    assert len(np.unique(y.numpy())) >= 2


def test_generators_without_seed_follow_manual_seed():
    cr.manual_seed(2)
    a, _ = datasets.make_moons(50, noise=0.1)
    cr.manual_seed(2)
    b, _ = datasets.make_moons(50, noise=0.1)
    assert np.array_equal(a.numpy(), b.numpy())


def test_xor_labels_are_the_xor_of_signs():
    X, y = datasets.make_xor(200, seed=0)
    X = X.numpy()
    assert np.array_equal(y.numpy(), ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64))


def test_linearly_separable_has_a_separating_hyperplane_with_margin():
    X, y = datasets.make_linearly_separable(300, n_features=3, margin=0.1, seed=1)
    X, y = X.numpy().astype(np.float64), y.numpy()
    # least squares on +-1 targets finds a separating direction for well-separated data
    A = np.hstack([X, np.ones((len(X), 1))])
    w = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    assert np.mean((A @ w > 0) == (y == 1)) > 0.97


def test_moons_match_scikit_learn_without_noise():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_moons(100, noise=0.0, seed=0)
    Xs, ys = sklearn_datasets.make_moons(100, noise=0.0, shuffle=False)
    ours = sorted(map(tuple, np.round(np.c_[X.numpy(), y.numpy()], 5)))
    theirs = sorted(map(tuple, np.round(np.c_[Xs, ys], 5)))
    assert ours == theirs


def test_circles_radii_and_blob_centres():
    X, y = datasets.make_circles(100, noise=0.0, factor=0.3, seed=0)
    r = np.linalg.norm(X.numpy(), axis=1)
    assert np.allclose(r[y.numpy() == 0], 1.0, atol=1e-6)
    assert np.allclose(r[y.numpy() == 1], 0.3, atol=1e-6)
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, y = datasets.make_blobs(400, centers=centres, cluster_std=0.5, seed=0)
    for k in range(2):
        assert np.allclose(X.numpy()[y.numpy() == k].mean(0), centres[k], atol=0.15)


def test_spirals_classes_balanced():
    _, y = datasets.make_spirals(301, n_classes=3, seed=0)
    assert np.bincount(y.numpy()).tolist() == [101, 100, 100]


def test_sine_regression_targets():
    X, y = datasets.make_sine(500, noise=0.0, seed=0)
    assert X.shape == y.shape == (500, 1) and y.dtype == np.float32
    assert np.allclose(y.numpy(), np.sin(X.numpy()), atol=1e-6)
    assert X.numpy().min() >= -np.pi and X.numpy().max() <= np.pi


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_bad_sample_counts(bad):
    with pytest.raises(ValueError, match="n_samples"):
        datasets.make_moons(bad)


def test_load_digits():
    pytest.importorskip("sklearn")
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.numpy().min() == 0.0 and X.numpy().max() == 1.0
    images, _ = datasets.load_digits(images=True)
    assert images.shape == (1797, 1, 8, 8)
    assert cr.datasets.load_digits is datasets.load_digits


def test_load_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install"):
        datasets.load_digits()


# ---- IDX / MNIST ------------------------------------------------------------------------------
def write_idx(path, array, compress=False):
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
             np.float64: 0x0E}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if compress else data)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, array, compress)
    loaded = datasets.load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and np.array_equal(loaded, array)


def test_load_idx_rejects_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "a.idx"
    write_idx(path, np.arange(100, dtype=np.uint8).reshape(10, 10))
    raw = path.read_bytes()
    path.write_bytes(raw[:-7])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        datasets.load_idx(path)
    path.write_bytes(raw[:6])
    with pytest.raises(ValueError, match="header"):
        datasets.load_idx(path)
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.load_idx(path)
    path.write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(ValueError, match="gzip"):
        datasets.load_idx(path)


def _write_mnist(root, split, n, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(os.path.join(root, f"{split}-images-idx3-ubyte{suffix}"), images, compress)
    write_idx(os.path.join(root, f"{split}-labels-idx1-ubyte{suffix}"), labels, compress)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_a_local_folder(tmp_path, compress):
    images, labels = _write_mnist(tmp_path, "train", 12, compress)
    _write_mnist(tmp_path, "t10k", 5, compress)
    X, y = datasets.load_mnist(tmp_path)
    assert X.shape == (12, 1, 28, 28) and X.dtype == np.float32
    assert np.allclose(X.numpy()[:, 0] * 255, images) and y.tolist() == labels.tolist()
    Xt, yt = datasets.load_mnist(tmp_path, train=False, flatten=True)
    assert Xt.shape == (5, 784) and yt.dtype == np.int64


def test_load_mnist_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_mnist(tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert str(tmp_path) in message
    _write_mnist(tmp_path, "train", 3, False)
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="train-labels") as info:
        datasets.load_mnist(tmp_path)
    assert "train-images" not in str(info.value)


def test_load_mnist_count_mismatch(tmp_path):
    _write_mnist(tmp_path, "train", 4, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        datasets.load_mnist(tmp_path)
