"""Learning-rate schedules: large steps first, smaller ones later.

A scheduler wraps an optimiser and rewrites the ``"lr"`` of each parameter group when its
``step()`` is called (once per epoch, or once per batch, as the user chooses). Each schedule is a
closed form of the epoch count ``t`` and the group's initial rate ``lr_0``, so that a scheduler
restored from ``state_dict`` continues exactly. As in PyTorch, creating a scheduler sets the
rate of epoch 0.

Example:
    >>> opt = cr.optim.SGD(model.parameters(), lr=0.1)
    >>> sched = cr.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    >>> for epoch in range(100):
    ...     train_one_epoch(model, opt)
    ...     sched.step()
"""

from __future__ import annotations

import math
from bisect import bisect_right

from chainrule.optim.optimizer import Optimizer


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


def _positive(owner: str, name: str, value) -> float:
    if not float(value) > 0:
        raise ValueError(f"{owner}: {name} must be positive, got {value!r}")
    return float(value)


class LRScheduler:
    """Base class of schedules: ``lr_t = get_lr()`` written into every parameter group.

    Subclasses implement :meth:`get_lr`, the rates at epoch ``self.last_epoch`` computed from
    ``self.base_lrs`` (the groups' initial rates, kept in the groups as ``"initial_lr"``).

    Args:
        optimizer: the wrapped :class:`~chainrule.optim.Optimizer`.
        last_epoch: the last epoch already done (-1, the default, for a new run); creating the
            scheduler sets the rates of epoch ``last_epoch + 1``, as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self.step()

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        """The learning rate of each group at epoch ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self, epoch: int | None = None) -> None:
        """Advance to the next epoch (or to ``epoch``) and set the groups' learning rates."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step`, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimiser (and functions, which cannot be saved)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v) and k != "lr_lambdas"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state returned by :meth:`state_dict`."""
        self.__dict__.update({k: (list(v) if isinstance(v, (list, tuple)) else v)
                              for k, v in state_dict.items()})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    """Decay by ``gamma`` every ``step_size`` epochs: ``lr_t = lr_0 gamma^floor(t / step_size)``.

    Args:
        optimizer: the wrapped optimiser.
        step_size: epochs between two decays.
        gamma: multiplicative factor (default 0.1).

    Example:
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)    # 0.1, 0.1, 0.05, 0.05, 0.025, ...
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = _positive("StepLR", "gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        return [lr0 * self.gamma ** (self.last_epoch // self.step_size) for lr0 in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Decay by ``gamma`` at each milestone: ``lr_t = lr_0 gamma^(number of milestones <= t)``.

    Args:
        optimizer: the wrapped optimiser.
        milestones: epochs at which to decay (a milestone listed twice decays twice).
        gamma: multiplicative factor (default 0.1).

    Example:
        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1):
        milestones = list(milestones)
        if not milestones or any(isinstance(m, bool) or not isinstance(m, int) or m < 0
                                 for m in milestones):
            raise ValueError(f"MultiStepLR: milestones must be non-negative integers, got "
                             f"{milestones!r}")
        self.milestones = sorted(milestones)
        self.gamma = _positive("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        passed = bisect_right(self.milestones, self.last_epoch)
        return [lr0 * self.gamma ** passed for lr0 in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Decay by ``gamma`` every epoch: ``lr_t = lr_0 gamma^t``.

    Args:
        optimizer: the wrapped optimiser.
        gamma: multiplicative factor per epoch.

    Example:
        >>> sched = ExponentialLR(opt, gamma=0.95)
    """

    def __init__(self, optimizer, gamma: float):
        self.gamma = _positive("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        return [lr0 * self.gamma ** self.last_epoch for lr0 in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov and Hutter, 2017) from ``lr_0`` to ``eta_min`` in T_max epochs.

        lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2

    After ``T_max`` the rate rises again along the same cosine (period ``2 T_max``), as in PyTorch.

    Args:
        optimizer: the wrapped optimiser.
        T_max: epochs of the descent.
        eta_min: the smallest rate (default 0).

    Example:
        >>> sched = CosineAnnealingLR(opt, T_max=50)
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        if not float(eta_min) >= 0:
            raise ValueError(f"CosineAnnealingLR: eta_min must be >= 0, got {eta_min!r}")
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        cosine = (1.0 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2.0
        return [self.eta_min + (lr0 - self.eta_min) * cosine for lr0 in self.base_lrs]


class LambdaLR(LRScheduler):
    """A user-given factor per epoch: ``lr_t = lr_0 lr_lambda(t)``.

    The functions are not part of :meth:`state_dict`; recreate the scheduler with them and load
    the state.

    Args:
        optimizer: the wrapped optimiser.
        lr_lambda: a function of the epoch, or a list with one function per group.

    Example:
        >>> sched = LambdaLR(opt, lambda epoch: 0.95 ** epoch)
    """

    def __init__(self, optimizer, lr_lambda):
        n_groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n_groups:
                raise ValueError(f"LambdaLR: expected {n_groups} lr_lambdas (one per group), got "
                                 f"{len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n_groups
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer)

    def get_lr(self):
        return [lr0 * fn(self.last_epoch) for lr0, fn in zip(self.base_lrs, self.lr_lambdas)]


class LinearLR(LRScheduler):
    """Linear warm-up (or decay) of the factor from ``start_factor`` to ``end_factor``.

        lr_t = lr_0 (start_factor + (end_factor - start_factor) min(t, total_iters) / total_iters)

    Args:
        optimizer: the wrapped optimiser.
        start_factor: factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: factor from epoch ``total_iters`` on, in [0, 1] (default 1).
        total_iters: epochs of the ramp (default 5).

    Example:
        >>> sched = LinearLR(opt, start_factor=0.1, total_iters=10)     # warm-up
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5):
        if not 0 < float(start_factor) <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= float(end_factor) <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = _positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer)

    def get_lr(self):
        progress = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [lr0 * factor for lr0 in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Divide the learning rate when a monitored metric stops improving.

    ``step(metric)`` is called once per epoch. A value improves on the best so far when
    ``metric < best (1 - threshold)`` (mode "min", threshold_mode "rel"; "abs" uses
    ``best - threshold``, mode "max" the mirror images). After more than ``patience`` epochs
    without improvement,

        lr <- max(lr factor, min_lr)

    then ``cooldown`` epochs pass before bad epochs count again.

    Args:
        optimizer: the wrapped optimiser.
        mode: "min" (a loss) or "max" (an accuracy).
        factor: multiplicative factor in (0, 1) (default 0.1).
        patience: epochs without improvement tolerated (default 10).
        threshold: the smallest significant improvement (default 1e-4).
        threshold_mode: "rel" or "abs".
        cooldown: epochs to wait after a reduction (default 0).
        min_lr: the lowest rate, a number or one per group (default 0).
        eps: reductions smaller than this are skipped (default 1e-8).

    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
        >>> sched.step(val_loss)
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        if not 0 < float(factor) < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be a non-negative integer, "
                                 f"got {value!r}")
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"ReduceLROnPlateau: expected {n_groups} min_lr values (one per "
                                 f"group), got {len(min_lr)}")
            self.min_lrs = [float(m) for m in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * n_groups
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor, self.threshold, self.eps = float(factor), float(threshold), float(eps)
        self.patience, self.cooldown = patience, cooldown
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` improves significantly on ``best``."""
        if self.mode == "min":
            bound = best * (1.0 - self.threshold) if self.threshold_mode == "rel" \
                else best - self.threshold
            return value < bound
        bound = best * (1.0 + self.threshold) if self.threshold_mode == "rel" \
            else best + self.threshold
        return value > bound

    def step(self, metrics) -> None:
        """Record this epoch's metric and reduce the rates after too long a plateau."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
