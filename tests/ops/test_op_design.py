"""The one way to write an op (CONTRIBUTING.md), checked on the source of chainrule.ops."""

from __future__ import annotations

import ast
from pathlib import Path

import chainrule as cr
from chainrule.autograd.function import Primitive

OPS = Path(cr.__file__).parent / "ops"


def _backward_functions():
    for path in sorted(OPS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "backward":
                        yield f"{path.name}:{node.name}", item


def test_backward_formulas_never_test_types():
    """Arrays and Tensors are told apart only by the formula namespace (ops/formula.py)."""
    offenders = []
    for where, fn in _backward_functions():
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                offenders.append(where)
    assert offenders == []


def test_primitives_are_class_statements_with_a_docstring_formula():
    """Every built-in op is a ``class`` statement deriving from Primitive, with a docstring."""
    classes = {}
    for path in sorted(OPS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = ast.get_docstring(node)
    primitives = set()
    stack = list(Primitive.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("chainrule.ops"):
            primitives.add(cls.__name__)
    assert primitives, "no built-in primitive found"
    missing = sorted(name for name in primitives if not classes.get(name))
    assert missing == []


def test_no_backward_mode_flag_on_ops():
    """The engine alone chooses the execution mode: no op declares it."""
    source = "\n".join(p.read_text() for p in OPS.glob("*.py"))
    assert "formula_backward" not in source and "_tensor_mode" not in source
