"""A model summary: each layer, its output shape and its parameter count, with totals.

A layer y = W x + b from n inputs to m neurons has (n + 1) m parameters (n + 1 per neuron); a
network's total is the sum over its layers. The shorter descriptions of a Module, its ``repr``
and :meth:`~chainrule.nn.Module.num_parameters`, are here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.autograd.mode import no_grad
from chainrule.creation import zeros


@dataclass
class LayerRow:
    """One line of a summary: a module's dotted name, type, output shape and own parameters."""

    name: str
    type: str
    output_shape: tuple | None
    num_params: int
    trainable: bool


@dataclass
class ModelSummary:
    """The numbers a summary shows; ``str(summary)`` is the printed table."""

    model_name: str
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    input_shape: tuple | None = None

    def __str__(self) -> str:
        headers = ("Layer (type)", "Output Shape", "Param #")
        body = [(f"{r.name} ({r.type})", "-" if r.output_shape is None else
                 str(tuple(r.output_shape)), f"{r.num_params:,}") for r in self.rows]
        widths = [max([len(h)] + [len(row[i]) for row in body]) + 2 for i, h in
                  enumerate(headers)]
        line = "=" * sum(widths)

        def fmt(cells):
            return "".join(c.ljust(w) if i < 2 else c.rjust(w - 2) for i, (c, w) in
                           enumerate(zip(cells, widths))).rstrip()

        out = [f"{self.model_name}" + ("" if self.input_shape is None else
                                       f"  (input shape {tuple(self.input_shape)})"),
               line, fmt(headers), line]
        out += [fmt(row) for row in body]
        out += [line, f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}", line]
        return "\n".join(out)


def summary(model, input_shape=None, dtype=None, print_fn=print) -> ModelSummary:
    """Describe ``model`` layer by layer and return the numbers.

    Each row is a module with parameters of its own or no sub-modules (the layers), with the
    shape of its output for an input of ``input_shape`` (found by one forward pass in
    ``eval()`` mode under ``no_grad``; the model's mode is restored) and the number of scalar
    parameters it owns. Trainable parameters are those with ``requires_grad``; buffers (e.g.
    batch-norm running statistics) are not parameters and are not counted.

    Args:
        model: the Module to describe.
        input_shape: the full shape of an input batch, e.g. ``(1, 784)``; None skips the
            forward pass (output shapes are then shown as "-").
        dtype: the input's dtype (float32 by default; int64 for embedding inputs).
        print_fn: called with the table (None prints nothing).

    Returns:
        A :class:`ModelSummary` with ``rows``, ``total_params``, ``trainable_params`` and
        ``non_trainable_params``.

    Example:
        >>> s = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).summary((1, 3))
        >>> s.total_params                 # (3 + 1) * 4 + (4 + 1) * 1
        21
    """
    shapes = {}
    handles = []
    layers = [(name, m) for name, m in model.named_modules()
              if not m._modules or any(p is not None for p in m._parameters.values())]
    if input_shape is not None:
        for name, m in layers:
            def hook(module, inputs, output, name=name):
                shapes[name] = getattr(output, "shape", None) if not isinstance(
                    output, tuple) else getattr(output[0], "shape", None)

            handles.append(m.register_forward_hook(hook))
        modes = {id(m): m.training for m in model.modules()}
        try:
            model.eval()
            with no_grad():
                model(zeros(tuple(input_shape), dtype=dtype or np.float32))
        finally:
            for h in handles:
                h.remove()
            for m in model.modules():
                m.__dict__["training"] = modes[id(m)]
    result = ModelSummary(type(model).__name__,
                          input_shape=None if input_shape is None else tuple(input_shape))
    seen = set()
    for name, m in layers:
        own = [p for p in m._parameters.values() if p is not None and id(p) not in seen]
        seen.update(id(p) for p in own)
        n = int(sum(p.data.size for p in own))
        result.rows.append(LayerRow(name or type(m).__name__, type(m).__name__,
                                    shapes.get(name), n, all(p.requires_grad for p in own)))
    params = list(model.parameters())
    result.total_params = int(sum(p.data.size for p in params))
    result.trainable_params = int(sum(p.data.size for p in params if p.requires_grad))
    result.non_trainable_params = result.total_params - result.trainable_params
    if print_fn is not None:
        print_fn(str(result))
    return result


def count_parameters(model, trainable_only: bool = False) -> int:
    """The number of scalar parameters of ``model`` (each shared parameter counted once), only
    those with ``requires_grad`` if ``trainable_only``: :meth:`Module.num_parameters`."""
    return int(sum(p.data.size for p in model.parameters()
                   if p.requires_grad or not trainable_only))


def module_repr(model) -> str:
    """``repr(model)``: its type and ``extra_repr()``, then each child's repr, indented.

    Example:
        >>> print(nn.Sequential(nn.Linear(3, 4), nn.Tanh()))
        Sequential(
          (0): Linear(in_features=3, out_features=4, bias=True)
          (1): Tanh()
        )
    """
    lines = []
    for name, m in model._modules.items():
        child = repr(m).replace("\n", "\n  ")
        lines.append(f"  ({name}): {child}")
    extra = model.extra_repr()
    if not lines:
        return f"{type(model).__name__}({extra})"
    head = f"{type(model).__name__}(" + (f"\n  {extra}" if extra else "")
    return head + "\n" + "\n".join(lines) + "\n)"
