"""`Optimizer`: the base class of every optimiser.

The base owns what all optimisers share: the parameter groups (each a dict of parameters and
hyper-parameters), the per-parameter state, the step count, ``zero_grad``, ``state_dict`` /
``load_state_dict`` and the validation of hyper-parameters. A concrete optimiser implements two
hooks, as in MLX:

- ``init_state(param, group) -> dict``: the state arrays of one parameter (moments, buffers),
  created the first time the parameter has a gradient;
- ``update(param, grad, state, group)``: the update of one parameter, in place on its array.

Both receive raw arrays (``Tensor.data`` and ``Tensor.grad.data``), so updates run outside the
graph, with NumPy in-place ufuncs that keep float32 parameters in float32.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import enable_grad
from chainrule.creation import from_numpy
from chainrule.tensor import Tensor

# Hyper-parameters checked for every group: key -> (name in the error message, lowest allowed
# value, highest allowed value, whether the highest value itself is allowed).
_BOUNDS = {
    "lr": ("learning rate", 0.0, math.inf, True),
    "momentum": ("momentum value", 0.0, math.inf, True),
    "dampening": ("dampening value", -math.inf, math.inf, True),
    "weight_decay": ("weight_decay value", 0.0, math.inf, True),
    "eps": ("epsilon value", 0.0, math.inf, True),
    "alpha": ("alpha value", 0.0, math.inf, True),
    "rho": ("rho value", 0.0, 1.0, True),
    "lr_decay": ("lr_decay value", 0.0, math.inf, True),
    "initial_accumulator_value": ("initial_accumulator_value value", 0.0, math.inf, True),
}
_FLAGS = ("nesterov", "maximize", "amsgrad", "centered")


def _check_number(label: str, value, low: float, high: float, high_inclusive: bool) -> float:
    """Return ``value`` as a float, or raise ``ValueError("Invalid <label>: <value>")``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {label}: {value!r}") from None
    above = number > high if high_inclusive else number >= high
    if not number >= low or above:  # `not >=` also rejects NaN
        raise ValueError(f"Invalid {label}: {value}")
    return number


class Optimizer:
    """Base class of optimisers: parameter groups, state, validation and serialisation.

    A step runs, for every parameter ``w`` of every group whose gradient ``g`` is not None,

        g <- -g                 if maximize
        g <- g + lambda w       (L2 weight decay, lambda = weight_decay; AdamW decouples it)
        state["step"] <- state["step"] + 1
        update(w, g, state, group)

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` (param
            groups); options missing from a group take the optimiser's defaults.
        defaults: the default hyper-parameters of every group.

    Example:
        >>> opt = cr.optim.SGD([{"params": [w1]}, {"params": [w2], "lr": 0.01}], lr=0.1)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    #: Set by optimisers that apply weight decay themselves (AdamW) instead of adding it to g.
    decoupled_weight_decay = False

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- the two hooks ----------------------------------------------------------------------
    def init_state(self, param, group: dict) -> dict:
        """Return the initial state (arrays shaped like ``param``) of one parameter."""
        return {}

    def update(self, param, grad, state: dict, group: dict) -> None:  # pragma: no cover
        """Update the array ``param`` in place from its gradient ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    # ---- stepping -----------------------------------------------------------------------------
    def step(self, closure=None):
        """Update every parameter that has a gradient; parameters whose grad is None are skipped.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss (it is
                called with gradients enabled before the update).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        coupled = not self.decoupled_weight_decay
        for group in self.param_groups:
            maximize = group.get("maximize", False)
            weight_decay = group.get("weight_decay", 0.0) if coupled else 0.0
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                param, g = p.data, grad.data
                if maximize:
                    g = -g
                if weight_decay:
                    g = g + weight_decay * param  # a new array: p.grad is never modified
                s = state.get(p)
                if s is None:
                    s = state[p] = {"step": 0, **self.init_state(param, group)}
                s["step"] += 1
                self.update(param, g, s, group)
                p._version += 1  # the array changed in place: graphs that saved it are stale
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                elif p.grad._node is not None:  # a gradient with a graph (create_graph=True)
                    p.grad = from_numpy(np.zeros_like(p.grad.data))
                else:
                    p.grad.data[...] = 0

    # ---- parameter groups and validation ------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. a layer to fine-tune).

        Raises:
            TypeError: a parameter is not a floating-point Tensor, or the parameters are a set.
            ValueError: a parameter is not a leaf, appears twice, or a hyper-parameter is out of
                its range.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organised in ordered collections, "
                            "but the order of tensors in sets changes between runs; use a list")
        else:
            params = list(params)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if p.dtype.kind not in "fc":
                raise TypeError(f"optimizer can only optimize floating-point Tensors, got dtype "
                                f"{p.dtype} (shape {p.shape})")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (shape {p.shape}); use "
                                 "x.detach().requires_grad_() to make a leaf")
            if id(p) in seen:
                raise ValueError(f"a parameter (shape {p.shape}) appears more than once in the "
                                 "optimizer's parameter groups")
            seen.add(id(p))
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyper-parameters in place (converted to float and bool).

        Subclasses with extra rules (SGD's Nesterov condition) extend this and call super().
        """
        for key, (label, low, high, inclusive) in _BOUNDS.items():
            if key in group:
                group[key] = _check_number(label, group[key], low, high, inclusive)
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
            group["betas"] = tuple(_check_number(f"beta parameter at index {i}", b, 0.0, 1.0,
                                                 False) for i, b in enumerate(betas))
        for key in _FLAGS:
            if key in group:
                group[key] = bool(group[key])

    # ---- serialisation ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimiser's state, with parameters referred to by their index, as in PyTorch.

        Returns:
            ``{"state": {index: {"step": int, name: ndarray, ...}},
            "param_groups": [{hyper-parameters..., "params": [indices]}]}``; arrays are NumPy
            copies, so the dict is a snapshot that later steps do not change.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: _export(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state returned by :meth:`state_dict` (a copy is taken).

        Accepts the indices of ``state`` as ints or strings (as JSON gives them back) and
        betas as lists. Arrays are cast to each parameter's dtype and device.

        Raises:
            ValueError: the groups differ in number or size, an index is unknown, or an array's
                shape differs from its parameter's.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        by_index = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has "
                                 f"{len(saved['params'])} parameters, the optimizer's has "
                                 f"{len(group['params'])}")
            by_index.update(zip((int(k) for k in saved["params"]), group["params"]))
        new_state = {}
        for key, saved in state_dict["state"].items():
            if int(key) not in by_index:
                raise ValueError(f"loaded state dict has state for parameter index {key}, which "
                                 "no parameter group refers to")
            p = by_index[int(key)]
            new_state[p] = {k: _import(v, p, k, key) for k, v in saved.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new_group = {**group, **{k: v for k, v in saved.items() if k != "params"}}
            new_group["params"] = group["params"]
            self._check_group(new_group)
            new_groups.append(new_group)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def _export(value):
    """A snapshot of one state value: NumPy copies of arrays, Python numbers as they are."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.array(backend.to_numpy(value), copy=True)
    return value


def _import(value, param: Tensor, name: str, index):
    """One state value for ``param``: arrays copied to its dtype and device, steps as ints."""
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if hasattr(value, "shape") and value.ndim == 0 and (name == "step" or param.ndim):
        value = value.item()  # a number saved as a 0-d array (a 0-d parameter's buffers stay)
    if not hasattr(value, "shape"):
        if name == "step":
            return int(value)
        return value
    if tuple(value.shape) != tuple(param.shape):
        raise ValueError(f"loaded state dict: state {name!r} of parameter {index} has shape "
                         f"{tuple(value.shape)}, the parameter has shape {tuple(param.shape)}")
    xp = backend.namespace(param.data)
    return xp.array(backend.to_numpy(value) if xp is np else value, dtype=param.dtype)
