"""The graph tab: an expression, its computational graph, forward values and gradients.

The text is parsed with Python's :mod:`ast` and checked against a whitelist: numbers, names,
``+ - * / **``, unary minus and plus, and one-argument calls of exp, log, sqrt, sin, cos, tanh,
sigmoid, relu and abs. Nothing is ever passed to ``eval``; anything else (attributes, strings,
comparisons, other functions, ...) is refused with a sentence for the page, and so are
expressions of more than 200 characters or 60 nodes.

Every name is a leaf ``cr.tensor(value, dtype=cr.float64, requires_grad=True)``; every
operation is a chainrule operation on tensors, so the values and gradients shown are the
library's: ``L.backward()`` fills dL/dv for every node v (intermediates call ``retain_grad``).
Each edge u -> v also carries the local derivative dv/du, from chainrule's backward of that
single operation applied to fresh copies of its inputs, so the page can show the chain rule
dL/du = sum over v of dL/dv * dv/du node by node, in the order backward visits them.

Example (the decks' worked graph, SPEC section 5):
    >>> result = evaluate("((a + b) * w - t) ** 2 + w ** 2", {"a": 1, "b": 2, "w": 2, "t": 4})
    >>> result["value"], result["gradients"]
    (8.0, {'a': 8.0, 'b': 8.0, 't': -4.0, 'w': 16.0})
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule.playground.config import MAX_EXPRESSION, MAX_LEAVES, ParameterError
from chainrule.playground.protocol import jsonable

MAX_NODES = 60
MAX_NAME = 16

FUNCTIONS = {"exp": cr.exp, "log": cr.log, "sqrt": cr.sqrt, "sin": cr.sin, "cos": cr.cos,
             "tanh": cr.tanh, "sigmoid": cr.sigmoid, "relu": cr.relu, "abs": cr.abs}
_BINARY = {ast.Add: ("+", lambda x, y: x + y), ast.Sub: ("-", lambda x, y: x - y),
           ast.Mult: ("*", lambda x, y: x * y), ast.Div: ("/", lambda x, y: x / y),
           ast.Pow: ("**", lambda x, y: x ** y)}
_UNARY = {ast.USub: ("neg", lambda x: -x), ast.UAdd: ("pos", lambda x: +x)}


@dataclass
class Node:
    """A node of the graph: a leaf (a name), a constant, or an operation on ``inputs``."""

    id: int
    kind: str  # "leaf", "constant" or "op"
    label: str
    inputs: list = field(default_factory=list)
    fn: object = None
    number: float | None = None


class _Builder:
    """Turns a checked AST into nodes; one leaf per distinct name."""

    def __init__(self):
        self.nodes: list = []
        self.leaves: dict = {}

    def add(self, kind, label, inputs=(), fn=None, number=None) -> int:
        """Append a node (at most MAX_NODES of them); returns its id."""
        if len(self.nodes) >= MAX_NODES:
            raise ParameterError(f"the expression is too large: more than {MAX_NODES} nodes")
        self.nodes.append(Node(len(self.nodes), kind, label, list(inputs), fn, number))
        return len(self.nodes) - 1

    def visit(self, tree) -> int:
        """The node of an AST node, built bottom-up; anything off the whitelist raises."""
        # NOTE: an explicit stack instead of recursion would not help readability here: the
        # 200-character limit bounds the depth far below Python's recursion limit.
        if isinstance(tree, ast.Constant):
            return self.constant(tree.value)
        if isinstance(tree, ast.Name):
            return self.leaf(tree.id)
        if isinstance(tree, ast.BinOp) and type(tree.op) in _BINARY:
            label, fn = _BINARY[type(tree.op)]
            left, right = self.visit(tree.left), self.visit(tree.right)
            return self.add("op", label, (left, right), fn)
        if isinstance(tree, ast.UnaryOp) and type(tree.op) in _UNARY:
            label, fn = _UNARY[type(tree.op)]
            return self.add("op", label, (self.visit(tree.operand),), fn)
        if isinstance(tree, ast.Call):
            return self.call(tree)
        raise ParameterError(f"{_describe(tree)} is not allowed; use numbers, names, "
                             "+ - * / ** and the functions " + ", ".join(FUNCTIONS))

    def constant(self, value) -> int:
        """A constant node for an int or float literal (booleans, text, complex: refused)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{value!r} is not allowed; only numbers and names are")
        try:
            number = float(value)
        except OverflowError:
            raise ParameterError("a number in the expression is too large") from None
        if not math.isfinite(number):
            raise ParameterError("a number in the expression is too large")
        return self.add("constant", f"{number:g}", number=number)

    def leaf(self, name: str) -> int:
        """The leaf of ``name``: one node per distinct name, however often it appears."""
        if name in FUNCTIONS:
            raise ParameterError(f"{name} is a function: write {name}(x)")
        if len(name) > MAX_NAME:
            raise ParameterError(f"the name {name[:MAX_NAME]}... is too long (at most "
                                 f"{MAX_NAME} characters)")
        if name not in self.leaves:
            if len(self.leaves) >= MAX_LEAVES:
                raise ParameterError(f"at most {MAX_LEAVES} different names")
            self.leaves[name] = self.add("leaf", name)
        return self.leaves[name]

    def call(self, tree) -> int:
        """A one-argument call of a whitelisted function."""
        name = tree.func.id if isinstance(tree.func, ast.Name) else None
        if name not in FUNCTIONS:
            raise ParameterError(f"{_describe(tree.func)}(...) is not an allowed function; "
                                 f"use one of: {', '.join(FUNCTIONS)}")
        if tree.keywords or len(tree.args) != 1 or isinstance(tree.args[0], ast.Starred):
            raise ParameterError(f"{name} takes exactly one argument: {name}(x)")
        return self.add("op", name, (self.visit(tree.args[0]),), FUNCTIONS[name])


def _describe(tree) -> str:
    if isinstance(tree, ast.Name):
        return tree.id
    try:
        text = ast.unparse(tree)
    except Exception:  # noqa: BLE001 - only for the message
        text = type(tree).__name__
    return repr(text if len(text) <= 30 else text[:27] + "...")


def parse(expression: str):
    """Parse and check ``expression``; returns (nodes in evaluation order, output id).

    Raises:
        ParameterError: for text that is not an allowed expression, with the reason.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ParameterError("type an expression, e.g. ((a + b) * w - t) ** 2 + w ** 2")
    if len(expression) > MAX_EXPRESSION:
        raise ParameterError(f"the expression is too long: {len(expression)} characters, at "
                             f"most {MAX_EXPRESSION}")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as err:
        raise ParameterError(f"not a valid expression: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ParameterError("not a valid expression") from None
    builder = _Builder()
    output = builder.visit(tree.body)
    return builder.nodes, output


def _local_derivatives(node: Node, nodes: list, tensors: list) -> list:
    """d node / d input for each input edge, from chainrule's backward of this one operation."""
    copies = [cr.tensor(tensors[i].item(), dtype=cr.float64, requires_grad=True)
              for i in node.inputs]
    with np.errstate(all="ignore"):
        out = node.fn(*copies)
        grads = cr.autograd.grad(out, copies, allow_unused=True)
    return [None if g is None or nodes[i].kind == "constant" else g.item()
            for i, g in zip(node.inputs, grads)]


def _backward_order(nodes: list, output: int) -> list:
    """The ids of the nodes that lead to ``output``, output first (reverse topological order)."""
    seen, order, stack = set(), [], [(output, False)]
    while stack:
        node_id, done = stack.pop()
        if done:
            order.append(node_id)
            continue
        if node_id in seen:
            continue
        seen.add(node_id)
        stack.append((node_id, True))
        stack.extend((i, False) for i in reversed(nodes[node_id].inputs))
    return order[::-1]


def _layout(nodes: list, output: int) -> list:
    """(column, row) of each node, drawn from the output (rightmost) back to the leaves.

    A node sits one column left of its leftmost consumer (so a leaf sits next to the operation
    that uses it), and within a column nodes are ordered by the mean row of their consumers,
    then by the argument they are, so the picture reads like the expression's tree.
    """
    users: dict = {n.id: [] for n in nodes}
    for v in nodes:
        for p, u in enumerate(v.inputs):
            users[u].append((v.id, p))
    column: dict = {}
    for i in _backward_order(nodes, output):
        column[i] = 0 if i == output else min(column[v] for v, _ in users[i]) - 1
    shift = -min(column.values())
    row: dict = {}

    def key(i):
        if not users[i]:
            return (0.0, 0.0, i)
        return (float(np.mean([row[v] for v, _ in users[i]])),
                float(np.mean([p for _, p in users[i]])), i)

    for c in sorted(set(column.values()), reverse=True):
        previous = -1
        for i in sorted((i for i in column if column[i] == c), key=key):
            row[i] = max(previous + 1, int(round(key(i)[0])))
            previous = row[i]
    return [(column[n.id] + shift, row[n.id]) for n in nodes]


def evaluate(expression: str, values: dict | None = None) -> dict:
    """Build the graph of ``expression`` at the given leaf values, run forward and backward.

    Args:
        expression: text such as ``((a + b) * w - t) ** 2 + w ** 2``.
        values: {name: number}; names that are missing get 1.0.

    Returns:
        A JSON-ready dict: ``value`` (L), ``gradients`` ({leaf: dL/dleaf}), ``nodes`` (id,
        kind, label, value, grad, inputs, local derivatives d node / d input, column, row),
        ``backward`` (node ids, output first), ``leaves`` (names in order) and ``warning``
        (or None) when a value or gradient is not finite.

    Raises:
        ParameterError: for an expression that is not allowed.
    """
    values = values or {}
    nodes, output = parse(expression)
    tensors = [None] * len(nodes)
    with np.errstate(all="ignore"):
        for node in nodes:
            if node.kind == "leaf":
                start = float(values.get(node.label, 1.0))
                tensors[node.id] = cr.tensor(start, dtype=cr.float64, requires_grad=True)
            elif node.kind == "constant":
                tensors[node.id] = cr.tensor(node.number, dtype=cr.float64)
            else:
                tensors[node.id] = node.fn(*(tensors[i] for i in node.inputs))
                if tensors[node.id].requires_grad:
                    tensors[node.id].retain_grad()
        locals_ = {n.id: _local_derivatives(n, nodes, tensors) for n in nodes if n.kind == "op"}
        result = tensors[output]
        if result.requires_grad:
            result.backward()
    grads = [t.grad.item() if t.grad is not None else None for t in tensors]
    if result.requires_grad and grads[output] is None:
        grads[output] = 1.0
    positions = _layout(nodes, output)
    view = [{"id": n.id, "kind": n.kind, "label": n.label, "value": tensors[n.id].item(),
             "grad": grads[n.id] if n.kind != "constant" else None, "inputs": n.inputs,
             "local": locals_.get(n.id, []), "column": positions[n.id][0],
             "row": positions[n.id][1]} for n in nodes]
    leaves = [n.label for n in nodes if n.kind == "leaf"]
    gradients = {n.label: grads[n.id] for n in nodes if n.kind == "leaf"}
    numbers = [v["value"] for v in view] + [g for g in gradients.values() if g is not None]
    finite = all(math.isfinite(x) for x in numbers)
    return jsonable({
        "value": result.item(), "gradients": dict(sorted(gradients.items())), "nodes": view,
        "output": output, "backward": _backward_order(nodes, output), "leaves": leaves,
        "warning": None if finite else "some values are not finite (division by zero, the log "
                                       "or sqrt of a number <= 0, or an overflow)",
    })
