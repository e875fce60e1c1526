"""Fused loss primitives: softmax cross-entropy from logits, binary cross-entropy and the squared
error.

Each is on the hot path of training (and the first two need care at the extremes), so each is
one graph node with a stable forward on arrays. Their backward formulas use only operators and
formula functions (:mod:`chainrule.ops.formula`), so they are differentiable again
(``create_graph=True``).
The user-facing functions with argument checks live in :mod:`chainrule.nn.losses`.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.elementwise import clamp
from chainrule.ops.formula import formula
from chainrule.ops.reduce import log_softmax, softmax
from chainrule.ops.unary import log

BCE_LOG_FLOOR = -100.0  # PyTorch clamps log(p) and log(1 - p) at -100
BCE_EPS = 1e-12  # PyTorch's floor for p (1 - p) in the BCE gradient
EMPTY_MEAN_MESSAGE = ("the weighted mean is over zero weight: every target is ignore_index "
                      "({ignore_index}) or has class weight 0 (PyTorch returns NaN here); use "
                      "reduction='sum' for such batches")


# NOTE: forward already computed softmax(x) and log softmax(x) on arrays; the fast backward reuses
# them, and a backward that builds a graph recomputes them differentiably from x.
@formula(lambda x, p: p)
def softmax_rows(x, p):
    """softmax(x) over dim 1, where ``p`` holds its value."""
    return softmax(x, 1)


@formula(lambda x, logp: logp)
def log_softmax_rows(x, logp):
    """log softmax(x) over dim 1, where ``logp`` holds its value."""
    return log_softmax(x, 1)


class CrossEntropy(Primitive):
    """Softmax cross-entropy of logits ``x`` (M, C) with a target distribution q (M, C).

    loss_i = -sum_c q_ic log softmax(x_i)_c, and d loss_i / d x_ic = p_ic sum_k q_ik - q_ic
    (softmax minus one-hot when q is one-hot).

    The target is either class indices (M,) (integers; ``ignore_index`` rows give 0) or class
    probabilities (M, C). With class weights w and label smoothing eps (PyTorch's semantics):

    - indices:       q_ic = (1 - eps) w_{y_i} [c = y_i] + (eps / C) w_c
    - probabilities: q_ic = w_c ((1 - eps) t_ic + eps / C)

    ``reduction="mean"`` divides the sum by sum_i w_{y_i} over non-ignored rows (indices) or
    by M (probabilities), as PyTorch does; when that weight is 0 (every row ignored) it raises
    ValueError instead of returning NaN.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        m, c = x.shape
        eps = float(label_smoothing)
        # NOTE: log softmax = shifted - log s with shifted = x - max, s = sum e^shifted; the
        # softmax itself (e / s) is kept for backward, which then needs no exponential.
        shifted = x - x.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        s = p.sum(axis=1, keepdims=True)
        log_s = np.log(s)
        p /= s
        ctx.args = (eps, reduction, ignore_index)
        ctx.weight = weight  # class weights: a constant
        if target.dtype.kind in "iu":
            valid = target != ignore_index
            y = np.where(valid, target, 0)
            wy = (weight[y] * valid).astype(x.dtype, copy=False) if weight is not None \
                else valid.astype(x.dtype)
            loss = -(1.0 - eps) * wy * (shifted[np.arange(m), y] - log_s[:, 0])
            if eps:  # sum_c w_c log p_ic = sum_c w_c shifted_ic - (sum_c w_c) log s_i
                if weight is not None:
                    smooth = shifted @ weight - weight.sum() * log_s[:, 0]
                else:
                    smooth = shifted.sum(axis=1) - c * log_s[:, 0]
                loss -= (eps / c) * smooth * valid
            ctx.index = (y, wy, valid, bool(valid.all()))
            ctx.denom = wy.sum()
            if reduction == "mean" and ctx.denom == 0:
                raise ValueError(EMPTY_MEAN_MESSAGE.format(ignore_index=ignore_index))
            ctx.save_for_backward(x, p)
        else:
            logp = shifted - log_s
            q = target * (1.0 - eps) + eps / c if eps else target
            if weight is not None:
                q = q * weight
            loss = -(q * logp).sum(axis=1)
            ctx.index = None
            ctx.denom = x.dtype.type(m)
            ctx.save_for_backward(x, p, target, logp)
        loss = loss.astype(x.dtype, copy=False)
        if reduction == "none":
            return loss
        total = loss.sum()
        return total / ctx.denom if reduction == "mean" else total

    @staticmethod
    def _index_target(ctx, p, weight):
        """The constant q of class-index targets, and whether each row of q sums to 1."""
        eps = ctx.args[0]
        y, wy, valid, all_valid = ctx.index
        c = p.shape[1]
        q = np.zeros(p.shape, dtype=wy.dtype)
        q[np.arange(p.shape[0]), y] = (1.0 - eps) * wy
        if eps:
            q += (eps / c) * (weight if weight is not None else 1.0) * valid[:, None]
        return q, eps == 0 and weight is None and all_valid

    @staticmethod
    def backward(ctx, g, x, p, *target_logp):
        eps, reduction, _ = ctx.args
        weight = ctx.weight
        p = fm.softmax_rows(x, p)
        if reduction == "none":
            scale = fm.reshape(g, (g.shape[0], 1))
        else:
            scale = g / ctx.denom if reduction == "mean" else g
        target = None
        if ctx.index is not None:
            q, unit_rows = CrossEntropy._index_target(ctx, p, weight)
        else:
            target, logp = target_logp
            logp = fm.log_softmax_rows(x, logp)
            q = target * (1.0 - eps) + eps / x.shape[1] if eps else target
            q = q * weight if weight is not None else q
            unit_rows = False
        nx, nt = ctx.needs_input_grad[:2]
        gx = gt = None
        if nx:
            pq = p if unit_rows else p * fm.sum(q, 1, keepdim=True)
            gx = (pq - q) * scale
        if nt and target is not None:
            gt = logp * (-(1.0 - eps)) * scale
            gt = gt * weight if weight is not None else gt
        return gx, gt, None, None, None, None


def _clamped_log_array(x):
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(x), BCE_LOG_FLOOR)


@formula(_clamped_log_array)
def clamped_log(x):
    """max(log x, -100), PyTorch's floor for the logarithms of binary cross-entropy."""
    with np.errstate(divide="ignore"):
        return clamp(log(x), min=BCE_LOG_FLOOR)


@formula(np.maximum)
def floor_at(x, value):
    """max(x, value) with a constant ``value``."""
    return clamp(x, min=value)


class BinaryCrossEntropy(Primitive):
    """Elementwise l = -w [t log p + (1 - t) log(1 - p)], each log clamped at -100.

    dl/dp = w (p - t) / max(p (1 - p), 1e-12) ;  dl/dt = w (log(1 - p) - log p)
    (PyTorch's formulas: finite even where p reaches 0 or 1).
    """

    @staticmethod
    def forward(ctx, p, t, weight):
        log_p = _clamped_log_array(p)
        log_1mp = _clamped_log_array(1 - p)
        out = -(t * log_p + (1 - t) * log_1mp)
        if weight is not None:
            out = out * weight
        ctx.weight = weight  # a constant
        ctx.save_for_backward(p, t)
        return out.astype(p.dtype, copy=False)

    @staticmethod
    def backward(ctx, g, p, t):
        np_, nt = ctx.needs_input_grad[:2]
        if ctx.weight is not None:
            g = g * ctx.weight
        gp = g * (p - t) / fm.floor_at(p * (1 - p), BCE_EPS) if np_ else None
        gt = g * (fm.clamped_log(1 - p) - fm.clamped_log(p)) if nt else None
        return gp, gt, None


class SquaredError(Primitive):
    """The squared error l_i = (x_i - t_i)^2, reduced: as is, summed, or averaged over n.

    dL/dx_i = 2 c (x_i - t_i) g ;  dL/dt_i = -dL/dx_i, with c = 1/n for the mean and 1
    otherwise. One node instead of three (difference, square, reduction); the backward recomputes
    x - t from the inputs, so with ``create_graph=True`` it is differentiable in x and t again.
    """

    @staticmethod
    def forward(ctx, x, t, reduction):
        d = x - t
        out = d * d if d.ndim == 0 else np.multiply(d, d, out=d)  # NumPy: a scalar for 0-d
        ctx.reduction, ctx.n = reduction, out.size
        ctx.save_for_backward(x, t)
        if reduction == "none":
            return out
        total = out.sum()
        if reduction == "sum":
            return total
        return total / out.size if out.size else total * np.nan

    @staticmethod
    def backward(ctx, g, x, t):
        nx, nt = ctx.needs_input_grad[:2]
        scale = 2.0
        if ctx.reduction == "mean":
            scale = 2.0 / ctx.n if ctx.n else float("nan")
        gx = (x - t) * (g * scale)
        return (gx if nx else None), (-gx if nt else None), None


def squared_error(x, target, reduction="mean"):
    """The fused node; see :class:`SquaredError` (no argument checks)."""
    return SquaredError.apply(x, target, reduction)


def cross_entropy_rows(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                       reduction="mean"):
    """The fused node on 2-D logits (M, C); see :class:`CrossEntropy` (no argument checks)."""
    return CrossEntropy.apply(logits, target, weight, ignore_index, label_smoothing, reduction)


def binary_cross_entropy_elementwise(p, target, weight=None):
    """The fused elementwise node; see :class:`BinaryCrossEntropy` (no argument checks)."""
    return BinaryCrossEntropy.apply(p, target, weight)
