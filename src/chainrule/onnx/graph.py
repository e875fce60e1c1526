"""The graph builder: ONNX nodes and initializers, named after the modules that make them.

A converter receives a :class:`GraphBuilder` ``g`` and the :class:`Value`\\ s of its inputs, and
adds nodes with ``g.op("Relu", x)``; weights become initializers with ``g.param(tensor)``,
named after the parameter (``features.0.weight``), and constants with ``g.const`` /
``g.scalar`` / ``g.ints``. Each :class:`Value` pairs an ONNX name with chainrule's own output
for the example input, so converters know ranks, shapes and dtypes without shape inference;
``g.call(module, *values)`` converts a sub-module and returns its outputs as Values.

Converters never import ``onnx``: this module, imported by :func:`chainrule.onnx.export` when
it runs, is the one that does (so ``import chainrule.onnx`` works without it).
"""

from __future__ import annotations

import contextlib

import numpy as np

import onnx
from chainrule.autograd.mode import no_grad
from chainrule.onnx import registry
from chainrule.onnx.value import Value
from chainrule.tensor import Tensor


def onnx_dtype(dtype) -> int:
    """The ONNX element type (``onnx.TensorProto.FLOAT``, ...) of a NumPy dtype."""
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _name(x) -> str:
    return x.name if isinstance(x, Value) else x


class GraphBuilder:
    """Collects the nodes and initializers of one exported graph.

    Args:
        opset: the ONNX opset version of the default domain.
        names: ``{id(tensor or module): dotted name}`` of the model's parameters, buffers and
            sub-modules, for readable initializer and node names.
    """

    def __init__(self, opset: int, names: dict):
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._names = names
        self._taken: set = set()
        self._params: dict = {}
        self._consts: dict = {}
        self._scope: list = []

    # ---- names ---------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A name not used yet in the graph: ``hint``, or ``hint_1``, ``hint_2``, ..."""
        name, k = hint, 0
        while name in self._taken:
            k += 1
            name = f"{hint}_{k}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        """Mark a graph input or output name as used."""
        if name in self._taken:
            raise ValueError(f"onnx.export: the name {name!r} is given twice in input_names and "
                             "output_names")
        self._taken.add(name)

    @contextlib.contextmanager
    def scope(self, module):
        """Name the nodes made inside after ``module`` (its dotted path in the model)."""
        self._scope.append(self._names.get(id(module)) or type(module).__name__)
        try:
            yield
        finally:
            self._scope.pop()

    def name_of(self, obj, default: str = "") -> str:
        """The dotted name of a parameter, buffer or sub-module of the model (or ``default``)."""
        return self._names.get(id(obj)) or default

    def _prefix(self) -> str:
        parts = [s for s in self._scope if s]
        return (parts[-1] + "/") if parts else ""

    # ---- nodes ---------------------------------------------------------------------------------
    def op(self, op_type: str, *inputs, outputs: int = 1, **attributes):
        """Add one node; returns its output name (a tuple of names when ``outputs`` > 1).

        ``inputs`` are Values, names, or None for an omitted optional input.
        """
        node_name = self.fresh(f"{self._prefix()}{op_type}")
        names = tuple(self.fresh(f"{node_name}_output_{i}") for i in range(outputs))
        ins = ["" if x is None else _name(x) for x in inputs]
        while ins and not ins[-1]:
            ins.pop()  # omitted optional inputs at the end are left out
        self.nodes.append(onnx.helper.make_node(op_type, ins, list(names), name=node_name,
                                                **attributes))
        return names[0] if outputs == 1 else names

    def call(self, module, *inputs: Value):
        """Convert ``module`` applied to ``inputs``; its outputs as Values (nested like its
        forward's: a Value, a tuple of them, or None)."""
        convert, reference = registry.find(module, self._names.get(id(module), ""))
        with self.scope(module):
            names = convert(self, module, *inputs)
        with no_grad():
            expected = reference(module, *[v.tensor for v in inputs])
        return _pair(names, expected, type(module).__name__)

    # ---- constants -------------------------------------------------------------------------------
    def const(self, array, hint: str = "const") -> str:
        """An initializer holding ``array`` (equal arrays share one initializer)."""
        array = np.asarray(array)  # NOTE: not ascontiguousarray, which makes 0-d arrays 1-d
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            name = self.fresh(hint)
            self.initializers.append(onnx.numpy_helper.from_array(array, name))
            self._consts[key] = name
        return self._consts[key]

    def scalar(self, value, like) -> str:
        """A 0-d constant of the dtype of ``like`` (a Value or a dtype), for broadcasting."""
        dtype = like.dtype if isinstance(like, Value) else np.dtype(like)
        return self.const(np.array(value, dtype=dtype), "scalar")

    def ints(self, values) -> str:
        """A 1-D int64 constant: shapes, axes, starts and ends of Reshape, Slice, ..."""
        return self.const(np.array(list(values), dtype=np.int64), "ints")

    def param(self, tensor, transform=None, tag: str = "") -> str:
        """The initializer of a parameter or buffer, named after it (``rnn.weight_ih_l0``).

        Args:
            tensor: the chainrule Tensor.
            transform: a function of its NumPy array giving the stored array (a transpose, a
                gate reordering); ``tag`` then names it and tells transformed copies apart.
        """
        key = (id(tensor), tag)
        if key not in self._params:
            array = np.asarray(tensor.numpy())
            if transform is not None:
                array = np.asarray(transform(array))
            base = self._names.get(id(tensor)) or "param"
            name = self.fresh(f"{base}.{tag}" if tag else base)
            self.initializers.append(onnx.numpy_helper.from_array(array, name))
            self._params[key] = name
        return self._params[key]

    def fill(self, shape, value, dtype) -> str:
        """A tensor of the run-time ``shape`` (a 1-D int64 name) filled with ``value``."""
        return self.op("ConstantOfShape", shape,
                       value=onnx.numpy_helper.from_array(np.array([value], dtype=dtype)))

    def cast(self, x, dtype) -> str:
        """``x`` converted to the NumPy ``dtype``: Cast."""
        return self.op("Cast", x, to=onnx_dtype(dtype))

    # ---- helpers whose form depends on the opset -----------------------------------------------
    def reduce_mean(self, x, axes, keepdims: int = 1) -> str:
        """ReduceMean over ``axes`` (an input from opset 18, an attribute before)."""
        if self.opset >= 18:
            return self.op("ReduceMean", x, self.ints(axes), keepdims=keepdims)
        return self.op("ReduceMean", x, axes=list(axes), keepdims=keepdims)

    def dim(self, x, axis: int) -> str:
        """The size of axis ``axis`` of ``x`` at run time, as a 1-D int64 tensor of one entry."""
        return self.op("Gather", self.op("Shape", x), self.ints([axis]), axis=0)


def _pair(names, expected, what: str):
    """Pair the converter's output names with chainrule's outputs, structure for structure."""
    if expected is None:
        return None
    if isinstance(expected, Tensor):
        names = _name(names)
        if not isinstance(names, str):
            raise RuntimeError(f"onnx converter of {what} returned {names!r} for one tensor")
        return Value(names, expected)
    if isinstance(expected, (tuple, list)):
        if not isinstance(names, (tuple, list)) or len(names) != len(expected):
            raise RuntimeError(f"onnx converter of {what} returned {names!r} for "
                               f"{len(expected)} outputs")
        return tuple(_pair(n, e, what) for n, e in zip(names, expected))
    raise registry.UnsupportedModuleError(f"onnx.export: {what} returns a "
                                          f"{type(expected).__name__}, not Tensors")


def make_model(builder: GraphBuilder, inputs: list, outputs: list, name: str):
    """The ModelProto of the builder's graph, with the IR version that goes with its opset."""
    graph = onnx.helper.make_graph(builder.nodes, name, inputs, outputs, builder.initializers)
    return onnx.helper.make_model_gen_version(
        graph, opset_imports=[onnx.helper.make_opsetid("", builder.opset)],
        producer_name="chainrule")


def value_info(name: str, dtype, shape) -> onnx.ValueInfoProto:
    """A graph input or output: ``shape`` entries are ints or names of dynamic axes."""
    return onnx.helper.make_tensor_value_info(name, onnx_dtype(dtype), list(shape))
