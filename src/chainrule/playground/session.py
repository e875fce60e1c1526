"""One training session: the network tab's data, model, optimiser and history for one page.

Every page (every WebSocket connection) gets its own :class:`Session` with its own
``numpy.random.Generator`` for the weights, the dropout masks and the mini-batches, so tabs
never share random state or weights; the points come from the ``seed`` setting. A session does
its work in plain synchronous methods; the server calls them in a worker thread
(:mod:`chainrule.playground.engine`).

What a change of settings does:

* data (dataset, noise, training share, number of points, seed): new points, new network;
* shape (features, hidden layers, batch norm): new network (new weights, step 0);
* anything else keeps the weights and goes on: the activation is swapped in place, dropout's p
  changes, the loss is recomputed, a new optimiser (of another kind) starts with fresh state,
  and a new learning rate or hyper-parameter is written into the optimiser's param groups.

Example:
    >>> session = Session(seed=0)
    >>> session.configure({"dataset": "circles", "hidden": [6]})
    True
    >>> session.train(steps=100)
    100
    >>> session.frame()["test_loss"]
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

import chainrule as cr
from chainrule import analysis, nn
from chainrule.playground.config import DEFAULTS, validate_settings
from chainrule.playground.datasets import make_dataset
from chainrule.playground.descent import NetworkSurface
from chainrule.playground.frames import network_view
from chainrule.playground.network import Objective, PlaygroundNet, feature_matrix
from chainrule.playground.optimizers import build_optimizer, update_hyperparameters

DATA_KEYS = {"dataset", "noise", "train_ratio", "n_samples", "seed"}
SHAPE_KEYS = {"features", "hidden", "batch_norm"}
OPTIMIZER_KEYS = ("momentum", "alpha", "rho", "beta1", "beta2")
MAX_HISTORY = 400
DIVERGED = ("the loss is no longer finite: the learning rate is too high for this network; "
            "lower it and press reset")


class Session:
    """The state of one page's network tab.

    Args:
        settings: changes to the defaults (checked by ``config.validate_settings``).
        seed: the seed of this session's generator (weights, dropout, mini-batches).
    """

    def __init__(self, settings: dict | None = None, seed: int | None = None):
        self.settings = validate_settings(settings or {}, DEFAULTS)
        self.rng = np.random.default_rng(seed)
        self.running = False
        self._make_data()
        self.reset()

    # ---- building ----------------------------------------------------------------------------
    def _make_data(self) -> None:
        s = self.settings
        self.split = make_dataset(s["dataset"], s["n_samples"], s["noise"], s["train_ratio"],
                                  s["seed"])
        self.objective = Objective(s["loss"], self.split.classes)
        self.x_train = feature_matrix(self.split.x_train, s["features"])
        self.x_test = feature_matrix(self.split.x_test, s["features"])
        self.t_train = self.objective.prepare(self.split.y_train)
        self.t_test = self.objective.prepare(self.split.y_test)

    def _optimizer(self):
        s = self.settings
        return build_optimizer(s["optimizer"], self.net.parameters(), s["lr"],
                               **{k: s[k] for k in OPTIMIZER_KEYS})

    def reset(self) -> None:
        """New weights (from this session's generator), a fresh optimiser, step 0."""
        s = self.settings
        self.net = PlaygroundNet(len(s["features"]), s["hidden"], self.objective.out_features,
                                 s["activation"], s["dropout"], s["batch_norm"], self.rng)
        self.optimizer = self._optimizer()
        self.step_count = 0
        self.epoch = 0
        self._order = np.zeros(0, dtype=np.int64)
        self.history = []
        self.grad_norms = [0.0] * len(self.net.linears)
        self.directions = None
        self.message = None

    def configure(self, update: dict) -> bool:
        """Apply checked changes of settings; returns True when the network was rebuilt.

        Raises:
            config.ParameterError: for a bad value; the session is then unchanged.
        """
        new = validate_settings(update, self.settings)
        changed = {k for k in new if new[k] != self.settings[k]}
        old = self.settings
        self.settings = new
        if changed & (DATA_KEYS | SHAPE_KEYS):
            self._make_data()  # the same seed gives the same points
            self.reset()
            return True
        if "activation" in changed:
            self.net.set_activation(new["activation"])
        if "dropout" in changed:
            self.net.dropout.p = new["dropout"]
        if "loss" in changed:
            self.objective = Objective(new["loss"], self.split.classes)
            self.t_train = self.objective.prepare(self.split.y_train)
            self.t_test = self.objective.prepare(self.split.y_test)
        if new["optimizer"] != old["optimizer"]:
            self.optimizer = self._optimizer()
        else:
            update_hyperparameters(self.optimizer, new["optimizer"], new["lr"],
                                   **{k: new[k] for k in OPTIMIZER_KEYS})
        if changed - {"steps_per_frame"}:
            self.message = None
        return False

    # ---- training ----------------------------------------------------------------------------
    def _batch(self) -> np.ndarray:
        """The next mini-batch of training indices: a new permutation every epoch."""
        n = len(self.x_train)
        size = min(self.settings["batch_size"], n)
        if len(self._order) < size or (self.settings["batch_norm"] and len(self._order) < 2):
            if self.step_count > 0:
                self.epoch += 1
            self._order = self.rng.permutation(n)
        batch, self._order = self._order[:size], self._order[size:]
        return batch

    def _objective(self, logits, target):
        """The training loss: data loss + l1 ||W||_1 + l2 ||W||_2^2 over the weights W."""
        s = self.settings
        loss = self.objective(logits, target)
        weights = [lin.weight for lin in self.net.linears]
        if s["l1"] > 0:
            loss = loss + s["l1"] * nn.l1_penalty(weights)
        if s["l2"] > 0:
            loss = loss + s["l2"] * nn.l2_penalty(weights)
        return loss

    def step(self) -> bool:
        """One mini-batch update: zero_grad, loss, backward, step. False when it diverged."""
        idx = self._batch()
        target = self.objective.prepare(self.split.y_train[idx])
        self.net.train()
        self.optimizer.zero_grad()
        loss = self._objective(self.net(cr.tensor(self.x_train[idx])), target)
        if not np.isfinite(loss.item()):
            self.running = False
            self.message = DIVERGED
            return False
        loss.backward()
        self.grad_norms = [float(np.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2)
                                                   .sum()) for p in lin.parameters()
                                             if p.grad is not None)))
                           for lin in self.net.linears]
        self.optimizer.step()
        self.step_count += 1
        return True

    def train(self, steps: int, budget: float | None = None) -> int:
        """Up to ``steps`` updates, stopping early after ``budget`` seconds; returns the count."""
        start = time.perf_counter()
        done = 0
        with np.errstate(all="ignore"):
            while done < steps:
                if not self.step():
                    break
                done += 1
                if budget is not None and time.perf_counter() - start > budget:
                    break
        return done

    def advance(self, budget: float = 0.08) -> dict:
        """One frame of a running session: ``steps_per_frame`` steps (at most ``budget``
        seconds), then the frame."""
        self.train(self.settings["steps_per_frame"], budget)
        return self.frame()

    # ---- what the page sees ------------------------------------------------------------------
    def evaluate(self) -> dict:
        """Data loss (without the penalty) and accuracy on the training and test points."""
        out = {}
        with analysis.preserved(self.net, train_mode=False, parameters=False), cr.no_grad(), \
                np.errstate(all="ignore"):
            for part, x, t, y in (("train", self.x_train, self.t_train, self.split.y_train),
                                  ("test", self.x_test, self.t_test, self.split.y_test)):
                logits = self.net(cr.tensor(x))
                out[f"{part}_loss"] = float(self.objective(logits, t).item())
                out[f"{part}_accuracy"] = float((self.objective.predictions(logits) == y).mean())
        return out

    def _record(self, scores: dict) -> None:
        point = [self.step_count, scores["train_loss"], scores["test_loss"]]
        if self.history and self.history[-1][0] == self.step_count:
            self.history[-1] = point
        else:
            self.history.append(point)
        if len(self.history) > MAX_HISTORY:  # thin out, keeping the first and the last point
            self.history = self.history[:-1:2] + [self.history[-1]]

    def frame(self) -> dict:
        """Everything the network tab draws: losses, curves, pictures, weights, gradients."""
        scores = self.evaluate()
        self._record(scores)
        with np.errstate(all="ignore"):
            view = network_view(self.net, self.settings["features"], self.objective)
        return {"type": "frame", "step": self.step_count, "epoch": self.epoch,
                "running": self.running, **scores, "history": self.history, "view": view,
                "grad_norms": self.grad_norms, "message": self.message,
                "parameters": sum(int(np.prod(p.shape)) for p in self.net.parameters())}

    def data(self) -> dict:
        """The points: [x1, x2, class] for training and test, and the number of classes."""
        def rows(x, y):
            return np.round(np.column_stack([x, y]), 3).tolist()

        return {"type": "data", "classes": self.split.classes,
                "train": rows(self.split.x_train, self.split.y_train),
                "test": rows(self.split.x_test, self.split.y_test)}

    # ---- on demand ---------------------------------------------------------------------------
    def _seed(self) -> int:
        return int(self.rng.integers(2**31))

    def hessian(self, k: int = 3) -> dict:
        """The k largest and the smallest eigenvalue of the Hessian of the training data loss.

        ``cr.analysis.hessian_eigenvalues`` (Lanczos with SciPy, else power iteration) on
        Hessian-vector products; a negative smallest eigenvalue means a saddle, not a minimum.
        """
        method = "lanczos" if importlib.util.find_spec("scipy") else "power"
        n = sum(int(np.prod(p.shape)) for p in self.net.parameters())
        data = (cr.tensor(self.x_train), self.t_train)
        start = time.perf_counter()
        largest = analysis.hessian_eigenvalues(self.net, self.objective, data, k=min(k, n),
                                               which="LA", method=method, seed=self._seed())
        smallest = analysis.hessian_eigenvalues(self.net, self.objective, data, k=1,
                                                which="SA", method=method, seed=self._seed())
        return {"type": "hessian", "largest": [float(v) for v in largest],
                "smallest": float(smallest[0]), "parameters": n, "step": self.step_count,
                "seconds": time.perf_counter() - start}

    def _directions(self):
        if self.directions is None:
            self.directions = analysis.random_directions(self.net, seed=self._seed())
        return self.directions

    def landscape(self, steps: int = 21, span: float = 1.0) -> dict:
        """The training loss on the plane theta + alpha d1 + beta d2 around the weights theta.

        ``cr.analysis.loss_landscape_2d`` along this session's two random filter-normalised
        directions (kept until the network is rebuilt, and shared with the descent tab).
        """
        surface = analysis.loss_landscape_2d(
            self.net, self.objective, (cr.tensor(self.x_train), self.t_train), steps=steps,
            span=(-span, span), directions=self._directions())
        return {"type": "landscape", "alphas": surface.alphas.tolist(),
                "betas": surface.betas.tolist(), "losses": surface.losses.tolist(),
                "step": self.step_count}

    def surface(self, span: float = 1.0) -> NetworkSurface:
        """The network's loss as a function of (alpha, beta), for the descent tab."""
        return NetworkSurface(self.net, self.objective, cr.tensor(self.x_train), self.t_train,
                              self._directions(), span)
