"""The descent tab: loss surfaces of two parameters and optimisers racing over them.

Surfaces (w = (w1, w2)):

* bowl: (w1 - 3)^2 + (w2 - 2)^2, the decks' bowl (``cr.analysis.quadratic``);
* elongated: 0.1 w1^2 + 2 w2^2, a bowl 20 times steeper across than along (gradient descent
  zig-zags, momentum helps);
* saddle: w1^2 - w2^2 (``cr.analysis.saddle``), unbounded below along w2;
* rosenbrock: (1 - x)^2 + 100 (y - x^2)^2 (``cr.analysis.rosenbrock``), a curved valley;
* beale: Beale's function (``cr.analysis.beale``), flat plateaus and a narrow valley;
* network: the network tab's loss L(theta + alpha d1 + beta d2) around its current weights
  theta, along two random filter-normalised directions (``cr.analysis.random_directions``,
  Li et al. 2018), as a function of (alpha, beta).

A race runs each chosen optimiser of :mod:`chainrule.optim` on the same 2-parameter tensor
from the same start (``cr.analysis.optimizer_trajectories``): ``opt.zero_grad();
f(w).backward(); opt.step()``, and returns the paths.

Example:
    >>> view = surface_view("rosenbrock", SURFACES["rosenbrock"])
    >>> paths = race(SURFACES["rosenbrock"], None, {"adam": 0.05, "sgd": 1e-3}, steps=500)
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import analysis
from chainrule.playground.optimizers import LABELS, build_optimizer
from chainrule.playground.protocol import pack, rounded

elongated = analysis.TestFunction(
    "elongated", "0.1 w1^2 + 2 w2^2", lambda x, y: 0.1 * x * x + 2.0 * y * y,
    (0.0, 0.0), ((-5.0, 5.0), (-3.0, 3.0)), (-4.5, 2.0))

SURFACES = {"bowl": analysis.quadratic, "elongated": elongated, "saddle": analysis.saddle,
            "rosenbrock": analysis.rosenbrock, "beale": analysis.beale}

# Learning rates (per surface) at which every optimiser makes visible progress, and steps.
_SLOW = {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.5, "rmsprop": 1e-2,
         "adadelta": 1.0, "adam": 5e-2, "adamw": 5e-2}
SETTINGS = {
    "bowl": ({"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 1.0, "rmsprop": 0.05,
              "adadelta": 10.0, "adam": 0.1, "adamw": 0.1}, 200),
    "elongated": ({"sgd": 0.4, "momentum": 0.05, "nesterov": 0.05, "adagrad": 1.0,
                   "rmsprop": 0.05, "adadelta": 10.0, "adam": 0.1, "adamw": 0.1}, 200),
    "saddle": ({"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5,
                "rmsprop": 0.02, "adadelta": 10.0, "adam": 0.05, "adamw": 0.05}, 60),
    "rosenbrock": (_SLOW, 1000),
    "beale": (_SLOW, 1000),
    "network": ({"sgd": 0.1, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.1, "rmsprop": 0.01,
                 "adadelta": 10.0, "adam": 0.02, "adamw": 0.02}, 150),
}
SURFACE_GRID = 120
NETWORK_GRID = 41


class NetworkSurface:
    """The loss of a network on the plane theta + alpha d1 + beta d2 (a 2-parameter function).

    Calling it on a Tensor w of shape (2,) gives L(theta + w[0] d1 + w[1] d2) as a scalar
    Tensor whose gradient reaches w (the network runs through ``forward_with``, in eval mode);
    :meth:`grid` evaluates it on a grid with ``cr.analysis.loss_landscape_2d``.

    Args:
        net: a :class:`chainrule.playground.network.PlaygroundNet`.
        objective: its loss, ``objective(logits, target)``.
        inputs, target: the training data, as Tensors.
        directions: (d1, d2), flat vectors over all parameters.
        span: the half-width of the window in (alpha, beta).
    """

    name = "network"
    formula = "L(theta + alpha d1 + beta d2), the network tab's training loss"
    minimum = None

    def __init__(self, net, objective, inputs, target, directions, span: float = 1.0):
        self.net, self.objective, self.inputs, self.target = net, objective, inputs, target
        self.params = list(net.parameters())
        self.theta = [cr.tensor(p.numpy().copy()) for p in self.params]
        self.directions = directions
        self.pieces = [self._split(d) for d in directions]
        self.bounds = ((-span, span), (-span, span))
        self.start = (0.8 * span, 0.6 * span)

    def _split(self, flat):
        out, at = [], 0
        for p in self.params:
            size = int(np.prod(p.shape))
            out.append(cr.tensor(np.asarray(flat[at:at + size], dtype=np.float32)
                                 .reshape(p.shape)))
            at += size
        return out

    def __call__(self, w):
        moved = [t + w[0] * a + w[1] * b for t, a, b in zip(self.theta, *self.pieces)]
        with analysis.preserved(self.net, train_mode=False, parameters=False):
            logits, _ = self.net.forward_with(self.inputs, moved)
        return self.objective(logits, self.target)

    def grid(self, num=SURFACE_GRID, bounds=None):
        """(X, Y, Z) with Z[i, j] = L at (alpha, beta) = (X[i, j], Y[i, j])."""
        (x0, x1), (y0, y1) = bounds or self.bounds
        surface = analysis.loss_landscape_2d(
            self.net, self.objective, (self.inputs, self.target), steps=(num, num),
            span=((x0, x1), (y0, y1)), directions=self.directions)
        X, Y = np.meshgrid(surface.alphas, surface.betas)
        return X, Y, surface.losses.T


def surface_view(name: str, surface, num: int | None = None) -> dict:
    """What the page draws of surface ``name``: a num x num grid, packed, rows from the top.

    The grid has 120 points a side (41 for the network, whose every point is a pass over the
    training data); the page interpolates between them.

    The values go through z' = log(1 + z - min z), scaled to [0, 1] and packed as 2 z' - 1, so
    that the contour bands show the valley floor as well as the walls.

    Returns:
        {"surface", "formula", "bounds", "start", "minimum", "grid", "values" (packed),
        "low" and "high" (min and max of z), "lrs" (default learning rates), "steps"}.
    """
    if num is None:
        num = NETWORK_GRID if isinstance(surface, NetworkSurface) else SURFACE_GRID
    X, Y, Z = surface.grid(num, surface.bounds)
    Z = np.asarray(Z, dtype=np.float64)[::-1]  # first row: the top of the window
    finite = np.isfinite(Z)
    low = float(Z[finite].min()) if finite.any() else 0.0
    high = float(Z[finite].max()) if finite.any() else 0.0
    z = np.log1p(np.where(finite, Z, high) - low)
    top = float(z.max())
    z = z / top if top > 0 else np.zeros_like(z)
    lrs, steps = SETTINGS[name]
    return {"surface": name, "formula": surface.formula,
            "bounds": [list(b) for b in surface.bounds], "start": list(surface.start),
            "minimum": None if surface.minimum is None else list(surface.minimum),
            "grid": num, "values": pack(2.0 * z - 1.0), "low": low, "high": high,
            "lrs": dict(lrs), "steps": steps}


def race(surface, start, optimizers: dict, steps: int) -> dict:
    """Run each optimiser from ``start`` over ``surface`` and return the paths.

    Args:
        surface: a ``cr.analysis.TestFunction`` or a :class:`NetworkSurface`.
        start: (w1, w2), or None for the surface's customary start.
        optimizers: {name: learning rate} with names of :mod:`chainrule.playground.optimizers`
            (momentum and Nesterov with mu = 0.9, the others with their defaults).
        steps: the number of steps each takes.

    Returns:
        {"start", "steps", "paths": {name: [[w1, w2], ...]}, "final": {name: {"point",
        "value", "diverged"}}, "labels": {name: display name}}; a path that reached a
        non-finite value stops there ("diverged").
    """
    start = surface.start if start is None else start
    builders = {name: (lambda p, n=name, lr=lr: build_optimizer(n, p, lr))
                for name, lr in optimizers.items()}
    dtype = np.float32 if isinstance(surface, NetworkSurface) else np.float64
    paths = analysis.optimizer_trajectories(surface, start, builders, steps=steps, dtype=dtype)
    final = {}
    with cr.no_grad(), np.errstate(all="ignore"):  # a diverged path holds huge numbers
        for name, path in paths.items():
            end = path[-1]
            value = float(surface(cr.tensor(end, dtype=dtype)).item())
            final[name] = {"point": rounded(end, 5), "value": value,
                           "diverged": len(path) < steps + 1}
        shown = {name: rounded(path, 5) for name, path in paths.items()}
    return {"start": list(map(float, start)), "steps": steps, "paths": shown, "final": final,
            "labels": {name: LABELS[name] for name in paths}}
