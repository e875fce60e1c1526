"""The computational graph behind a tensor: nodes, edges, Graphviz DOT text and pictures.

Every recorded operation is a node (a :class:`chainrule.autograd.Function` with its ``parents``);
leaves are the tensors the user created. ``graph(loss)`` walks from the output back to the
leaves, iteratively (a 10,000-operation chain is fine), and returns a :class:`Graph` whose
``to_dot()`` is plain Graphviz text (no program needed) and whose ``render(path)`` calls the
``dot`` program of the graphviz package to write PNG, SVG or PDF.

Drawn in the direction data flows: leaves (ellipses: parameter name and shape) -> operations
(boxes: op name and output shape) -> the output (double octagon).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from chainrule import Tensor


class GraphvizNotFoundError(RuntimeError):
    """Raised when the ``dot`` program of the graphviz package is not installed."""


@dataclass(frozen=True)
class GraphNode:
    """One node: ``kind`` is "op", "leaf", "constant" or "output"."""

    id: str
    kind: str
    label: str
    shape: tuple | None = None


@dataclass
class Graph:
    """A computational graph: nodes and (source, target) edges in the direction of data flow."""

    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)

    def node(self, node_id: str) -> GraphNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def ops(self) -> list:
        """The operation names, one per op node."""
        return [n.label.split("\n")[0] for n in self.nodes if n.kind == "op"]

    def to_dot(self, rankdir: str = "TB") -> str:
        """The graph as Graphviz DOT text."""
        style = {
            "op": 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"',
            "leaf": 'shape=ellipse, style=filled, fillcolor="#fde2b8"',
            "constant": 'shape=ellipse, style=dashed',
            "output": 'shape=doubleoctagon, style=filled, fillcolor="#cdebc5"',
        }
        lines = ["digraph chainrule {", f"    rankdir={rankdir};",
                 '    node [fontname="Helvetica", fontsize=11];']
        for n in self.nodes:
            label = n.label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lines.append(f'    {n.id} [label="{label}", {style[n.kind]}];')
        for a, b in self.edges:
            lines.append(f"    {a} -> {b};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, path) -> str:
        """Write the DOT text to ``path`` (no graphviz needed); returns the path."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_dot())
        return str(path)

    def render(self, path, format: str | None = None) -> str:  # noqa: A002 - graphviz's name
        """Draw the graph with graphviz's ``dot`` into ``path`` (format from its suffix).

        Raises:
            GraphvizNotFoundError: before any work, when ``dot`` is not on the PATH.
        """
        dot = require_dot()
        fmt = (format or os.path.splitext(str(path))[1].lstrip(".") or "png").lower()
        if fmt == "dot":
            return self.save(path)
        result = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=self.to_dot(),
                                text=True, capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"graphviz dot failed to write {path}: {result.stderr.strip()}")
        return str(path)

    def _repr_svg_(self):  # pragma: no cover - notebooks only
        if shutil.which("dot") is None:
            return None
        result = subprocess.run(["dot", "-Tsvg"], input=self.to_dot(), text=True,
                                capture_output=True, check=False)
        return result.stdout if result.returncode == 0 else None


def require_dot() -> str:
    """The path of graphviz's ``dot`` program, or a clear error naming what to install.

    Returns:
        The path of ``dot`` on the PATH.

    Raises:
        GraphvizNotFoundError: when ``dot`` is not installed (the message says how to get it).

    Example:
        >>> subprocess.run([require_dot(), "-Tsvg", "graph.dot", "-o", "graph.svg"])
    """
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(
            "rendering a graph needs the `dot` program of the graphviz package, which is not on "
            "the PATH; install graphviz (apt install graphviz, brew install graphviz or conda "
            "install graphviz), or write the DOT text with Graph.save(path) / Graph.to_dot()"
        )
    return dot


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def graph(tensor: Tensor, params: dict | None = None, show_constants: bool = True) -> Graph:
    """The computational graph that produced ``tensor``.

    Args:
        tensor: the output (e.g. a loss); it must have been computed with grad enabled, and
            drawn before ``backward()`` frees the graph (or after ``backward(retain_graph=True)``).
        params: names for leaves, e.g. ``dict(model.named_parameters())``, or any dict
            name -> Tensor (``{"a": a, "w": w}``); unnamed leaves show only their shape.
        show_constants: also draw tensors that do not require grad (inputs, targets).

    Returns:
        A :class:`Graph`; ``graph(loss).to_dot()`` is the DOT text, ``.render("g.png")`` a picture.

    Example:
        >>> loss = ((a + b) * w - t) ** 2 + w ** 2
        >>> graph(loss, {"a": a, "b": b, "w": w, "t": t}).render("spec5.png")
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(tensor).__name__}")
    names = {id(t): n for n, t in (params or {}).items()}
    g = Graph()
    ids = {}  # id(node or leaf tensor) -> graph node id

    def new_id(key) -> str:
        ids[key] = f"n{len(ids)}"
        return ids[key]

    def leaf(t: Tensor) -> str | None:
        key = id(t)
        if key in ids:
            return ids[key]
        if not t.requires_grad and not show_constants:
            return None
        kind = "leaf" if t.requires_grad else "constant"
        name = names.get(key)
        if name is None and kind == "constant" and t.data.size == 1:
            name = f"{t.data.item():.4g}"
        label = _shape_text(t.shape) if name is None else f"{name}\n{_shape_text(t.shape)}"
        g.nodes.append(GraphNode(new_id(key), kind, label, tuple(t.shape)))
        return ids[key]

    root = tensor.grad_fn
    if root is None:  # a leaf: nothing was recorded
        leaf(tensor)
        return g
    out_id = "out"
    g.nodes.append(GraphNode(out_id, "output", f"{names.get(id(tensor), 'output')}\n"
                             f"{_shape_text(tensor.shape)}", tuple(tensor.shape)))
    shapes = {id(root): tuple(tensor.shape)}
    op_nodes = []
    stack = [root]
    new_id(id(root))
    g.edges.append((ids[id(root)], out_id))
    while stack:
        node = stack.pop()
        op_nodes.append(node)
        parents = node.parents
        if parents is None:
            raise RuntimeError(
                f"graph: the graph behind this tensor was freed by backward() (at {node.name}); "
                "draw it before calling backward(), or call backward(retain_graph=True)"
            )
        for p in parents:
            if p is None:
                continue
            if p.grad_fn is None:
                pid = leaf(p)
            else:
                shapes.setdefault(id(p.grad_fn), tuple(p.shape))
                pid = ids.get(id(p.grad_fn))
                if pid is None:
                    pid = new_id(id(p.grad_fn))
                    stack.append(p.grad_fn)
            if pid is not None:
                g.edges.append((pid, ids[id(node)]))
    for node in op_nodes:
        shape = shapes.get(id(node))
        label = node.name if shape is None else f"{node.name}\n{_shape_text(shape)}"
        g.nodes.append(GraphNode(ids[id(node)], "op", label, shape))
    return g
