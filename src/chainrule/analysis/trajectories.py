"""Optimiser paths: on two-parameter test functions, and of a real training run.

``optimizer_trajectories`` runs optimisers of :mod:`chainrule.optim` from the same start on a
function f(w1, w2) and returns their paths (the lecture decks' pictures of GD, momentum, Nesterov,
Adagrad, RMSprop, Adadelta and Adam). The test functions are objects that evaluate on a Tensor
(for the optimisers) and on NumPy grids (for contour plots) alike:

* ``quadratic``: (w1 - 3)^2 + (w2 - 2)^2, the decks' bowl, minimum (3, 2);
* ``rosenbrock``: (1 - x)^2 + 100 (y - x^2)^2, a curved valley, minimum (1, 1);
* ``beale``: (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2, minimum (3, 0.5);
* ``saddle``: x^2 - y^2, a saddle point at (0, 0) (unbounded below along y).

``training_trajectory`` projects parameter vectors saved during training onto their top two
principal directions (Li et al. 2018), to draw the path over a loss landscape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from chainrule import Tensor, tensor
from chainrule.analysis._common import parameters_of, to_vector
from chainrule.train import Callback


@dataclass(frozen=True)
class TestFunction:
    """A function of two parameters with its known minimum and a good plotting window.

    Calling it on ``w`` evaluates f(w[..., 0], w[..., 1]): a Tensor of shape (2,) gives a scalar
    Tensor (differentiable), a NumPy array of shape (..., 2) gives an array (for contours).

    Attributes:
        name: a short name.
        formula: the formula as text (for titles).
        fn: f(x, y) written with operators only, so it works on Tensors and arrays.
        minimum: the global minimiser (None for the saddle, which has none).
        bounds: ((x_min, x_max), (y_min, y_max)) for plots.
        start: a customary starting point.
    """

    __test__ = False  # not a pytest test class despite its name

    name: str
    formula: str
    fn: Callable
    minimum: tuple | None
    bounds: tuple
    start: tuple

    def __call__(self, w):
        return self.fn(w[..., 0], w[..., 1])

    def grid(self, num=200, bounds=None):
        """(X, Y, Z) over ``bounds`` (default ``self.bounds``) for contour plots."""
        (x0, x1), (y0, y1) = bounds or self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, num), np.linspace(y0, y1, num))
        return X, Y, self.fn(X, Y)


quadratic = TestFunction(
    "quadratic", "(w1 - 3)^2 + (w2 - 2)^2", lambda x, y: (x - 3) ** 2 + (y - 2) ** 2,
    (3.0, 2.0), ((-1.0, 6.0), (-2.0, 5.0)), (0.0, 0.0))
rosenbrock = TestFunction(
    "rosenbrock", "(1 - x)^2 + 100 (y - x^2)^2",
    lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    (1.0, 1.0), ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.0))
beale = TestFunction(
    "beale", "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2
    + (2.625 - x + x * y * y * y) ** 2,
    (3.0, 0.5), ((-4.5, 4.5), (-4.5, 4.5)), (1.0, 1.5))
saddle = TestFunction(
    "saddle", "x^2 - y^2", lambda x, y: x * x - y * y,
    None, ((-2.0, 2.0), (-2.0, 2.0)), (-1.5, 1e-3))

FUNCTIONS = {f.name: f for f in (quadratic, rosenbrock, beale, saddle)}


def _factory(spec):
    """An optimiser builder from a callable ``params -> optimizer`` or ``(class, kwargs)``."""
    if isinstance(spec, tuple):
        cls, kwargs = spec
        return lambda params: cls(params, **kwargs)
    if not callable(spec):
        raise TypeError(f"optimizer spec must be a callable params -> optimizer or a "
                        f"(class, kwargs) pair, got {type(spec).__name__}")
    return spec


def optimizer_trajectories(fn, start, optimizers, steps=100, dtype=np.float64) -> dict:
    """Run each optimiser on f(w) from ``start`` and return the paths it takes.

    Each step is the manual training loop on the single parameter w = (w1, w2):
    ``opt.zero_grad(); fn(w).backward(); opt.step()``. A run that reaches a non-finite value
    stops there (its path is shorter).

    Args:
        fn: a :class:`TestFunction` or any callable mapping a Tensor of shape (2,) to a scalar.
        start: the starting point (w1, w2) (default ``fn.start`` when None).
        optimizers: a dict name -> optimiser spec, where a spec is a callable
            ``params -> optimizer`` (e.g. ``lambda p: cr.optim.Adam(p, lr=0.1)``) or a pair
            ``(cr.optim.Adam, {"lr": 0.1})``.
        steps: the number of optimisation steps.
        dtype: the dtype of w (float64 by default, so paths are not limited by rounding).

    Returns:
        A dict name -> array of shape (steps + 1, 2): the start, then w after every step.

    Example:
        >>> paths = optimizer_trajectories(rosenbrock, None, {
        ...     "SGD": lambda p: cr.optim.SGD(p, lr=1e-3),
        ...     "Adam": (cr.optim.Adam, {"lr": 0.05})}, steps=500)
    """
    if start is None:
        start = fn.start
    start = np.asarray(start, dtype=np.float64).reshape(-1)
    if start.shape != (2,):
        raise ValueError(f"optimizer_trajectories: start must have 2 values, got {start.shape}")
    paths = {}
    for name, spec in optimizers.items():
        w = tensor(start, dtype=dtype, requires_grad=True)
        opt = _factory(spec)([w])
        points = [start.copy()]
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected below
            for _ in range(steps):
                opt.zero_grad()
                loss = fn(w)
                if not isinstance(loss, Tensor):
                    raise TypeError(f"optimizer_trajectories: fn must return a Tensor, got "
                                    f"{type(loss).__name__}")
                loss.backward()
                opt.step()
                point = np.asarray(w.numpy(), dtype=np.float64).copy()
                if not np.all(np.isfinite(point)):
                    break
                points.append(point)
        paths[name] = np.array(points)
    return paths


class Trajectory(NamedTuple):
    """A training run projected on its top two principal directions.

    Attributes:
        coords: (T, 2) coordinates (alpha, beta) of each saved vector relative to the last.
        directions: (d1, d2), flat unit vectors, usable as ``loss_landscape_2d(directions=...)``.
        explained_variance_ratio: the share of the path's variance along d1 and d2.
    """

    coords: np.ndarray
    directions: tuple
    explained_variance_ratio: np.ndarray


def training_trajectory(vectors) -> Trajectory:
    """Project saved parameter vectors theta_0..theta_T onto their top two PCA directions.

    Following Li et al. 2018, the matrix M = [theta_0 - theta_T, ..., theta_{T-1} - theta_T] is
    decomposed by SVD; its top two right singular vectors d1, d2 span the plane that best holds
    the path, and theta_t - theta_T ~ alpha_t d1 + beta_t d2. Drawing
    ``loss_landscape_2d(model, ..., directions=(d1, d2), span=...)`` of the final model with the
    path on it shows where training went.

    Args:
        vectors: a sequence of at least three flat parameter vectors (Tensors or arrays, e.g.
            ``parameters_to_vector(model.parameters())`` saved after each epoch), the final
            parameters last.

    Returns:
        A :class:`Trajectory` (the final point sits at (0, 0)).

    Example:
        >>> traj = training_trajectory(saved)        # saved: one vector per epoch
        >>> surf = loss_landscape_2d(model, loss_fn, data, directions=traj.directions,
        ...                          normalization=None, span=(-2, 2))
    """
    rows = [np.asarray(v.numpy() if isinstance(v, Tensor) else v, dtype=np.float64).ravel()
            for v in vectors]
    if len(rows) < 3:
        raise ValueError(f"training_trajectory: need at least 3 parameter vectors, got "
                         f"{len(rows)}")
    if len({r.size for r in rows}) != 1:
        raise ValueError("training_trajectory: the parameter vectors differ in size")
    theta = np.stack(rows)
    M = theta - theta[-1]
    _, s, vt = np.linalg.svd(M[:-1], full_matrices=False)
    d1, d2 = vt[0], vt[1]
    coords = M @ np.stack([d1, d2], axis=1)
    total = float((s * s).sum())
    ratio = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return Trajectory(coords, (d1, d2), ratio)


class TrajectoryRecorder(Callback):
    """Save the flat parameter vector at the start of training and after every epoch.

    ``recorder.trajectory()`` then projects the run with :func:`training_trajectory`. In a
    manual loop, pass ``model=`` and call ``on_train_begin()`` and ``on_epoch_end(epoch)``.

    Args:
        model: the model to watch (default: the trainer's).
        every: record every ``every``-th epoch (the last epoch is always recorded by
            ``on_train_end``).

    Attributes:
        vectors: the saved float64 vectors, oldest first.
    """

    def __init__(self, model=None, every: int = 1):
        self._model = model
        self.every = every
        self.vectors: list = []

    @property
    def model(self):
        if self._model is not None:
            return self._model
        if self.trainer is None:
            raise RuntimeError("TrajectoryRecorder: no model; pass model= or use it in "
                               "Trainer.fit(callbacks=[...])")
        return self.trainer.model

    def _record(self):
        vector = to_vector(parameters_of(self.model))
        if not self.vectors or not np.array_equal(self.vectors[-1], vector):
            self.vectors.append(vector)

    def on_train_begin(self, logs=None):
        self._record()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record()

    def on_train_end(self, logs=None):
        self._record()

    def trajectory(self) -> Trajectory:
        """The recorded run projected on its top two principal directions."""
        return training_trajectory(self.vectors)
