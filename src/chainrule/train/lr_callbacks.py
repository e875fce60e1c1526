"""Learning-rate callbacks: Keras' names, adapters of the schedulers of ``chainrule.optim``.

The schedulers of :mod:`chainrule.optim.lr_scheduler` are the one mechanism that sets learning
rates; a scheduler given as ``Trainer(scheduler=...)`` is stepped once per epoch and saved in
checkpoints. These callbacks only adapt them to Keras' interface:

- ``LearningRateScheduler(schedule)`` wraps Keras' ``schedule(epoch, lr) -> lr`` in a scheduler
  of every optimiser of the trainer, stepped when an epoch begins;
- ``ReduceLROnPlateau`` steps ``chainrule.optim.lr_scheduler.ReduceLROnPlateau`` with the
  monitored value when an epoch ends, counting as Keras does.
"""

from __future__ import annotations

import math
import sys

from chainrule.optim import lr_scheduler
from chainrule.train.callbacks import Callback, _mode_op, _monitored


def _optimizers(trainer) -> list:
    """The trainer's optimisers: one, or several (a GANTrainer's generator and discriminator)."""
    return [opt for opt in trainer.named_optimizers().values() if opt is not None]


class _ScheduleLR(lr_scheduler.LRScheduler):
    """Keras' schedule as a scheduler: lr_t = schedule(t, lr_{t-1}) in every parameter group."""

    def __init__(self, optimizer, schedule, last_epoch: int = -1):
        self.schedule = schedule
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        rates = [float(self.schedule(self.last_epoch, float(group["lr"])))
                 for group in self.optimizer.param_groups]
        for lr in rates:
            if not math.isfinite(lr) or lr < 0:
                raise ValueError(f"LearningRateScheduler: the schedule returned an invalid "
                                 f"learning rate {lr} at epoch {self.last_epoch}")
        return rates


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from ``schedule(epoch, lr) -> lr``.

    Keras' callback, as an adapter of a scheduler: when the run's first epoch begins, each
    optimiser of the trainer gets a scheduler with lr_t = schedule(t, lr_{t-1}) (t the 0-based
    epoch, lr_{t-1} the group's current rate), stepped at the start of every later epoch. The
    closed-form schedulers of ``chainrule.optim.lr_scheduler``, given as
    ``Trainer(scheduler=...)``, do the same and are saved in checkpoints.

    Args:
        schedule: ``schedule(epoch, lr) -> lr``; a negative or non-finite rate raises
            ``ValueError``.
        verbose: print the rate at the start of every epoch.

    Example:
        >>> LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch and epoch % 10 == 0 else lr)
    """

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got "
                            f"{type(schedule).__name__}")
        self.schedule, self.verbose = schedule, verbose
        self.schedulers: list = []

    def on_train_begin(self, logs=None):
        self.schedulers = []

    def on_epoch_begin(self, epoch, logs=None):
        if not self.schedulers:  # created at the run's first epoch, which may follow a resume
            self.schedulers = [_ScheduleLR(optimizer, self.schedule, last_epoch=epoch - 1)
                               for optimizer in _optimizers(self.trainer)]
        else:
            for scheduler in self.schedulers:
                scheduler.step()
        if self.verbose:
            rates = ", ".join(f"{lr:.6g}" for s in self.schedulers for lr in s.get_last_lr())
            print(f"Epoch {epoch + 1}: learning rate {rates}", file=sys.stderr)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving (Keras' rule).

    After ``patience`` epochs in a row without an improvement larger than ``min_delta``:
    lr <- max(lr factor, min_lr); then ``cooldown`` epochs, counting the one that reduced,
    pass before bad epochs count again.

    An adapter of :class:`chainrule.optim.lr_scheduler.ReduceLROnPlateau`: one scheduler per
    optimiser, built when training begins and stepped with the monitored value at the end of
    every epoch. The scheduler reduces after *more than* its patience and skips its cooldown
    epochs entirely, so it gets ``patience - 1`` and ``cooldown - 1`` (Keras' patience 0 and 1
    act alike, as do cooldown 0 and 1) and the absolute threshold ``min_delta``.

    Args:
        monitor: the logs key to watch.
        factor: multiplicative factor in (0, 1).
        patience: bad epochs in a row before a reduction.
        mode: "min", "max" or "auto" (as :class:`EarlyStopping`).
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs after a reduction before bad epochs count again.
        min_lr: the lowest rate.
        verbose: print a line on each reduction.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0, verbose: int = 0):
        if not 0 < factor < 1:  # checked here too, to fail before training starts
            raise ValueError(f"ReduceLROnPlateau: factor must lie in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_delta, self.cooldown, self.min_lr, self.verbose = \
            abs(min_delta), cooldown, min_lr, verbose
        self.mode, _ = _mode_op(mode, monitor, "ReduceLROnPlateau")
        self.schedulers: list = []

    def on_train_begin(self, logs=None):
        self.schedulers = [
            lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=self.mode, factor=self.factor,
                patience=max(self.patience - 1, 0), threshold=self.min_delta,
                threshold_mode="abs", cooldown=max(self.cooldown - 1, 0), min_lr=self.min_lr)
            for optimizer in _optimizers(self.trainer)]

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        for scheduler in self.schedulers:
            before = [group["lr"] for group in scheduler.optimizer.param_groups]
            scheduler.step(current)
            if self.verbose and scheduler.get_last_lr() != before:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau lowers the learning rate to "
                      f"{', '.join(f'{lr:.6g}' for lr in scheduler.get_last_lr())}",
                      file=sys.stderr)
