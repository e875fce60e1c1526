"""Loss functions, and their Module versions (one-line wrappers).

Every function takes ``reduction`` in {"none", "mean", "sum"}, checked in one helper
(:func:`reduce_loss`); "mean" is the default, as in PyTorch. Losses on probabilities and
logits are computed stably (log-sum-exp, softplus), so extreme inputs give finite values:
cross-entropy of logits [1000, 1] with target 1 is 999, BCE-with-logits at +-200 is 200.
"""

from __future__ import annotations

import numpy as np

from chainrule.creation import as_tensor
from chainrule.nn.module import Module
from chainrule.ops.elementwise import where
from chainrule.ops.loss import (
    EMPTY_MEAN_MESSAGE,
    binary_cross_entropy_elementwise,
    cross_entropy_rows,
    squared_error,
)
from chainrule.ops.special import softplus
from chainrule.tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str, who: str) -> None:
    """Raise ValueError unless ``reduction`` is "none", "mean" or "sum"."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{who}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reduce_loss(loss: Tensor, reduction: str, who: str) -> Tensor:
    """Apply ``reduction`` to elementwise losses: as is, their mean, or their sum."""
    check_reduction(reduction, who)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input, target, who):
    """``target`` as a Tensor of ``input``'s floating dtype, with the same shape."""
    if not isinstance(target, Tensor):
        target = as_tensor(target, dtype=input.dtype)
    elif target.dtype != input.dtype:
        target = target.to(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{who}: target shape {target.shape} differs from input shape "
                         f"{input.shape}; reshape one of them (broadcasting here is almost "
                         "always a bug)")
    return target


def _optional(t, like):
    if t is None:
        return None
    t = t if isinstance(t, Tensor) else as_tensor(t)
    return t.to(like.dtype) if t.dtype != like.dtype else t


# ---- regression ------------------------------------------------------------------------------
def mse_loss(input, target, reduction="mean"):
    """Mean squared error: l_i = (x_i - t_i)^2.

    The decks also use the half form L = 1/2 mean (x - t)^2, whose gradient is (x - t)/n
    without the factor 2: that is ``0.5 * mse_loss(x, t)``.

    Args:
        input: predictions x, any shape.
        target: targets t, the same shape.
        reduction: "mean" (default), "sum" or "none".

    Example:
        >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0]))    # (1 + 4) / 2 = 2.5
    """
    target = _pair(input, target, "mse_loss")
    check_reduction(reduction, "mse_loss")
    return squared_error(input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error (MAE): l_i = |x_i - t_i| (subgradient 0 where x = t)."""
    d = input - _pair(input, target, "l1_loss")
    return reduce_loss(d.abs(), reduction, "l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: quadratic near the target, linear far from it.

    l_i = 1/2 d_i^2 if |d_i| < delta, else delta (|d_i| - delta/2), with d = x - t.
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - _pair(input, target, "huber_loss")
    a = d.abs()
    loss = where(a.data < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return reduce_loss(loss, reduction, "huber_loss")


# ---- binary classification -------------------------------------------------------------------
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities: l_i = -w_i [t_i log p_i + (1 - t_i) log(1 - p_i)].

    Each log is clamped at -100 (as in PyTorch), so p = 0 or 1 gives a finite loss. With a
    sigmoid output a = sigmoid(z) the gradient is dL/dz = a - t; prefer
    :func:`binary_cross_entropy_with_logits`, which is stable for any z.

    Args:
        input: probabilities p in [0, 1].
        target: targets t in [0, 1], the same shape.
        weight: optional rescaling weight, broadcast to the input's shape.
        reduction: "mean" (default), "sum" or "none".
    """
    target = _pair(input, target, "binary_cross_entropy")
    data = input.data
    if not bool(((data >= 0) & (data <= 1)).all()):
        bad = data[~((data >= 0) & (data <= 1))].ravel()[0]
        raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], found "
                         f"{bad} (shape {input.shape}); use binary_cross_entropy_with_logits "
                         "for logits")
    loss = binary_cross_entropy_elementwise(input, target, _optional(weight, input))
    return reduce_loss(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid plus binary cross-entropy in one stable formula.

    l_i = w_i [(1 - t_i) z_i + (1 + (pw - 1) t_i) softplus(-z_i)], which equals
    -w [pw t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))] without overflow.

    Args:
        input: logits z.
        target: targets t in [0, 1], the same shape.
        weight: optional rescaling weight, broadcast to the input's shape.
        reduction: "mean" (default), "sum" or "none".
        pos_weight: weight pw of positive examples, broadcast over the last (class) axis.
    """
    target = _pair(input, target, "binary_cross_entropy_with_logits")
    pos_weight = _optional(pos_weight, input)
    # NOTE: softplus is exact here (no linear cut-off above a threshold), so the loss and its
    # gradient keep their tiny tails: d/dz at z = -21 is sigmoid(-21), not 0.
    sp = softplus(-input, threshold=float("inf"))
    if pos_weight is None:
        loss = (1.0 - target) * input + sp
    else:
        loss = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * sp
    if weight is not None:
        loss = loss * _optional(weight, input)
    return reduce_loss(loss, reduction, "binary_cross_entropy_with_logits")


# ---- multi-class classification --------------------------------------------------------------
def _rows(input, target, who, allow_probs):
    """Move the class axis last and flatten: (M, C) logits and (M,) or (M, C) targets.

    Returns the rows, the targets, and the shape of the unreduced loss.
    """
    if not isinstance(target, Tensor):
        target = as_tensor(target)
    if input.ndim == 0:
        raise ValueError(f"{who}: input must have a class dimension, got a 0-d tensor")
    batched = input.ndim >= 2
    c = input.shape[1] if batched else input.shape[0]
    probs = target.dtype.kind == "f"
    if probs:
        if not allow_probs:
            raise TypeError(f"{who}: target must hold integer class indices, got dtype "
                            f"{target.dtype}")
        if target.shape != input.shape:
            raise ValueError(f"{who}: probability target shape {target.shape} must equal input "
                             f"shape {input.shape}")
        target = target.to(input.dtype) if target.dtype != input.dtype else target
    elif target.dtype.kind not in "iu":
        raise TypeError(f"{who}: target must be integer class indices or float probabilities, "
                        f"got dtype {target.dtype}")
    else:
        expected = (input.shape[:1] + input.shape[2:]) if batched else ()
        if target.shape != expected:
            raise ValueError(f"{who}: target shape {target.shape} does not match input shape "
                             f"{input.shape} (expected {expected} for {c} classes on dim "
                             f"{1 if batched else 0})")
    out_shape = (input.shape[:1] + input.shape[2:]) if batched else ()
    if not batched:
        x = input.reshape(1, c)
    elif input.ndim == 2:
        x = input
    else:
        x = input.permute((0,) + tuple(range(2, input.ndim)) + (1,)).reshape(-1, c)
    if probs:
        t = target.reshape(1, c) if not batched else (
            target if target.ndim == 2 else
            target.permute((0,) + tuple(range(2, target.ndim)) + (1,)).reshape(-1, c))
    else:
        t = target if target.ndim == 1 else target.reshape(-1)
    return x, t, out_shape


def _check_classes(target, c, ignore_index, who):
    y = target.data
    bad = ((y < 0) | (y >= c)) & (y != ignore_index)
    if bad.any():
        value = int(y[bad].ravel()[0])
        raise IndexError(f"{who}: target {value} is out of range for {c} classes (expected "
                         f"0 <= target < {c}, or ignore_index={ignore_index})")


def _class_weight(weight, x, who):
    if weight is None:
        return None
    weight = _optional(weight, x)
    if weight.shape != (x.shape[1],):
        raise ValueError(f"{who}: weight must have one entry per class, shape ({x.shape[1]},), "
                         f"got {weight.shape}")
    return weight


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities: l_i = -w_{y_i} x_{i, y_i}.

    ``reduction="mean"`` divides by sum_i w_{y_i} over the rows whose target is not
    ``ignore_index`` (PyTorch's weighted mean); it raises ValueError when that sum is 0.

    Args:
        input: log-probabilities (N, C), (C,) or (N, C, d1, ...).
        target: class indices (N,), () or (N, d1, ...), int64.
        weight: optional class weights (C,).
        ignore_index: a target value whose rows contribute nothing.
        reduction: "mean" (default), "sum" or "none".
    """
    check_reduction(reduction, "nll_loss")
    x, y, out_shape = _rows(input, target, "nll_loss", allow_probs=False)
    m, c = x.shape
    _check_classes(y, c, ignore_index, "nll_loss")
    weight = _class_weight(weight, x, "nll_loss")
    valid = y.data != ignore_index
    safe = np.where(valid, y.data, 0)
    wy = (weight.data[safe] if weight is not None else 1.0) * valid
    wy = wy.astype(x.dtype, copy=False)
    loss = x[np.arange(m), safe] * (-wy)
    if reduction == "none":
        return loss.reshape(out_shape)
    if reduction == "sum":
        return loss.sum()
    if wy.sum() == 0:
        raise ValueError("nll_loss: " + EMPTY_MEAN_MESSAGE.format(ignore_index=ignore_index))
    return loss.sum() / wy.sum()


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits: l_i = -sum_c q_ic log softmax(x_i)_c, computed stably.

    With class indices y the target distribution is one-hot: l_i = logsumexp(x_i) - x_{i, y_i}.
    With class probabilities t it is t itself. Label smoothing eps mixes in the uniform
    distribution, q = (1 - eps) q + eps / C; class weights w multiply each class's term. The
    gradient is softmax(x) - q (per unit weight). One fused graph node (see
    :class:`chainrule.ops.loss.CrossEntropy`), differentiable twice.

    Args:
        input: logits (N, C), (C,) or (N, C, d1, ...).
        target: class indices (int64, shape (N,), () or (N, d1, ...)) or class probabilities
            (float, the input's shape).
        weight: optional class weights (C,).
        ignore_index: with class indices, a target value whose rows contribute nothing.
        reduction: "mean" (default; weighted mean over non-ignored rows for indices, mean over
            rows for probabilities), "sum" or "none".
        label_smoothing: eps in [0, 1].

    Raises:
        IndexError: a class index is negative or >= C (and not ``ignore_index``).

    Example:
        >>> F.cross_entropy(cr.tensor([[1000.0, 1.0]]), cr.tensor([1]))    # 999.0
    """
    check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    x, t, out_shape = _rows(input, target, "cross_entropy", allow_probs=True)
    c = x.shape[1]
    if t.dtype.kind in "iu":
        _check_classes(t, c, ignore_index, "cross_entropy")
    weight = _class_weight(weight, x, "cross_entropy")
    loss = cross_entropy_rows(x, t, weight, ignore_index, label_smoothing, reduction)
    return loss.reshape(out_shape) if reduction == "none" else loss


# ---- modules ---------------------------------------------------------------------------------
class _Loss(Module):
    """Base of the loss modules: stores and checks ``reduction``."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def _weight_buffer(self, name, value):
        self.register_buffer(name, None if value is None else as_tensor(value))


class MSELoss(_Loss):
    """Mean squared error; see :func:`mse_loss`."""

    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error; see :func:`l1_loss`."""

    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta``; see :func:`huber_loss`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities; see :func:`binary_cross_entropy`."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable; see :func:`binary_cross_entropy_with_logits`."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self._weight_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                self.pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities; see :func:`nll_loss`."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits with class indices or probabilities; see :func:`cross_entropy`.

    Example:
        >>> loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
        >>> loss = loss_fn(model(x), y)          # logits (N, C), y int64 (N,)
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)
