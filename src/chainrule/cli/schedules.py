"""The learning-rate schedules of ``chainrule train --scheduler NAME``.

The Trainer steps its scheduler once per epoch: ``cosine``, ``step`` and ``plateau`` are
schedulers of :mod:`chainrule.optim.lr_scheduler` (:func:`epoch_scheduler`). A transformer
trains better when the rate also rises gently over its first updates, while Adam's moment
estimates are still poor, and then decays; ``--scheduler warmup-cosine`` does this batch by
batch with :class:`WarmupCosine`, a callback around a ``chainrule.optim.lr_scheduler.LambdaLR``
whose step count is the number of batches trained. The factor is a closed form of that count,
so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import math

from chainrule.optim import lr_scheduler
from chainrule.optim.lr_scheduler import LambdaLR
from chainrule.train import Callback

WARMUP, FINAL = 0.05, 0.1  # share of the updates spent warming up; final rate / initial rate


def epoch_scheduler(name: str, optimizer, epochs: int):
    """The scheduler of ``--scheduler name`` stepped once per epoch, or None (``none``, and
    ``warmup-cosine``, which is a callback)."""
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
    return None


def warmup_cosine(step: int, total: int, warmup: int, final: float = FINAL) -> float:
    """The factor of the initial rate at update ``step`` (0-based) of ``total``.

        f(s) = (s + 1) / W                                            for s < W
        f(s) = r + (1 - r) (1 + cos(pi (s - W) / (S - W))) / 2         for W <= s <= S

    a linear rise over the first W updates, then half a cosine from 1 down to r at update S.

    Args:
        step: s, the updates done so far.
        total: S, the updates of the whole run.
        warmup: W, the updates of the rise.
        final: r, the factor at the end.

    Returns:
        f(s), a float.

    Example:
        >>> [round(warmup_cosine(s, 100, 10), 3) for s in (0, 9, 10, 55, 100)]
        [0.1, 1.0, 1.0, 0.55, 0.1]
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return final + (1.0 - final) * (1.0 + math.cos(math.pi * progress)) / 2.0


class WarmupCosine(Callback):
    """Set the learning rate before every batch: lr_s = lr_0 f(s), f of :func:`warmup_cosine`.

    S is the run's epochs times its batches per epoch, W a share ``warmup`` of S (at least one
    update), and s = epoch * batches per epoch + batch.

    Args:
        warmup: the share of the updates spent rising.
        final: the factor at the end of the run.
    """

    def __init__(self, warmup: float = WARMUP, final: float = FINAL):
        self.warmup, self.final = warmup, final
        self.schedulers: list = []

    def on_train_begin(self, logs=None):
        params = self.trainer.params
        total = int(params["epochs"]) * int(params["steps"])
        warmup = max(1, round(self.warmup * total))

        def factor(step):
            return warmup_cosine(step, total, warmup, self.final)

        optimizers = self.trainer.named_optimizers().values()
        self.schedulers = [LambdaLR(opt, factor) for opt in optimizers if opt is not None]

    def on_train_batch_begin(self, batch, logs=None):
        step = self.trainer.epoch * int(self.trainer.params["steps"]) + batch
        for scheduler in self.schedulers:
            scheduler.step(step)
