"""Metrics: functions on whole arrays, and streaming versions the Trainer updates batch by batch.

Each metric is a :class:`Metric` with ``reset()``, ``update(y_pred, y_true)`` and ``compute()``;
the function of the same name (``accuracy``, ``precision``, ``r2_score``, ...) is one update
followed by compute, so the two can never disagree. Streaming keeps exact sums (counts, a
confusion matrix, sums of squares), so an epoch's value equals the value on all its samples at once.

Predictions may be class scores (logits or probabilities, shape (N, C)), probabilities of the
positive class (shape (N,) or (N, 1), cut at ``threshold``), or labels (integers). Targets are
labels (N,), binary targets, or one-hot / probability rows (N, C).

Names usable in ``Trainer(metrics=[...])``: ``accuracy`` (``acc``), ``top5_accuracy``,
``precision``, ``recall``, ``f1``, ``mae``, ``mse``, ``rmse``, ``r2``.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.tensor import Tensor


def _array(x) -> np.ndarray:
    return backend.to_numpy(x.data) if isinstance(x, Tensor) else np.asarray(x)


def _aligned(y_pred, y_true, name):
    """Arrays of equal shape for regression metrics ((N, 1) vs (N,) would broadcast to N x N)."""
    y_pred, y_true = _array(y_pred), _array(y_true)
    if y_pred.shape != y_true.shape:
        if y_pred.size != y_true.size:
            raise ValueError(f"{name}: predictions of shape {y_pred.shape} and targets of shape "
                             f"{y_true.shape} do not match")
        y_true = y_true.reshape(y_pred.shape)
    return y_pred.astype(np.float64), y_true.astype(np.float64)


def class_labels(y_pred, y_true, threshold: float = 0.5):
    """Predicted and true class labels as int64 arrays of shape (N,).

    Scores with one more dimension than the targets give argmax over the class axis (1);
    float predictions with one value per sample ((N,) or (N, 1)) give ``y_pred > threshold``;
    one-hot or probability targets of shape (N, C) give their argmax.
    """
    y_pred, y_true = _array(y_pred), _array(y_true)
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[1] > 1:
        pred = y_pred.argmax(axis=1)
    elif y_pred.size == y_true.size and (y_pred.ndim <= 1 or y_pred.shape[1] == 1):
        y_true = y_true.reshape(y_pred.shape)
        pred = (y_pred > threshold) if y_pred.dtype.kind == "f" else y_pred
    elif y_pred.shape == y_true.shape:
        pred, y_true = y_pred.argmax(axis=1), y_true.argmax(axis=1)
    else:
        raise ValueError(f"class_labels: predictions of shape {y_pred.shape} do not fit targets "
                         f"of shape {y_true.shape}")
    return pred.reshape(-1).astype(np.int64), y_true.reshape(-1).astype(np.int64)


# ---- streaming metrics ------------------------------------------------------------------------
class Metric:
    """A value accumulated over batches: ``reset()``, ``update(y_pred, y_true)``, ``compute()``."""

    name = "metric"
    higher_is_better = True

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, y_pred, y_true) -> Metric:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class MeanMetric(Metric):
    """The mean over samples of a per-sample value ``fn(y_pred, y_true) -> array (N,)``."""

    def __init__(self, fn=None, name: str | None = None):
        if fn is not None:
            self.per_sample = fn
        self.name = name or getattr(fn, "__name__", type(self).__name__.lower())
        super().__init__()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, y_pred, y_true) -> MeanMetric:
        values = np.asarray(self.per_sample(y_pred, y_true), dtype=np.float64).reshape(-1)
        self.total += float(values.sum())
        self.count += values.size
        return self

    def compute(self) -> float:
        return self.total / self.count if self.count else float("nan")


class Accuracy(MeanMetric):
    """Share of correct predictions: (1/N) sum_i [pred_i == y_i]."""

    def __init__(self, threshold: float = 0.5, name: str = "accuracy"):
        self.threshold = threshold
        super().__init__(name=name)

    def per_sample(self, y_pred, y_true):
        pred, true = class_labels(y_pred, y_true, self.threshold)
        return pred == true


class TopKAccuracy(MeanMetric):
    """Share of samples whose true class is among the k highest scores."""

    def __init__(self, k: int = 5, name: str | None = None):
        self.k = k
        super().__init__(name=name or f"top{k}_accuracy")

    def per_sample(self, y_pred, y_true):
        scores, true = _array(y_pred), _array(y_true).reshape(-1)
        if scores.ndim != 2 or scores.shape[0] != true.size:
            raise ValueError(f"top_k_accuracy: scores must have shape (N, C) for targets of "
                             f"shape (N,), got {scores.shape} and {_array(y_true).shape}")
        k = min(self.k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        return (top == true[:, None]).any(axis=1)


class MeanAbsoluteError(MeanMetric):
    """MAE = (1/n) sum |y_pred - y|."""

    higher_is_better = False

    def __init__(self, name: str = "mae"):
        super().__init__(name=name)

    def per_sample(self, y_pred, y_true):
        y_pred, y_true = _aligned(y_pred, y_true, "mean_absolute_error")
        return np.abs(y_pred - y_true).reshape(len(y_pred), -1).mean(axis=1)


class MeanSquaredError(MeanMetric):
    """MSE = (1/n) sum (y_pred - y)^2."""

    higher_is_better = False

    def __init__(self, name: str = "mse"):
        super().__init__(name=name)

    def per_sample(self, y_pred, y_true):
        y_pred, y_true = _aligned(y_pred, y_true, "mean_squared_error")
        return ((y_pred - y_true) ** 2).reshape(len(y_pred), -1).mean(axis=1)


class RootMeanSquaredError(MeanSquaredError):
    """RMSE = sqrt((1/n) sum (y_pred - y)^2), the root of the epoch's MSE (not a mean of roots)."""

    def __init__(self, name: str = "rmse"):
        super().__init__(name=name)

    def compute(self) -> float:
        return float(np.sqrt(super().compute()))


class R2Score(Metric):
    """Coefficient of determination R^2 = 1 - SS_res / SS_tot, averaged over output columns.

    SS_res = sum (y - y_pred)^2 and SS_tot = sum (y - mean(y))^2; a constant target gives 1 when
    predicted exactly and 0 otherwise (as scikit-learn).
    """

    def __init__(self, name: str = "r2"):
        self.name = name
        super().__init__()

    def reset(self) -> None:
        self.n, self.sum_y, self.sum_y2, self.ss_res = 0, 0.0, 0.0, 0.0

    def update(self, y_pred, y_true) -> R2Score:
        y_pred, y_true = _aligned(y_pred, y_true, "r2_score")
        y_pred, y_true = y_pred.reshape(len(y_pred), -1), y_true.reshape(len(y_true), -1)
        self.n += len(y_true)
        self.sum_y = self.sum_y + y_true.sum(axis=0)
        self.sum_y2 = self.sum_y2 + (y_true ** 2).sum(axis=0)
        self.ss_res = self.ss_res + ((y_true - y_pred) ** 2).sum(axis=0)
        return self

    def compute(self) -> float:
        if self.n == 0:
            return float("nan")
        ss_tot = np.maximum(self.sum_y2 - self.sum_y ** 2 / self.n, 0.0)
        ss_res = np.asarray(self.ss_res, dtype=np.float64)
        safe = np.where(ss_tot > 0, ss_tot, 1.0)
        scores = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
        return float(np.mean(scores))


class ConfusionMatrix(Metric):
    """Counts C[i, j] of samples of true class i predicted as class j (grows as classes appear)."""

    def __init__(self, num_classes: int | None = None, threshold: float = 0.5,
                 name: str = "confusion_matrix"):
        self.num_classes, self.threshold, self.name = num_classes, threshold, name
        super().__init__()

    def reset(self) -> None:
        self.matrix = np.zeros((self.num_classes or 0,) * 2, dtype=np.int64)

    def update(self, y_pred, y_true) -> ConfusionMatrix:
        scores = _array(y_pred)
        pred, true = class_labels(scores, y_true, self.threshold)
        if min(pred.min(initial=0), true.min(initial=0)) < 0:
            raise ValueError("confusion_matrix: class labels must be non-negative")
        size = max(len(self.matrix), pred.max(initial=-1) + 1, true.max(initial=-1) + 1,
                   scores.shape[1] if scores.ndim == _array(y_true).ndim + 1 else 0)
        if self.num_classes is not None and size > self.num_classes:
            raise ValueError(f"confusion_matrix: label {size - 1} out of range for "
                             f"num_classes={self.num_classes}")
        if size > len(self.matrix):
            grown = np.zeros((size, size), dtype=np.int64)
            grown[:len(self.matrix), :len(self.matrix)] = self.matrix
            self.matrix = grown
        np.add.at(self.matrix, (true, pred), 1)
        return self

    def compute(self) -> np.ndarray:
        return self.matrix.copy()


class _FromConfusion(ConfusionMatrix):
    """Precision, recall or F1 from the accumulated confusion matrix."""

    kind = ""

    def __init__(self, average: str = "auto", num_classes: int | None = None,
                 threshold: float = 0.5, name: str | None = None):
        if average not in ("auto", "binary", "macro", "micro", "weighted"):
            raise ValueError(f"{self.kind}: average must be one of auto, binary, macro, micro, "
                             f"weighted; got {average!r}")
        self.average = average
        super().__init__(num_classes, threshold, name or self.kind)

    def compute(self) -> float:
        m = self.matrix
        if m.size == 0:
            return float("nan")
        true_pos = np.diag(m).astype(np.float64)
        predicted, actual = m.sum(axis=0), m.sum(axis=1)
        average = self.average
        if average == "auto":
            average = "binary" if len(m) <= 2 else "macro"
        if average == "micro":
            true_pos, predicted, actual = true_pos.sum(), predicted.sum(), actual.sum()
        precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos),
                              where=predicted > 0)
        recall = np.divide(true_pos, actual, out=np.zeros_like(true_pos), where=actual > 0)
        if self.kind == "precision":
            score = precision
        elif self.kind == "recall":
            score = recall
        else:
            both = precision + recall
            score = np.divide(2 * precision * recall, both, out=np.zeros_like(both),
                              where=both > 0)
        if average == "micro":
            return float(score)
        if average == "binary":
            return float(score[1]) if len(m) > 1 else 0.0
        present = (predicted + actual) > 0
        if average == "weighted":
            return float(np.sum(score * actual) / max(actual.sum(), 1))
        return float(score[present].mean())


class Precision(_FromConfusion):
    """Precision TP / (TP + FP) per class; ``average`` combines classes ("auto": the positive
    class 1 for two classes, the unweighted mean of classes present otherwise)."""

    kind = "precision"


class Recall(_FromConfusion):
    """Recall TP / (TP + FN) per class; ``average`` as for :class:`Precision`."""

    kind = "recall"


class F1Score(_FromConfusion):
    """F1 = 2 P R / (P + R), the harmonic mean of precision and recall, per class, then averaged."""

    kind = "f1"


# ---- functions on whole arrays ----------------------------------------------------------------
def accuracy(y_pred, y_true, threshold: float = 0.5) -> float:
    """Share of correct predictions, (1/N) sum_i [argmax y_pred_i == y_i] (see module doc)."""
    return Accuracy(threshold).update(y_pred, y_true).compute()


def top_k_accuracy(y_pred, y_true, k: int = 5) -> float:
    """Share of samples whose true class is among the ``k`` highest scores of (N, C) scores."""
    return TopKAccuracy(k).update(y_pred, y_true).compute()


def confusion_matrix(y_pred, y_true, num_classes: int | None = None,
                     threshold: float = 0.5) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as j (rows true, as scikit-learn).

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0])       # array([[1, 1], [0, 1]])
    """
    return ConfusionMatrix(num_classes, threshold).update(y_pred, y_true).compute()


def precision(y_pred, y_true, average: str = "auto", num_classes: int | None = None) -> float:
    """Precision TP / (TP + FP); see :class:`Precision` for ``average``."""
    return Precision(average, num_classes).update(y_pred, y_true).compute()


def recall(y_pred, y_true, average: str = "auto", num_classes: int | None = None) -> float:
    """Recall TP / (TP + FN); see :class:`Precision` for ``average``."""
    return Recall(average, num_classes).update(y_pred, y_true).compute()


def f1_score(y_pred, y_true, average: str = "auto", num_classes: int | None = None) -> float:
    """F1 = 2 P R / (P + R); see :class:`Precision` for ``average``."""
    return F1Score(average, num_classes).update(y_pred, y_true).compute()


def mean_absolute_error(y_pred, y_true) -> float:
    """MAE = (1/n) sum |y_pred - y|."""
    return MeanAbsoluteError().update(y_pred, y_true).compute()


def mean_squared_error(y_pred, y_true) -> float:
    """MSE = (1/n) sum (y_pred - y)^2."""
    return MeanSquaredError().update(y_pred, y_true).compute()


def root_mean_squared_error(y_pred, y_true) -> float:
    """RMSE = sqrt(MSE)."""
    return RootMeanSquaredError().update(y_pred, y_true).compute()


def r2_score(y_pred, y_true) -> float:
    """R^2 = 1 - sum (y - y_pred)^2 / sum (y - mean y)^2 (mean over output columns)."""
    return R2Score().update(y_pred, y_true).compute()


_NAMED = {
    "accuracy": Accuracy, "acc": Accuracy,
    "top5_accuracy": lambda name: TopKAccuracy(5, name=name),
    "top3_accuracy": lambda name: TopKAccuracy(3, name=name),
    "precision": Precision, "recall": Recall, "f1": F1Score,
    "mae": MeanAbsoluteError, "mse": MeanSquaredError, "rmse": RootMeanSquaredError,
    "r2": R2Score,
}


def get_metric(metric) -> Metric:
    """A fresh :class:`Metric` from a name, a Metric, or a function ``fn(y_pred, y_true)``.

    A function is averaged over batches, weighted by batch size, under its ``__name__``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        if metric not in _NAMED:
            raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(_NAMED)} or "
                             "pass a function fn(y_pred, y_true)")
        return _NAMED[metric](name=metric)
    if callable(metric):
        name = getattr(metric, "__name__", "metric")
        return MeanMetric(lambda p, t: np.full(len(_array(t)), float(metric(p, t))), name)
    raise TypeError(f"a metric must be a name, a Metric or a function, got "
                    f"{type(metric).__name__}")
