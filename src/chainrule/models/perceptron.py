"""Rosenblatt's perceptron, trained by the classic perceptron rule (not by gradient descent)."""

from __future__ import annotations

import warnings

import numpy as np

from chainrule import backend
from chainrule.creation import tensor
from chainrule.tensor import Tensor

_TARGETS = {"sign": (-1, 1), "step": (0, 1)}


class ConvergenceWarning(UserWarning):
    """Training stopped at its epoch limit without classifying every sample correctly."""


def _as_numpy(data, name: str) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    array = backend.to_numpy(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Perceptron: {name} must be numeric, got dtype {array.dtype}")
    return array


class Perceptron:
    """A single threshold neuron and its learning rule.

    Output and rule, with net input ``n = w . x + b``:

        sign:  o = 1 if n >= 0 else -1    (targets t in {-1, 1})
        step:  o = 1 if n >= 0 else 0     (targets t in {0, 1})
        rule:  w <- w + eta x (t - o),   b <- b + eta (t - o)

    The rule is applied sample by sample (in the data's order, or shuffled each epoch from a
    seed); a correct sample changes nothing (``t - o = 0``). Training stops after the first
    epoch without an error: by the perceptron convergence theorem this happens in finitely many
    epochs when the data are linearly separable. On data that are not (XOR) it stops at the
    epoch limit, warns with a :class:`ConvergenceWarning` and sets ``converged_ = False``.
    Weights start at zero and are float64 NumPy arrays.

    Args:
        activation: "sign" (targets -1/1) or "step" (targets 0/1).
        lr: the learning rate eta (default 1).
        shuffle: visit the samples in a new random order each epoch.
        seed: seed of the shuffling; None draws from chainrule's global generator
            (see :func:`chainrule.manual_seed`).

    Attributes:
        weight_: w, shape (n_features,).
        bias_: b.
        converged_: True when the last epoch had no error.
        epochs_: the number of epochs run.
        errors_: the number of misclassified samples (updates) in each epoch.

    Example:
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        >>> p = Perceptron(activation="step").fit(X, np.array([0, 0, 0, 1]))   # AND
        >>> p.predict(X), p.converged_, p.epochs_          # array([0, 0, 0, 1]), True, 6
    """

    def __init__(self, activation: str = "sign", lr: float = 1.0, shuffle: bool = False,
                 seed: int | None = None):
        if activation not in _TARGETS:
            raise ValueError(f"Perceptron: activation must be 'sign' or 'step', got "
                             f"{activation!r}")
        self.activation = activation
        self.lr = self._check_lr(lr)
        self.shuffle = bool(shuffle)
        self.seed = seed

    @staticmethod
    def _check_lr(lr) -> float:
        if not float(lr) > 0:
            raise ValueError(f"Perceptron: lr must be positive, got {lr!r}")
        return float(lr)

    def fit(self, X, y, epochs: int = 100, lr: float | None = None) -> Perceptron:
        """Train with the perceptron rule until an epoch has no error, or for ``epochs`` epochs.

        Args:
            X: inputs, shape (n_samples, n_features); a Tensor or a NumPy array.
            y: targets, shape (n_samples,), in {-1, 1} (sign) or {0, 1} (step).
            epochs: the epoch limit.
            lr: the learning rate eta for this fit (default: the one given at construction).

        Returns:
            self, with ``weight_``, ``bias_``, ``converged_``, ``epochs_`` and ``errors_`` set.
        """
        X, y = self._check_data(X, y)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"Perceptron.fit: epochs must be a positive integer, got {epochs!r}")
        eta = self.lr if lr is None else self._check_lr(lr)
        low = _TARGETS[self.activation][0]
        rng = None
        if self.shuffle:
            rng = np.random.default_rng(self.seed) if self.seed is not None \
                else backend.default_generator()
        w = np.zeros(X.shape[1])
        b = 0.0
        self.errors_ = []
        self.converged_ = False
        for _ in range(int(epochs)):
            order = rng.permutation(len(X)) if rng is not None else range(len(X))
            errors = 0
            for i in order:
                x, t = X[i], y[i]
                o = 1.0 if x @ w + b >= 0 else low
                if o != t:
                    w += eta * (t - o) * x
                    b += eta * (t - o)
                    errors += 1
            self.errors_.append(errors)
            if errors == 0:
                self.converged_ = True
                break
        self.weight_, self.bias_, self.epochs_ = w, b, len(self.errors_)
        if not self.converged_:
            warnings.warn(f"Perceptron did not converge in {epochs} epochs ({self.errors_[-1]} "
                          "errors in the last one); the data may not be linearly separable",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _check_data(self, X, y):
        X = _as_numpy(X, "X").astype(np.float64)
        y = _as_numpy(y, "y")
        if X.ndim != 2:
            raise ValueError(f"Perceptron: X must have shape (n_samples, n_features), got shape "
                             f"{X.shape}")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (X.shape[0],):
            raise ValueError(f"Perceptron: y must have shape ({X.shape[0]},) to match X of shape "
                             f"{X.shape}, got shape {y.shape}")
        allowed = _TARGETS[self.activation]
        bad = np.setdiff1d(np.unique(y), allowed)
        if bad.size:
            raise ValueError(f"Perceptron({self.activation!r}): targets must be in {allowed}, "
                             f"got {bad.tolist()}")
        return X, y.astype(np.float64)

    def _check_fitted(self, X) -> np.ndarray:
        if not hasattr(self, "weight_"):
            raise RuntimeError("Perceptron: call fit() before predict()")
        X = _as_numpy(X, "X").astype(np.float64)
        if X.ndim != 2 or X.shape[1] != self.weight_.shape[0]:
            raise ValueError(f"Perceptron: expected X of shape (n, {self.weight_.shape[0]}), "
                             f"got shape {X.shape}")
        return X

    def decision_function(self, X) -> np.ndarray:
        """The net input ``w . x + b`` of each sample, shape (n_samples,)."""
        return self._check_fitted(X) @ self.weight_ + self.bias_

    def predict(self, X):
        """The output ``o`` of each sample (int64): a Tensor for a Tensor input, else NumPy."""
        low = _TARGETS[self.activation][0]
        labels = np.where(self.decision_function(X) >= 0, 1, low).astype(np.int64)
        if isinstance(X, Tensor):
            return tensor(labels)
        return labels

    def score(self, X, y) -> float:
        """The fraction of samples classified correctly."""
        predicted = np.asarray(self.predict(_as_numpy(X, "X")))
        return float(np.mean(predicted == _as_numpy(y, "y").reshape(predicted.shape)))

    def __repr__(self) -> str:
        return (f"Perceptron(activation={self.activation!r}, lr={self.lr}, "
                f"shuffle={self.shuffle}, seed={self.seed})")
