"""Loss landscapes: the loss along a line and over a plane through parameter space.

* 1-D (Goodfellow et al. 2015): L((1 - alpha) theta_a + alpha theta_b), the loss on the straight
  line between two parameter vectors (e.g. the initial and the trained weights).
* 2-D (Li et al. 2018): L(theta + alpha d1 + beta d2) around the current parameters theta, with
  random Gaussian directions d1, d2. Filter normalisation rescales each filter (a row of a
  Linear weight, an output channel of a Conv weight) of a direction to the norm of the same
  filter of theta, d_ij <- d_ij / ||d_ij|| * ||theta_ij||, so the plot does not depend on the
  scale of the weights. One-dimensional parameters (biases, BatchNorm/LayerNorm weights and
  biases) get a zero direction by default (Li et al.'s ``ignore='biasbn'``); with
  ``ignore_biasbn=False`` their direction is the parameter itself, as in the reference code.

Losses are evaluated without a graph, in eval mode unless ``train_mode=True``; the model's
parameters and mode are restored afterwards, bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chainrule import Tensor, backend
from chainrule.analysis._common import (
    from_vector,
    mean_loss,
    parameters_of,
    resolve_rng,
    set_parameters,
    to_vector,
)
from chainrule.analysis.state import preserved

_NORMALIZATIONS = ("filter", "layer", None)


class Landscape2D(NamedTuple):
    """A loss surface: ``losses[i, j] = L(theta + alphas[i] d1 + betas[j] d2)``."""

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    directions: tuple


def _vector(v, n, name):
    if isinstance(v, Tensor):
        v = v.numpy()
    arr = np.asarray(backend.to_numpy(v), dtype=np.float64).ravel()
    if arr.size != n:
        raise ValueError(f"{name}: a vector of size {arr.size} for {n} parameters")
    return arr


def _axis(span, steps, name):
    if steps < 2:
        raise ValueError(f"{name}: steps must be >= 2, got {steps}")
    lo, hi = span
    axis = np.linspace(lo, hi, steps)
    if lo < 0 < hi:  # put 0 on the grid exactly when it is in range, so the centre is theta
        axis[np.argmin(np.abs(axis))] = 0.0
    return axis


def loss_landscape_1d(model, loss_fn, data, start, end=None, steps=51, span=(-0.5, 1.5),
                      train_mode=False):
    """The loss on the line through two parameter vectors.

    L(alpha) = L((1 - alpha) theta_a + alpha theta_b); alpha = 0 is ``start``, 1 is ``end``.

    Args:
        model: a module (or a sequence of Tensors with a closure ``loss_fn`` and data None).
        loss_fn: ``loss_fn(model(inputs), targets)``.
        data: one ``(inputs, targets)`` batch or an iterable of batches (losses averaged,
            weighted by batch size).
        start: theta_a, a flat vector of all parameters (``parameters_to_vector``).
        end: theta_b (default: the model's current parameters).
        steps: the number of alphas.
        span: the range of alpha (beyond [0, 1] shows the loss past both ends).
        train_mode: evaluate in train mode (default eval).

    Returns:
        (alphas, losses): two float64 arrays of length ``steps``.

    Example:
        >>> theta0 = parameters_to_vector(model.parameters()).detach()
        >>> ...  # train
        >>> alphas, losses = loss_landscape_1d(model, loss_fn, (X, y), theta0)
    """
    params = parameters_of(model)
    current = to_vector(params)
    theta_a = _vector(start, current.size, "loss_landscape_1d(start)")
    theta_b = current if end is None else _vector(end, current.size, "loss_landscape_1d(end)")
    alphas = _axis(span, steps, "loss_landscape_1d")
    losses = np.empty(steps)
    with preserved(model, train_mode=train_mode):
        for i, a in enumerate(alphas):
            set_parameters(params, from_vector((1 - a) * theta_a + a * theta_b, params))
            losses[i] = mean_loss(model, loss_fn, data)
    return alphas, losses


def _random_direction(params, rng, normalization, ignore_biasbn):
    """One direction of Li et al. 2018, as a flat vector (see the module docstring)."""
    pieces = []
    for p in params:
        theta = np.asarray(p.numpy(), dtype=np.float64)
        d = rng.standard_normal(theta.shape)
        if theta.ndim <= 1:
            d = np.zeros_like(theta) if ignore_biasbn else theta.copy()
        elif normalization == "filter":
            axes = tuple(range(1, theta.ndim))
            d_norm = np.sqrt((d * d).sum(axis=axes, keepdims=True))
            t_norm = np.sqrt((theta * theta).sum(axis=axes, keepdims=True))
            d = d / (d_norm + 1e-10) * t_norm
        elif normalization == "layer":
            d = d / (np.linalg.norm(d) + 1e-10) * np.linalg.norm(theta)
        pieces.append(d.ravel())
    return np.concatenate(pieces)


def random_directions(model, seed=None, normalization="filter", ignore_biasbn=True):
    """Two random Gaussian directions in parameter space, normalised as in Li et al. 2018.

    Args:
        model: a module or a sequence of Tensors.
        seed: seed of the Gaussian draws (None: from ``cr.manual_seed``'s generator).
        normalization: "filter" (per row / output channel), "layer" (per parameter tensor) or
            None (raw N(0, I) directions).
        ignore_biasbn: zero the direction of one-dimensional parameters (biases, norm layers);
            when False, use the parameter itself.

    Returns:
        (d1, d2): flat float64 vectors of the size of ``parameters_to_vector(model)``.

    Example:
        >>> d1, d2 = random_directions(model, seed=0)
        >>> loss_landscape_2d(model, loss_fn, (X, y), directions=(d1, d2), normalization=None)
    """
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
    rng = resolve_rng(seed)
    params = parameters_of(model)
    return tuple(_random_direction(params, rng, normalization, ignore_biasbn) for _ in range(2))


def loss_landscape_2d(model, loss_fn, data, steps=21, span=(-1.0, 1.0), directions=None,
                      seed=None, normalization="filter", ignore_biasbn=True, train_mode=False):
    """The loss over a plane through the current parameters theta.

    losses[i, j] = L(theta + alphas[i] d1 + betas[j] d2); at (0, 0) it is the model's loss.

    Args:
        model: a module (or a sequence of Tensors with a closure ``loss_fn`` and data None).
        loss_fn: ``loss_fn(model(inputs), targets)``.
        data: one ``(inputs, targets)`` batch or an iterable of batches.
        steps: grid points per axis (an int, or a pair for alpha and beta).
        span: the range of both coordinates (a pair, or a pair of pairs).
        directions: (d1, d2) flat vectors to use as given (e.g. PCA directions of a training
            run from :func:`training_trajectory`); default: :func:`random_directions`.
        seed, normalization, ignore_biasbn: for the random directions.
        train_mode: evaluate in train mode (default eval).

    Returns:
        A :class:`Landscape2D` (alphas, betas, losses of shape (len(alphas), len(betas)),
        directions).

    Example:
        >>> surf = loss_landscape_2d(model, nn.CrossEntropyLoss(), (X, y), steps=25, seed=0)
        >>> cr.viz.plot_landscape(surf, path="surface.png")
    """
    params = parameters_of(model)
    theta = to_vector(params)
    if directions is None:
        d1, d2 = random_directions(model, seed, normalization, ignore_biasbn)
    else:
        d1, d2 = (_vector(d, theta.size, "loss_landscape_2d(directions)") for d in directions)
    sx, sy = (steps, steps) if np.ndim(steps) == 0 else steps
    span_x, span_y = (span, span) if np.ndim(span[0]) == 0 else span
    alphas = _axis(span_x, sx, "loss_landscape_2d")
    betas = _axis(span_y, sy, "loss_landscape_2d")
    losses = np.empty((alphas.size, betas.size))
    with preserved(model, train_mode=train_mode):
        originals = [p.data.copy() for p in params]
        for i, a in enumerate(alphas):
            for j, b in enumerate(betas):
                if a == 0.0 and b == 0.0:
                    set_parameters(params, originals)  # exactly theta, no rounding
                else:
                    set_parameters(params, from_vector(theta + a * d1 + b * d2, params))
                losses[i, j] = mean_loss(model, loss_fn, data)
    return Landscape2D(alphas, betas, losses, (d1, d2))
