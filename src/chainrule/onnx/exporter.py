"""`export`: write a chainrule model as an ONNX file, with PyTorch's ``torch.onnx.export`` call.

The module tree is walked, not the autograd graph: every module is converted by the converter
registered for its type (:mod:`chainrule.onnx.registry`), containers and models by composing the
converters of their parts. The model is exported in evaluation mode (dropout off, batch norm on
its running statistics) and its modes are given back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib

from chainrule.autograd.mode import no_grad
from chainrule.io import atomic_write
from chainrule.onnx.value import Value
from chainrule.tensor import Tensor

MIN_OPSET = 14


def _graph_module():
    """:mod:`chainrule.onnx.graph`, or an ImportError that says how to install onnx."""
    try:
        importlib.import_module("onnx")
    except ImportError:
        raise ImportError("chainrule.onnx.export needs the onnx package: pip install "
                          "'chainrule[onnx]' (onnxruntime runs the exported file)") from None
    return importlib.import_module("chainrule.onnx.graph")


@contextlib.contextmanager
def _eval_mode(model):
    """Evaluation mode inside; every sub-module's own mode given back after."""
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    if modes:
        model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.__dict__["training"] = mode


def _dotted_names(model) -> dict:
    """``{id(obj): dotted name}`` of the model's sub-modules, parameters and buffers."""
    names = {}
    if hasattr(model, "named_modules"):
        for table in (model.named_modules(), model.named_parameters(), model.named_buffers()):
            for name, obj in table:
                names.setdefault(id(obj), name)
    return names


def _names(given, count: int, default: str, what: str) -> list:
    if given is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    given = list(given)
    if len(given) != count or len(set(given)) != count:
        raise ValueError(f"onnx.export: {what} must be {count} distinct names, got {given}")
    return given


def _flatten(outputs) -> list:
    """The output Values in order, nested tuples flattened and None (absent outputs) left out."""
    if outputs is None:
        return []
    if isinstance(outputs, Value):
        return [outputs]
    return [v for item in outputs for v in _flatten(item)]


def _dynamic(dynamic_axes, ranks: dict) -> dict:
    """``{name: {axis: label}}`` from PyTorch's forms ({name: {axis: label}} or {name: [axes]})."""
    result = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in ranks:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is not an input "
                             f"or output name ({', '.join(ranks)})")
        if not isinstance(axes, dict):
            axes = {axis: f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(axes)}
        checked = {}
        for axis, label in axes.items():
            if not -ranks[name] <= int(axis) < ranks[name]:
                raise ValueError(f"onnx.export: dynamic axis {axis} of {name!r} is out of range "
                                 f"for its {ranks[name]} dimensions")
            checked[int(axis) % ranks[name]] = str(label)
        result[name] = checked
    return result


def _shape(value: Value, axes: dict | None, unknown: bool) -> list:
    """The declared shape: labels on the dynamic axes; every axis unknown (None) for an output
    not in ``dynamic_axes`` when some input axis is dynamic (its size may follow the batch)."""
    if axes is None and unknown:
        return [None] * value.ndim
    return [(axes or {}).get(i, size) for i, size in enumerate(value.shape)]


def export(model, example_input, path, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17):
    """Export ``model`` to the ONNX file ``path``; ``torch.onnx.export``'s legacy call.

    The model runs once on ``example_input`` in evaluation mode (its modes are restored after);
    every module becomes ONNX nodes through the converter registered for its type, weights
    become initializers named after the parameters. Unsupported modules raise
    :class:`~chainrule.onnx.UnsupportedModuleError` naming the type and the supported ones.

    Args:
        model: a Module (or a fitted ``chainrule.models.Perceptron``).
        example_input: a Tensor, or a tuple of Tensors for a forward with several inputs
            (integer token indices for embeddings).
        path: the file to write (atomically: a temporary file renamed over it), or a binary
            file object.
        input_names: names of the graph inputs (default ``input``, or ``input_0``, ...).
        output_names: names of the graph outputs, the model's outputs flattened in order
            (default ``output``, or ``output_0``, ...).
        dynamic_axes: ``{name: {axis: label}}`` (or ``{name: [axes]}``) of axes whose size is
            free at run time, e.g. ``{"input": {0: "batch"}, "output": {0: "batch"}}``.
        opset_version: the ONNX opset, from 14 to what the installed onnx knows (default 17;
            LayerNormalization from 17, Gelu from 20).

    Returns:
        The ``onnx.ModelProto`` written (checked by ``onnx.checker``).

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> cr.onnx.export(model, cr.randn(1, 4), "mlp.onnx", input_names=["x"],
        ...                output_names=["logits"], dynamic_axes={"x": {0: "batch"},
        ...                                                       "logits": {0: "batch"}})
    """
    graph = _graph_module()
    import onnx

    latest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset_version) <= latest:
        raise ValueError(f"onnx.export: opset_version must be in [{MIN_OPSET}, {latest}], got "
                         f"{opset_version}")
    inputs = tuple(example_input) if isinstance(example_input, (tuple, list)) \
        else (example_input,)
    if not inputs or not all(isinstance(t, Tensor) for t in inputs):
        raise TypeError(f"onnx.export: example_input must be a Tensor or a tuple of Tensors, "
                        f"got {type(example_input).__name__}")
    input_names = _names(input_names, len(inputs), "input", "input_names")
    builder = graph.GraphBuilder(int(opset_version), _dotted_names(model))
    for name in input_names + list(output_names or []):
        builder.reserve(name)
    values = [Value(name, t) for name, t in zip(input_names, inputs)]
    with _eval_mode(model), no_grad():
        outputs = _flatten(builder.call(model, *values))
    if not outputs:
        raise ValueError(f"onnx.export: {type(model).__name__} returned no tensor")
    if output_names is None:
        output_names = [builder.fresh(n) for n in _names(None, len(outputs), "output", "")]
    output_names = _names(output_names, len(outputs), "output", "output_names")
    ranks = {v.name: v.ndim for v in values}
    ranks.update({name: v.ndim for name, v in zip(output_names, outputs)})
    axes = _dynamic(dynamic_axes, ranks)
    unknown = any(name in axes for name in input_names)
    graph_inputs = [graph.value_info(v.name, v.dtype, _shape(v, axes.get(v.name), False))
                    for v in values]
    graph_outputs = []
    for name, v in zip(output_names, outputs):  # each output named by an Identity node
        builder.nodes.append(onnx.helper.make_node("Identity", [v.name], [name],
                                                   name=builder.fresh(f"{name}/Identity")))
        graph_outputs.append(graph.value_info(name, v.dtype, _shape(v, axes.get(name), unknown)))
    proto = graph.make_model(builder, graph_inputs, graph_outputs, type(model).__name__)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if hasattr(path, "write"):
        path.write(data)
    else:
        atomic_write(str(path), data)
    return proto
