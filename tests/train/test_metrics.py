"""Metrics against scikit-learn, and streaming (batch by batch) equal to all-at-once."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.train import metrics as M

sk = pytest.importorskip("sklearn.metrics")


def _classification(n=200, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n, classes)).astype(np.float32)
    y = rng.integers(0, classes, n)
    y[: n // 2] = scores[: n // 2].argmax(1)  # make the classifier better than chance
    return scores, y


def test_accuracy_from_scores_labels_and_probabilities():
    scores, y = _classification()
    assert M.accuracy(scores, y) == pytest.approx(sk.accuracy_score(y, scores.argmax(1)))
    assert M.accuracy(cr.tensor(scores), cr.tensor(y)) == M.accuracy(scores, y)
    assert M.accuracy(np.array([0.2, 0.7, 0.9]), np.array([0, 1, 0])) == pytest.approx(2 / 3)
    assert M.accuracy(np.array([[0.2], [0.7]]), np.array([0, 1])) == 1.0
    assert M.accuracy(np.array([-1.0, 2.0]), np.array([0, 1]), threshold=0.0) == 1.0
    onehot = np.eye(4)[y]
    assert M.accuracy(scores, onehot) == M.accuracy(scores, y)


def test_top_k_accuracy():
    scores, y = _classification()
    for k in (1, 2, 3):
        expected = sk.top_k_accuracy_score(y, scores, k=k, labels=range(4))
        assert M.top_k_accuracy(scores, y, k=k) == pytest.approx(expected)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_precision_recall_f1_multiclass(average):
    scores, y = _classification()
    pred = scores.argmax(1)
    assert M.precision(scores, y, average) == pytest.approx(
        sk.precision_score(y, pred, average=average))
    assert M.recall(scores, y, average) == pytest.approx(sk.recall_score(y, pred, average=average))
    assert M.f1_score(scores, y, average) == pytest.approx(sk.f1_score(y, pred, average=average))


def test_binary_auto_average_is_the_positive_class():
    rng = np.random.default_rng(1)
    p = rng.random(100)
    y = (rng.random(100) < p).astype(int)
    pred = (p > 0.5).astype(int)
    assert M.precision(p, y) == pytest.approx(sk.precision_score(y, pred))
    assert M.recall(p, y) == pytest.approx(sk.recall_score(y, pred))
    assert M.f1_score(p, y) == pytest.approx(sk.f1_score(y, pred))


def test_confusion_matrix_rows_are_true_classes():
    assert M.confusion_matrix([0, 1, 1], [0, 1, 0]).tolist() == [[1, 1], [0, 1]]
    scores, y = _classification()
    assert np.array_equal(M.confusion_matrix(scores, y),
                          sk.confusion_matrix(y, scores.argmax(1), labels=range(4)))
    assert M.confusion_matrix([0, 0], [0, 0], num_classes=3).shape == (3, 3)
    with pytest.raises(ValueError, match="out of range"):
        M.confusion_matrix([0, 3], [0, 1], num_classes=3)


def test_regression_metrics():
    rng = np.random.default_rng(2)
    y = rng.standard_normal((50, 2))
    pred = y + 0.3 * rng.standard_normal((50, 2))
    assert M.mean_absolute_error(pred, y) == pytest.approx(sk.mean_absolute_error(y, pred))
    assert M.mean_squared_error(pred, y) == pytest.approx(sk.mean_squared_error(y, pred))
    assert M.root_mean_squared_error(pred, y) == pytest.approx(
        np.sqrt(sk.mean_squared_error(y, pred)))
    assert M.r2_score(pred, y) == pytest.approx(sk.r2_score(y, pred))
    # (N, 1) predictions against (N,) targets must not broadcast to N x N
    assert M.mean_squared_error(pred[:, :1], y[:, 0]) == pytest.approx(
        sk.mean_squared_error(y[:, 0], pred[:, 0]))
    assert M.r2_score(np.ones(3), np.ones(3)) == 1.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        M.mean_absolute_error(np.zeros(3), np.zeros(4))


STREAMING = ["accuracy", "top3_accuracy", "precision", "recall", "f1"]


@settings(max_examples=20, deadline=None)
@given(n=st.integers(5, 60), batch=st.integers(1, 17), seed=st.integers(0, 100))
def test_streaming_equals_all_at_once(n, batch, seed):
    scores, y = _classification(n, 4, seed)
    for name in STREAMING:
        metric = M.get_metric(name)
        for start in range(0, n, batch):
            metric.update(scores[start:start + batch], y[start:start + batch])
        whole = M.get_metric(name).update(scores, y).compute()
        assert metric.compute() == pytest.approx(whole), name
    target = scores[:, :2]
    pred = target + 0.1 * scores[:, 2:]
    for name in ["mae", "mse", "rmse", "r2"]:
        metric = M.get_metric(name)
        for start in range(0, n, batch):
            metric.update(pred[start:start + batch], target[start:start + batch])
        whole = M.get_metric(name).update(pred, target).compute()
        assert metric.compute() == pytest.approx(whole, rel=1e-9, abs=1e-12), name


def test_get_metric_names_functions_and_errors():
    assert M.get_metric("acc").name == "acc"
    custom = M.get_metric(lambda p, t: 0.5)
    custom.update(np.zeros(4), np.zeros(4)).update(np.zeros(2), np.zeros(2))
    assert custom.compute() == 0.5
    with pytest.raises(ValueError, match="unknown metric 'acuracy'.*accuracy"):
        M.get_metric("acuracy")
    with pytest.raises(ValueError, match="average"):
        M.precision([0], [0], average="bogus")
