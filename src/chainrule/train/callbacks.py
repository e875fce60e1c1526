"""Callbacks: code that the training loop calls at fixed points, with Keras' hook names.

A callback overrides any of ``on_train_begin(logs)``, ``on_train_end(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)`` and the ``on_test_*``
/ ``on_predict_*`` counterparts. ``self.trainer`` is the running :class:`~chainrule.train.Trainer`
(``self.model`` its model); setting ``self.trainer.stop_training = True`` ends ``fit`` after the
current batch. Epoch indices are 0-based, as in Keras; printed messages count from 1.

``logs`` at the end of an epoch hold ``loss``, every metric, their ``val_`` counterparts when
validating, and ``lr``; at the end of a batch, the running means of the epoch so far.

The learning-rate callbacks, adapters of the schedulers, are in
:mod:`chainrule.train.lr_callbacks`. In data-parallel training (``mpiexec -n N``) a callback
whose ``rank_zero_only`` is True runs on rank 0 alone (those that write files: CSVLogger,
ModelCheckpoint); the others run on every rank and see the same epoch logs there.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import warnings

import numpy as np

from chainrule.creation import from_numpy
from chainrule.tensor import Tensor

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
          "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: every hook does nothing until overridden.

    Attributes:
        rank_zero_only: run on rank 0 only in data-parallel training (set it on callbacks that
            write files or print).
    """

    trainer = None
    rank_zero_only = False

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    @property
    def model(self):
        return self.trainer.model

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls a hook on every callback in order: ``callbacks.on_epoch_end(epoch, logs)``."""

    def __init__(self, callbacks, trainer):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_trainer(trainer)

    def __getattr__(self, hook):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)

        return call


class LambdaCallback(Callback):
    """A callback made of functions, one per hook (Keras' ``LambdaCallback``).

    Args:
        **hooks: ``on_epoch_end=fn(epoch, logs)``, ``on_train_begin=fn(logs)``, ... for any of
            the hooks; the others do nothing.

    Example:
        >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if name not in _HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; the hooks: "
                                 f"{', '.join(_HOOKS)}")
            if fn is not None:
                setattr(self, name, fn)


def _mode_op(mode: str, monitor: str, owner: str):
    """``better(a, b, delta)`` for mode min/max/auto (auto: max for accuracy-like names)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        name = monitor.removeprefix("val_")
        maximise = any(k in name for k in ("acc", "precision", "recall", "f1", "r2", "auc"))
        mode = "max" if maximise else "min"
    if mode == "min":
        return mode, lambda a, b, delta=0.0: a < b - delta
    return mode, lambda a, b, delta=0.0: a > b + delta


def _monitored(logs, monitor: str, owner: str):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{owner}: the monitored value {monitor!r} is not in the logs; available: "
                      f"{', '.join(sorted(logs or {}))}", stacklevel=3)
    return value


def _snapshot(model) -> dict:
    """A deep copy of a model's state dict (arrays copied)."""
    return {k: np.array(v.data if isinstance(v, Tensor) else v, copy=True)
            for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving.

    An epoch improves when ``value < best - min_delta`` (mode "min") or
    ``value > best + min_delta`` (mode "max"); after ``patience`` epochs without improvement the
    run stops. With ``restore_best_weights`` the model gets back the weights of its best epoch
    when the run is stopped (as Keras; a run that ends by reaching ``epochs`` keeps its last).

    Args:
        monitor: the logs key to watch ("val_loss", "loss", "val_accuracy", ...).
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: "min", "max", or "auto" (max for accuracy-like names, min otherwise).
        baseline: a value the monitored quantity must beat before patience restarts.
        restore_best_weights: restore the best epoch's weights when stopping.
        start_from_epoch: epochs to wait before watching (a warm-up).

    Attributes:
        stopped_epoch: the epoch at which training stopped (0 when it did not).
        best, best_epoch: the best value seen and its epoch.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode, self._better = _mode_op(mode, monitor, "EarlyStopping")

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _snapshot(self.model)
        self.wait += 1
        if self._better(current, self.best, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _snapshot(self.model)
            if self.baseline is None or self._better(current, self.baseline, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.load_state_dict({k: from_numpy(v) for k, v in self.best_weights.items()})


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of every epoch, or only when the monitored value improves.

    ``filepath`` may hold format fields filled from the epoch (counted from 1) and the logs:
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``. A full checkpoint (model, optimiser,
    scheduler, epoch, random states, history: see ``Trainer.state_dict``) resumes training
    exactly; ``save_weights_only`` saves the model's state dict alone.

    Args:
        filepath: where to save (format fields allowed).
        monitor: the logs key deciding what "best" means.
        mode: "min", "max" or "auto" (as :class:`EarlyStopping`).
        save_best_only: save only when ``monitor`` improves on the best so far.
        save_weights_only: save ``model.state_dict()`` instead of the whole training state.
        extra: more entries for a full checkpoint (e.g. ``{"config": ...}``, the model's
            constructor arguments).
        verbose: print a line on each save.
    """

    rank_zero_only = True  # one writer in data-parallel training: rank 0's state is everyone's

    def __init__(self, filepath, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = False, save_weights_only: bool = False,
                 extra: dict | None = None, verbose: int = 0):
        self.filepath, self.monitor = os.fspath(filepath), monitor
        self.save_best_only, self.save_weights_only, self.verbose = \
            save_best_only, save_weights_only, verbose
        self.extra = dict(extra or {})
        self.mode, self._better = _mode_op(mode, monitor, "ModelCheckpoint")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_saved: str | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None or not self._better(current, self.best):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_weights_only:
            from chainrule import io  # io sits below train in the layering; imported on use

            io.save(self.model, path)
        else:
            self.trainer.save_checkpoint(path, **self.extra)
        self.last_saved = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}", file=sys.stderr)


class CSVLogger(Callback):
    """Write the logs of every epoch as a row of a CSV file (header: epoch and sorted keys).

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: continue an existing file (when resuming) instead of overwriting it.
    """

    rank_zero_only = True

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys = None
        self._file = None

    def on_train_begin(self, logs=None):
        self.keys = None
        exists = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        if exists:
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self.keys = header[1:] if header else None
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(repr(float(logs[k])) if k in logs else "NA"
                                        for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite, saying where.

    Attributes:
        stopped_epoch, stopped_batch: 0-based indices of the bad batch (None when none was).
    """

    def __init__(self):
        self.stopped_epoch = self.stopped_batch = None

    def on_train_begin(self, logs=None):
        self.stopped_epoch = self.stopped_batch = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.stopped_epoch, self.stopped_batch = self.trainer.epoch, batch
            self.trainer.stop_training = True
            print(f"TerminateOnNaN: invalid loss {loss} at epoch {self.trainer.epoch + 1}, "
                  f"batch {batch + 1}; training stopped", file=sys.stderr)
