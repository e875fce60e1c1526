"""The table of converters: module type -> function that emits its ONNX nodes.

A converter is ``fn(g, module, *inputs) -> names``: it adds nodes to the graph builder ``g`` for
``module`` applied to the :class:`~chainrule.onnx.graph.Value`\\ s ``inputs``, and returns the
ONNX names of the outputs, nested as the module's ``forward`` nests its outputs (one name, or a
tuple such as ``(output, (h_n, c_n))`` for an LSTM). Adding a layer is one function::

    @register(nn.ReLU)
    def relu(g, module, x):
        return g.op("Relu", x)

A module uses the converter of its own type or, when it does not override ``forward``, of the
nearest base class that has one (``MLP`` is a ``Sequential``); any other module raises
:class:`UnsupportedModuleError`, never a silently wrong graph.
"""

from __future__ import annotations

import importlib

CONVERTERS: dict = {}
_BUILTIN = ("layers", "activations", "conv", "normalization", "recurrent", "attention",
            "transformer", "models")
_loaded = False


class UnsupportedModuleError(NotImplementedError, ValueError):
    """A module (layer or model) that :func:`chainrule.onnx.export` cannot convert.

    Both a ``NotImplementedError`` and a ``ValueError``, so either ``except`` catches it.
    """


def _forward(module, *inputs):
    return module(*inputs)


def register(*types, reference=None):
    """Decorator: register ``fn(g, module, *inputs) -> names`` as the converter of ``types``.

    Args:
        types: the module classes it converts.
        reference: ``reference(module, *tensors)``, chainrule's output for the example inputs
            (default: ``module(*tensors)``; needed for models that are not Modules).
    """

    def decorate(fn):
        for cls in types:
            CONVERTERS[cls] = (fn, reference or _forward)
        return fn

    return decorate


def _load() -> None:
    """Import the built-in converters (they register themselves)."""
    global _loaded
    if not _loaded:
        _loaded = True
        users = dict(CONVERTERS)  # registered before the built-in ones load: theirs win
        for name in _BUILTIN:
            importlib.import_module(f"chainrule.onnx.{name}")
        CONVERTERS.update(users)


def supported_modules() -> list:
    """The names of the module types with an ONNX conversion, sorted."""
    _load()
    return sorted({cls.__name__ for cls in CONVERTERS})


def _own_methods(cls) -> list:
    """The functions ``cls`` defines itself, apart from construction and description."""
    return [name for name, value in vars(cls).items() if callable(value)
            and not isinstance(value, type) and name not in ("__init__", "extra_repr")]


def find(module, where: str = "") -> tuple:
    """The ``(converter, reference)`` of ``module``, or :class:`UnsupportedModuleError`.

    The converter of a base class applies only to a subclass that adds no method of its own
    between them (``__init__`` and ``extra_repr`` aside): one that overrides ``forward`` or a
    helper ``forward`` calls may compute something else, and must register its own.
    """
    _load()
    cls = type(module)
    if cls in CONVERTERS:
        return CONVERTERS[cls]
    for i, base in enumerate(cls.__mro__[1:], 1):
        if base in CONVERTERS:
            if not any(_own_methods(k) for k in cls.__mro__[:i]):
                return CONVERTERS[base]
            break
    place = f" (at {where!r})" if where else ""
    raise UnsupportedModuleError(
        f"onnx.export: {cls.__name__}{place} has no ONNX conversion; supported modules: "
        f"{', '.join(supported_modules())} (register a converter with "
        "chainrule.onnx.register)")
