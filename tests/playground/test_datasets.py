"""The network tab's 2-D datasets: shapes, classes, the split, the noise and the seed."""

import numpy as np
import pytest

from chainrule.playground.config import DATASETS
from chainrule.playground.datasets import EXTENT, dataset_classes, make_dataset


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_classes_and_range(name):
    split = make_dataset(name, n_samples=300, noise=0.2, train_ratio=0.6, seed=1)
    assert split.x_train.shape == (180, 2) and split.x_test.shape == (120, 2)
    assert split.y_train.shape == (180,) and split.y_test.shape == (120,)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    labels = np.concatenate([split.y_train, split.y_test])
    assert split.classes == dataset_classes(name) == len(np.unique(labels))
    points = np.concatenate([split.x_train, split.x_test])
    assert np.abs(points).max() <= EXTENT and np.abs(points).max() > 2.0  # fills the plane


def test_the_seed_fixes_the_points_and_noise_moves_them():
    a = make_dataset("moons", 100, 0.1, 0.5, seed=3)
    b = make_dataset("moons", 100, 0.1, 0.5, seed=3)
    c = make_dataset("moons", 100, 0.1, 0.5, seed=4)
    assert np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_train, c.x_train)
    clean = make_dataset("circles", 200, 0.0, 0.5, seed=0)
    radii = np.linalg.norm(np.concatenate([clean.x_train, clean.x_test]), axis=1)
    assert np.allclose(np.unique(radii.round(3)), [2.5, 5.0])  # two exact circles
    noisy = make_dataset("circles", 200, 1.0, 0.5, seed=0)
    assert np.linalg.norm(np.concatenate([noisy.x_train, noisy.x_test]), axis=1).std() > \
        radii.std()


def test_xor_labels_are_the_xor_of_the_signs_with_a_gap_at_the_axes():
    split = make_dataset("xor", 400, 0.0, 0.5, seed=0)
    for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test)):
        assert np.array_equal(y, (x[:, 0] > 0) ^ (x[:, 1] > 0))
        assert np.abs(x).min() >= 0.49


def test_an_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset"):
        make_dataset("mnist")
