"""Every value that comes from the page is checked here, in one place.

The page sends settings (the network tab's controls), races (the descent tab) and expressions
(the graph tab) as JSON. Each entry point below turns such a message into clean Python values or
raises :class:`ParameterError` with a sentence for the page ("learning rate must be > 0, got
-1"); the server never sees an unchecked value and never answers a bad one with a server error.

The same tables give the page its choices, defaults and limits (:func:`options`), so the
controls and the checks cannot drift apart.

Example:
    >>> settings = validate_settings({"lr": "0.1", "hidden": [8, 8]}, DEFAULTS)
    >>> settings["lr"], settings["hidden"]
    (0.1, [8, 8])
    >>> validate_settings({"lr": -1}, DEFAULTS)
    Traceback (most recent call last):
    ParameterError: learning rate must be > 0, got -1
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DATASETS = ("xor", "circles", "moons", "spirals", "blobs", "gaussians")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")
ACTIVATIONS = ("identity", "step", "sign", "piecewise_linear", "sigmoid", "tanh", "relu",
               "leaky_relu", "elu", "gelu", "softplus", "logsigmoid", "softmax", "log_softmax")
LOSSES = ("cross_entropy", "mse", "hinge")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")
SURFACES = ("bowl", "elongated", "saddle", "rosenbrock", "beale", "network")

MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_RACE_STEPS = 2000
MAX_EXPRESSION = 200
MAX_LEAF_VALUE = 1e6
MAX_LEAVES = 20


class ParameterError(ValueError):
    """A value from the page that cannot be used; its message is shown on the page as is."""


@dataclass(frozen=True)
class Number:
    """A number setting: ``low <= value <= high`` (``open_low``: ``low < value``)."""

    label: str
    kind: type
    low: float
    high: float
    open_low: bool = False

    def check(self, raw):
        """The number (``kind``) that ``raw`` (a number or numeric text) stands for."""
        if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
            raise ParameterError(f"{self.label} must be a number, got {_show(raw)}")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.label} must be a number, got {_show(raw)}") from None
        if not math.isfinite(value):
            raise ParameterError(f"{self.label} must be a finite number, got {_show(raw)}")
        if self.kind is int:
            if value != int(value):
                raise ParameterError(f"{self.label} must be a whole number, got {_fmt(value)}")
            value = int(value)
        too_low = value <= self.low if self.open_low else value < self.low
        if too_low:
            bound = f"> {_fmt(self.low)}" if self.open_low else f">= {_fmt(self.low)}"
            raise ParameterError(f"{self.label} must be {bound}, got {_fmt(value)}")
        if value > self.high:
            raise ParameterError(f"{self.label} must be <= {_fmt(self.high)}, got {_fmt(value)}")
        return value


@dataclass(frozen=True)
class Choice:
    """One name out of ``choices``."""

    label: str
    choices: tuple

    def check(self, raw):
        """``raw`` itself, when it is one of ``choices``."""
        if not isinstance(raw, str) or raw not in self.choices:
            raise ParameterError(f"unknown {self.label} {_show(raw)}; choose one of: "
                                 f"{', '.join(self.choices)}")
        return raw


@dataclass(frozen=True)
class Flag:
    """True or False."""

    label: str

    def check(self, raw):
        """``raw`` itself, when it is a JSON boolean."""
        if not isinstance(raw, bool):
            raise ParameterError(f"{self.label} must be true or false, got {_show(raw)}")
        return raw


@dataclass(frozen=True)
class Features:
    """A non-empty list of distinct input features."""

    label: str = "input features"

    def check(self, raw):
        """The features of ``raw`` in the order of FEATURES."""
        if not isinstance(raw, (list, tuple)) or not raw:
            raise ParameterError("choose at least one input feature")
        for name in raw:
            if name not in FEATURES:
                raise ParameterError(f"unknown input feature {_show(name)}; choose from: "
                                     f"{', '.join(FEATURES)}")
        if len(set(raw)) != len(raw):
            raise ParameterError("an input feature is listed twice")
        return [f for f in FEATURES if f in raw]  # the canonical order


@dataclass(frozen=True)
class Layers:
    """Hidden layer sizes: at most MAX_LAYERS layers of 1 to MAX_NEURONS neurons."""

    label: str = "hidden layers"

    def check(self, raw):
        """The list of layer sizes, each an int in [1, MAX_NEURONS]."""
        if not isinstance(raw, (list, tuple)):
            raise ParameterError(f"hidden layers must be a list of sizes, got {_show(raw)}")
        if len(raw) > MAX_LAYERS:
            raise ParameterError(f"at most {MAX_LAYERS} hidden layers, got {len(raw)}")
        size = Number("neurons per layer", int, 1, MAX_NEURONS)
        return [size.check(n) for n in raw]


SETTINGS = {
    "dataset": Choice("dataset", DATASETS),
    "noise": Number("noise", float, 0.0, 1.0),
    "train_ratio": Number("training share", float, 0.1, 0.9),
    "n_samples": Number("number of points", int, 20, 2000),
    "seed": Number("seed", int, 0, 2**31 - 1),
    "features": Features(),
    "hidden": Layers(),
    "activation": Choice("activation", ACTIVATIONS),
    "loss": Choice("loss", LOSSES),
    "optimizer": Choice("optimiser", OPTIMIZERS),
    "lr": Number("learning rate", float, 0.0, 10.0, open_low=True),
    "momentum": Number("momentum", float, 0.0, 0.999),
    "alpha": Number("RMSprop smoothing alpha", float, 0.0, 0.9999),
    "rho": Number("Adadelta rho", float, 0.0, 0.9999),
    "beta1": Number("Adam beta1", float, 0.0, 0.9999),
    "beta2": Number("Adam beta2", float, 0.0, 0.99999),
    "batch_size": Number("batch size", int, 1, 2000),
    "l1": Number("L1 rate", float, 0.0, 1.0),
    "l2": Number("L2 rate", float, 0.0, 1.0),
    "dropout": Number("dropout", float, 0.0, 0.9),
    "batch_norm": Flag("batch norm"),
    "steps_per_frame": Number("steps per frame", int, 1, 1000),
}

DEFAULTS = {
    "dataset": "xor", "noise": 0.0, "train_ratio": 0.5, "n_samples": 400, "seed": 0,
    "features": ["x1", "x2"], "hidden": [4, 4], "activation": "tanh", "loss": "cross_entropy",
    "optimizer": "adam", "lr": 0.03, "momentum": 0.9, "alpha": 0.99, "rho": 0.9, "beta1": 0.9,
    "beta2": 0.999, "batch_size": 10, "l1": 0.0, "l2": 0.0, "dropout": 0.0, "batch_norm": False,
    "steps_per_frame": 10,
}


def _show(raw) -> str:
    text = repr(raw) if isinstance(raw, str) else ("null" if raw is None else str(raw))
    return text if len(text) <= 40 else text[:37] + "..."


def _fmt(x) -> str:
    return f"{x:g}"


def _mapping(raw, what) -> dict:
    if not isinstance(raw, dict):
        raise ParameterError(f"{what} must be a JSON object, got {_show(raw)}")
    return raw


def validate_settings(update, current: dict) -> dict:
    """The network settings ``current`` with the entries of ``update`` checked and applied.

    Every key of ``update`` must be a known setting; the result is a new dict (``current`` is
    left as it was), so a rejected update changes nothing.

    Raises:
        ParameterError: naming the first bad setting and what it must be.
    """
    update = _mapping(update, "settings")
    result = dict(current)
    for key, raw in update.items():
        if key not in SETTINGS:
            raise ParameterError(f"unknown setting {_show(key)}")
        result[key] = SETTINGS[key].check(raw)
    if result["optimizer"] == "nesterov" and result["momentum"] <= 0:
        raise ParameterError("Nesterov momentum needs a momentum > 0")
    if result["batch_norm"] and result["batch_size"] < 2:
        raise ParameterError("batch norm needs a batch size of at least 2 (it normalises with "
                             "the batch's mean and variance)")
    return result


def validate_race(message) -> dict:
    """A descent-tab race: surface, start point, steps and {optimiser: learning rate}.

    Returns:
        {"surface": str, "start": (x, y) or None, "steps": int, "optimizers": {name: lr}}.
    """
    message = _mapping(message, "race")
    surface = Choice("surface", SURFACES).check(message.get("surface"))
    start = message.get("start")
    if start is not None:
        if not isinstance(start, (list, tuple)) or len(start) != 2:
            raise ParameterError(f"start must be a point [x, y], got {_show(start)}")
        coordinate = Number("start coordinate", float, -1e3, 1e3)
        start = tuple(coordinate.check(v) for v in start)
    steps = Number("steps", int, 1, MAX_RACE_STEPS).check(message.get("steps", 200))
    racers = _mapping(message.get("optimizers", {}), "optimisers")
    lr = Number("learning rate", float, 0.0, 100.0, open_low=True)
    optimizers = {Choice("optimiser", OPTIMIZERS).check(name): lr.check(value)
                  for name, value in racers.items()}
    return {"surface": surface, "start": start, "steps": steps, "optimizers": optimizers}


def validate_surface(message) -> str:
    """The name of a descent-tab surface."""
    return Choice("surface", SURFACES).check(_mapping(message, "surface").get("surface"))


def validate_graph(message) -> tuple:
    """A graph-tab request: the expression text and the leaf values {name: float}.

    The expression's content is checked by the parser (:mod:`chainrule.playground.graph`);
    here only its type and length.
    """
    message = _mapping(message, "graph")
    expression = message.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise ParameterError("type an expression, e.g. ((a + b) * w - t) ** 2 + w ** 2")
    if len(expression) > MAX_EXPRESSION:
        raise ParameterError(f"the expression is too long: {len(expression)} characters, at "
                             f"most {MAX_EXPRESSION}")
    raw_values = _mapping(message.get("values", {}), "values")
    if len(raw_values) > MAX_LEAVES:
        raise ParameterError(f"at most {MAX_LEAVES} leaf values, got {len(raw_values)}")
    values = {}
    for name, raw in raw_values.items():
        label = f"the value of {_show(name)}"
        values[name] = Number(label, float, -MAX_LEAF_VALUE, MAX_LEAF_VALUE).check(raw)
    return expression, values


def validate_analysis(message) -> dict:
    """Options of the on-demand analyses: ``k`` eigenvalues, landscape ``steps`` and ``span``."""
    message = _mapping(message, "analysis")
    return {"k": Number("number of eigenvalues", int, 1, 10).check(message.get("k", 3)),
            "steps": Number("landscape steps", int, 5, 41).check(message.get("steps", 21)),
            "span": Number("landscape span", float, 0.0, 10.0, open_low=True)
            .check(message.get("span", 1.0))}


def options() -> dict:
    """The choices, defaults and limits the page builds its controls from."""
    return {"datasets": list(DATASETS), "features": list(FEATURES),
            "activations": list(ACTIVATIONS), "losses": list(LOSSES),
            "optimizers": list(OPTIMIZERS), "surfaces": list(SURFACES),
            "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
            "max_race_steps": MAX_RACE_STEPS, "max_expression": MAX_EXPRESSION,
            "defaults": dict(DEFAULTS)}
