"""Gradient flow: how large the gradients are, layer by layer, after a backward pass.

Vanishing gradients show as norms that shrink towards the input layers (deep sigmoid/tanh
stacks), exploding ones as norms that grow (an RNN over long sequences). ``gradient_flow(model)``
reads the ``.grad`` left by ``loss.backward()``; ``GradientFlowCallback`` records it during
``Trainer.fit`` (or a manual loop) for :func:`chainrule.viz.plot_gradient_flow`.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from chainrule import backend
from chainrule.analysis._common import named_parameters_of
from chainrule.train import Callback


class GradientFlow(NamedTuple):
    """Per-parameter statistics after a backward pass (NaN where a parameter has no gradient).

    Attributes:
        names: dotted parameter names, in ``named_parameters()`` order.
        grad_norm: ||dL/dW||_2 per parameter.
        weight_norm: ||W||_2 per parameter.
        grad_abs_mean: mean |dL/dW|.
        grad_abs_max: max |dL/dW|.
    """

    names: list
    grad_norm: np.ndarray
    weight_norm: np.ndarray
    grad_abs_mean: np.ndarray
    grad_abs_max: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """||dL/dW|| / ||W||: the relative size of a gradient step (with lr = 1)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.grad_norm / self.weight_norm

    def as_dict(self) -> dict:
        """name -> {"grad_norm", "weight_norm", "grad_abs_mean", "grad_abs_max"}."""
        return {n: {"grad_norm": float(g), "weight_norm": float(w), "grad_abs_mean": float(m),
                    "grad_abs_max": float(x)}
                for n, g, w, m, x in zip(self.names, self.grad_norm, self.weight_norm,
                                         self.grad_abs_mean, self.grad_abs_max)}


def gradient_flow(model, weights_only=False) -> GradientFlow:
    """Gradient and weight norms of every parameter, read after ``loss.backward()``.

    Args:
        model: a module (names from ``named_parameters()``) or a sequence of Tensors.
        weights_only: keep only parameters with two or more dimensions (skip biases and norm
            layers' scales, as gradient-flow plots usually do).

    Returns:
        A :class:`GradientFlow`.

    Example:
        >>> loss_fn(model(X), y).backward()
        >>> flow = gradient_flow(model)
        >>> dict(zip(flow.names, flow.grad_norm))
    """
    names, stats = [], []
    for name, p in named_parameters_of(model):
        if weights_only and p.ndim < 2:
            continue
        w = np.asarray(backend.to_numpy(p.data), dtype=np.float64)
        if p.grad is None:
            g_stats = (np.nan, np.nan, np.nan)
        else:
            g = np.abs(np.asarray(backend.to_numpy(p.grad.data), dtype=np.float64))
            g_stats = (float(np.sqrt((g * g).sum())), float(g.mean()) if g.size else 0.0,
                       float(g.max()) if g.size else 0.0)
        names.append(name)
        stats.append((g_stats[0], float(np.linalg.norm(w.ravel())), g_stats[1], g_stats[2]))
    arr = np.array(stats, dtype=np.float64).reshape(-1, 4)
    return GradientFlow(names, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


class GradientFlowCallback(Callback):
    """Record :func:`gradient_flow` during training, per batch and as a mean per epoch.

    Works with ``Trainer.fit(callbacks=[...])`` (the model comes from the trainer) and in a
    manual loop: construct it with ``model=`` and call ``on_train_batch_end(batch)`` after
    ``loss.backward()`` (or ``optimizer.step()``), ``on_epoch_end(epoch)`` after each epoch.

    Args:
        model: the model to watch (default: the trainer's).
        every: record every ``every``-th batch.
        weights_only: as in :func:`gradient_flow`.

    Attributes:
        history: the per-batch :class:`GradientFlow` records.
        epochs: one :class:`GradientFlow` per epoch, the mean of that epoch's records.

    Example:
        >>> flow = GradientFlowCallback(every=10)
        >>> Trainer(model, loss, opt, callbacks=[flow]).fit(train, epochs=5)
        >>> cr.viz.plot_gradient_flow(flow, "flow.png")
    """

    def __init__(self, model=None, every: int = 1, weights_only: bool = False):
        if every < 1:
            raise ValueError(f"GradientFlowCallback: every must be >= 1, got {every}")
        self._model = model
        self.every = every
        self.weights_only = weights_only
        self.history: list = []
        self.epochs: list = []
        self._batches = 0
        self._epoch_start = 0

    @property
    def model(self):
        if self._model is not None:
            return self._model
        if self.trainer is None:
            raise RuntimeError("GradientFlowCallback: no model; pass model= or use it in "
                               "Trainer.fit(callbacks=[...])")
        return self.trainer.model

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = len(self.history)

    def on_train_batch_end(self, batch, logs=None):
        if self._batches % self.every == 0:
            self.history.append(gradient_flow(self.model, self.weights_only))
        self._batches += 1

    def on_epoch_end(self, epoch, logs=None):
        records = self.history[self._epoch_start:]
        self._epoch_start = len(self.history)
        if not records:
            return
        with warnings.catch_warnings():  # a parameter that never had a gradient stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            fields = [np.nanmean(np.stack([getattr(r, f) for r in records]), axis=0)
                      for f in GradientFlow._fields[1:]]
        self.epochs.append(GradientFlow(records[0].names, *fields))
