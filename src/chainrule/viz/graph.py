"""The computational graph behind a tensor, drawn with matplotlib alone (no Graphviz needed).

Tensors are boxes (a name, the forward value, the gradient once backward has set it) and
operations are ellipses; arrows follow the data from the leaves on the left to the output on
the right. The layout is layered, in the manner of Sugiyama: a node's layer is the length of
the longest path reaching it, an edge spanning several layers bends through invisible points,
one per layer, a few barycentre sweeps order each layer to reduce crossings, and as many sweeps
move each node towards the mean height of its neighbours, so that chains run straight. All is
iterative, so a 10,000-operation chain is fine; only the ``max_nodes`` nodes nearest the output
are drawn, and the title says so. For Graphviz output see :func:`chainrule.analysis.graph`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from chainrule.viz._figure import finish, new_figure, to_numpy

_FILL = {"leaf": "#fde2b8", "constant": "#ffffff", "tensor": "#f2f2f2", "output": "#cdebc5",
         "op": "#dbe9f6"}
_SMALL = 4  # tensors of at most this many elements show their values in full
_SWEEPS = 4  # barycentre sweeps, each one down then up
_FONTSIZE = 10.0
_GAP = 0.45  # inches between columns, room for the arrows


@dataclass
class GraphLayout:
    """A computational graph placed in layers, ready to draw (what :func:`plot_graph` shows).

    Attributes:
        labels: the text of each node, in the order the walk from the output met them.
        kinds: each node's kind: "leaf" (a tensor that requires grad), "constant", "tensor"
            (an intermediate result), "output" or "op".
        edges: (source, target) node indices, in the direction data flows.
        layers: each node's layer: 0 for nodes without drawn inputs, else one more than the
            largest layer among its inputs; so every edge goes to a higher layer.
        positions: each node's (x, y): x is its layer, y its place within the layer.
        routes: the bend points of each edge spanning more than one layer, keyed by the edge.
        total: the number of nodes (tensors and operations) in the whole graph.
    """

    labels: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    layers: list = field(default_factory=list)
    positions: list = field(default_factory=list)
    routes: dict = field(default_factory=dict)
    total: int = 0

    @property
    def truncated(self) -> bool:
        """True when some nodes of the graph were left out of the drawing."""
        return self.total > len(self.labels)


def _number(x) -> str:
    return f"{float(x):.4g}"


def _array_text(array) -> str:
    if array.size == 1:
        return _number(array.reshape(()))
    return np.array2string(array.astype(np.float64), separator=", ",
                           formatter={"float_kind": lambda x: f"{x:.3g}"})


def _tensor_label(tensor, kind, name, out_name, show_values, show_grads) -> str:
    """A box's text: the name (or shape), the value when small, the gradient once set."""
    shape = tuple(tensor.shape)
    size = int(np.prod(shape, dtype=np.int64))
    head = name if name is not None else ("scalar" if not shape else str(shape))
    if name is not None and shape:
        head += f" {shape}"
    lines = [head]
    if show_values and size <= _SMALL:
        value = _array_text(to_numpy(tensor))
        if size == 1 and name is not None:
            lines[0] = f"{head} = {value}"
        elif not shape:
            lines[0] = value  # an unnamed scalar is its value
        else:
            lines.append(value)
    grad = getattr(tensor, "grad", None)
    if show_grads and grad is not None:
        dname = f"d{out_name}/d{name}" if name is not None and out_name is not None else "grad"
        g = to_numpy(grad)
        if g.size <= _SMALL:
            lines.append(f"{dname} = {_array_text(g)}")
        else:
            lines.append(f"|{dname}| = {_number(np.linalg.norm(g))}")
    return "\n".join(lines)


def _walk(output, names, max_nodes, show_values, show_grads):
    """The nodes nearest ``output`` (breadth first, iterative) and the edges among them."""
    layout = GraphLayout()
    index = {}  # key of a kept node -> its index
    seen = set()
    # NOTE: gradients read dL/dw only below a named output; a leaf's .grad is of something else
    out_name = names.get(id(output)) if output.grad_fn is not None else None

    def visit(key, kind, label_of):
        if key in seen:
            return index.get(key)
        seen.add(key)
        layout.total += 1
        if len(layout.labels) >= max_nodes:
            return None
        index[key] = len(layout.labels)
        layout.labels.append(label_of())
        layout.kinds.append(kind)
        return index[key]

    def visit_tensor(t, kind):
        return visit(("tensor", id(t)), kind, lambda: _tensor_label(
            t, kind, names.get(id(t)), out_name, show_values, show_grads))

    edges = {}  # an ordered set: x * x gives one arrow
    visit_tensor(output, "output")
    queue = deque([output])
    while queue:
        t = queue.popleft()
        fn = t.grad_fn
        if fn is None:
            continue
        new = ("op", id(fn)) not in seen
        op = visit(("op", id(fn)), "op", lambda f=fn: f.name)
        edges[(op, index.get(("tensor", id(t))))] = None
        if not new:
            continue
        if fn.parents is None:
            raise RuntimeError(
                f"plot_graph: the graph behind this tensor was freed by backward() (at "
                f"{fn.name}); call backward(retain_graph=True) to draw it with its gradients, "
                "or draw it before backward()"
            )
        for p in fn.parents:
            if p is None:
                continue
            held = getattr(p, "tensor", None)  # an input the graph released: its Tensor
            p = p if held is None else held
            if ("tensor", id(p)) not in seen:
                queue.append(p)
            kind = ("tensor" if p.grad_fn is not None else
                    "leaf" if p.requires_grad else "constant")
            edges[(visit_tensor(p, kind), op)] = None
    layout.edges = [e for e in edges if None not in e]
    return layout


def _longest_path_layers(n, edges) -> list:
    """Layer of each node: the length of the longest path reaching it (Kahn's order)."""
    succ = [[] for _ in range(n)]
    indegree = [0] * n
    for s, t in edges:
        succ[s].append(t)
        indegree[t] += 1
    layers = [0] * n
    ready = [i for i in range(n) if indegree[i] == 0]
    while ready:
        i = ready.pop()
        for j in succ[i]:
            layers[j] = max(layers[j], layers[i] + 1)
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    return layers


def _crossings(rows, links) -> int:
    """Crossings between two adjacent layers: pairs of links whose ends swap order."""
    place = {v: i for row in rows for i, v in enumerate(row)}
    ends = [(place[s], place[t]) for s, t in links]
    return sum(1 for k, (a, b) in enumerate(ends) for c, d in ends[k + 1:] if (a - c) * (b - d) < 0)


def _arrange(layout: GraphLayout) -> None:
    """Order each layer by barycentre sweeps (bend points included) and set the positions."""
    n = len(layout.labels)
    layers = layout.layers = _longest_path_layers(n, layout.edges)
    level = list(layers)  # the layer of every point: nodes, then bend points
    links = []  # (point, point) between adjacent layers
    chains = {}
    for s, t in layout.edges:
        chain = [s]
        for k in range(layers[s] + 1, layers[t]):
            level.append(k)
            chain.append(len(level) - 1)
        chain.append(t)
        links += list(zip(chain, chain[1:]))
        if len(chain) > 2:
            chains[(s, t)] = chain[1:-1]
    depth = max(level, default=-1) + 1
    rows = [[] for _ in range(depth)]
    for v, k in enumerate(level):
        rows[k].append(v)
    links_by_layer = [[(s, t) for s, t in links if level[s] == k] for k in range(depth)]
    pred = [[] for _ in level]
    succ = [[] for _ in level]
    for s, t in links:
        succ[s].append(t)
        pred[t].append(s)

    def sweep(order, neighbours, ref):
        place = {v: i for i, v in enumerate(ref)}

        def barycentre(i_v):
            i, v = i_v
            near = [place[u] for u in neighbours[v] if u in place]
            return sum(near) / len(near) if near else i
        return [v for _, v in sorted(enumerate(order), key=barycentre)]

    best = [list(r) for r in rows]
    best_count = sum(_crossings([rows[k], rows[k + 1]], links_by_layer[k])
                     for k in range(depth - 1))
    for _ in range(_SWEEPS):
        for k in range(1, depth):
            rows[k] = sweep(rows[k], pred, rows[k - 1])
        for k in range(depth - 2, -1, -1):
            rows[k] = sweep(rows[k], succ, rows[k + 1])
        count = sum(_crossings([rows[k], rows[k + 1]], links_by_layer[k])
                    for k in range(depth - 1))
        if count < best_count:
            best, best_count = [list(r) for r in rows], count
    y = _straighten(best, pred, succ)
    xy = [(float(k), y[v]) for v, k in enumerate(level)]
    layout.positions = xy[:n]
    layout.routes = {e: [xy[v] for v in chain] for e, chain in chains.items()}


def _straighten(rows, pred, succ) -> list:
    """Heights within the layers, in slots: each point moves towards the mean of its
    neighbours in the layer before (sweeping down) or after (sweeping up), keeping the order of
    its layer and one slot between points, so that chains and bends run straight."""
    y = [0.0] * sum(len(row) for row in rows)
    for row in rows:
        for i, v in enumerate(row):
            y[v] = (len(row) - 1) / 2 - i
    depth = len(rows)
    for _ in range(_SWEEPS):
        for layers, near in ((range(1, depth), pred), (range(depth - 2, -1, -1), succ)):
            for k in layers:
                row = rows[k]
                want = [sum(y[u] for u in near[v]) / len(near[v]) if near[v] else y[v]
                        for v in row]
                placed = list(want)
                for i in range(1, len(row)):  # top to bottom, at least one slot apart
                    placed[i] = min(placed[i], placed[i - 1] - 1.0)
                shift = (sum(want) - sum(placed)) / len(row)
                for v, h in zip(row, placed):
                    y[v] = h + shift
    return y


def graph_layout(output, inputs=None, max_nodes=80, show_values=True,
                 show_grads=True) -> GraphLayout:
    """The layered layout of the graph behind ``output``, as :func:`plot_graph` draws it.

    Args:
        output: a Tensor computed with grad enabled (e.g. a loss).
        inputs: names for tensors, a dict name -> Tensor (leaves or intermediate results).
        max_nodes: the most nodes (tensors and operations) kept, the nearest the output.
        show_values: put forward values of tensors with at most 4 elements in the labels.
        show_grads: put ``.grad`` in the labels where it is set.

    Returns:
        A :class:`GraphLayout`.

    Raises:
        TypeError: when ``output`` is not a Tensor.
        ValueError: when ``max_nodes`` is below 1.
        RuntimeError: when backward() has freed the graph (use ``retain_graph=True``).
    """
    from chainrule import Tensor

    if not isinstance(output, Tensor):
        raise TypeError(f"plot_graph: expected a Tensor, got {type(output).__name__}")
    if max_nodes < 1:
        raise ValueError(f"plot_graph: max_nodes must be at least 1, got {max_nodes}")
    names = {id(t): name for name, t in (inputs or {}).items()}
    layout = _walk(output, names, max_nodes, show_values, show_grads)
    _arrange(layout)
    return layout


def plot_graph(output, path=None, inputs=None, show_values=True, show_grads=True, title=None,
               max_nodes=80):
    """Draw the computational graph of ``output``: tensors, operations and the data flow.

    Boxes are tensors: leaves that require grad (orange), constants (white, dashed),
    intermediate results (grey) and the output (green), each with its name from ``inputs`` (or
    its shape), its forward value when it has at most 4 elements, and its gradient when
    ``.grad`` is set (leaves after backward, and results that called ``retain_grad()``);
    with both names known the gradient reads ``dL/dw = 16``. Ellipses are operations.
    To show gradients, call ``backward(retain_graph=True)`` first: a plain backward()
    frees the graph.

    Args:
        output: a Tensor computed with grad enabled (e.g. a loss).
        path: where to save (format from the suffix); nothing is saved when None.
        inputs: names for tensors, a dict name -> Tensor, e.g. ``{"w": w, "L": loss}`` or
            ``dict(model.named_parameters())``.
        show_values: show the forward values of small tensors.
        show_grads: show gradients where ``.grad`` is set.
        title: the figure title (default: the number of operations and tensors).
        max_nodes: the most nodes drawn, those nearest the output; the title says when the
            graph is larger.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: when ``output`` is not a Tensor.
        ValueError: when ``max_nodes`` is below 1.
        RuntimeError: when backward() has freed the graph.

    Example:
        >>> a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
        >>> loss = ((a + b) * w - t) ** 2 + w ** 2
        >>> loss.backward(retain_graph=True)
        >>> viz.plot_graph(loss, "graph.png", {"a": a, "b": b, "w": w, "t": t, "L": loss})
    """
    layout = graph_layout(output, inputs, max_nodes, show_values, show_grads)
    fig, ax = new_figure()  # first: without matplotlib, the error names the extra
    from matplotlib.patches import BoxStyle, FancyArrowPatch

    ax.set_axis_off()
    op_style = "ellipse,pad=0.2" if "ellipse" in BoxStyle.get_styles() else "round,pad=0.4"
    texts = []
    for label, kind in zip(layout.labels, layout.kinds):
        style = dict(boxstyle=op_style if kind == "op" else "round,pad=0.35,rounding_size=0.1",
                     facecolor=_FILL[kind], edgecolor="#555555",
                     linestyle="--" if kind == "constant" else "-")
        texts.append(ax.text(0, 0, label, ha="center", va="center", fontsize=_FONTSIZE,
                             bbox=style, zorder=3,
                             fontweight="bold" if kind == "output" else "normal"))
    # Size the columns and rows to the labels (in inches, at the base font size).
    renderer = fig.canvas.get_renderer()
    pad = 2 * 0.35 * _FONTSIZE / 72
    widths, heights = [], []
    for text, kind in zip(texts, layout.kinds):
        box = text.get_window_extent(renderer)
        widths.append((box.width / fig.dpi + pad) * (1.45 if kind == "op" else 1.0))
        heights.append(box.height / fig.dpi + pad)
    depth = max(layout.layers) + 1
    column = [0.0] * depth
    for k, width in zip(layout.layers, widths):
        column[k] = max(column[k], width)
    x_at = [column[0] / 2 + 0.1]
    for k in range(1, depth):
        x_at.append(x_at[-1] + (column[k - 1] + column[k]) / 2 + _GAP)
    row = max(heights) + 0.3
    ys = [y for _, y in layout.positions] + [y for r in layout.routes.values() for _, y in r]
    top, bottom = max(ys) * row + row / 2, min(ys) * row - row / 2
    width, height = x_at[-1] + column[-1] / 2 + 0.1, top - bottom
    # A large graph is shrunk as a whole, the font with it, to fit a 40 x 30 inch figure.
    scale = min(1.0, 40.0 / width, 30.0 / height)
    fig.set_size_inches(max(3.0, width * scale), height * scale + 0.6)
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, top)

    def place(point):
        return x_at[int(point[0])], point[1] * row

    for text, point in zip(texts, layout.positions):
        text.set_position(place(point))
        text.set_fontsize(_FONTSIZE * scale)
    boxes = [text.get_bbox_patch() for text in texts]
    # NOTE: the arrows are drawn after the boxes (higher zorder) because a text positions its
    # box only when drawn, and an arrow is cut at the outline of the boxes it joins.
    for s, t in layout.edges:
        points = [place(p) for p in (layout.positions[s], *layout.routes.get((s, t), []),
                                     layout.positions[t])]
        last = len(points) - 2
        for i, (a, b) in enumerate(zip(points, points[1:])):
            ax.add_patch(FancyArrowPatch(
                a, b, arrowstyle="-|>" if i == last else "-", mutation_scale=14 * scale,
                patchA=boxes[s] if i == 0 else None, patchB=boxes[t] if i == last else None,
                shrinkA=1 if i == 0 else 0, shrinkB=1 if i == last else 0,
                color="#444444", linewidth=max(0.5, scale), zorder=4))
    ops = layout.kinds.count("op")
    heading = title or (f"computational graph: {ops} operations, "
                        f"{len(layout.kinds) - ops} tensors")
    if layout.truncated:
        heading += (f"\n(showing the {len(layout.labels)} nodes nearest the output, of "
                    f"{layout.total})")
    ax.set_title(heading, fontsize=max(8.0, (_FONTSIZE + 1) * scale))
    return finish(fig, path)
