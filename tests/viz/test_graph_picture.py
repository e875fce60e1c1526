"""The computational graph drawn with matplotlib: layers, labels, large graphs, the tutorial."""

import os
import runpy
import sys
import time

import pytest

import chainrule as cr
from chainrule.viz.graph import graph_layout

pytest.importorskip("matplotlib")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _spec5():
    """L = ((a + b) w - t)^2 + w^2 at a=1, b=2, w=2, t=4, every result named and kept."""
    a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
    u = a + b
    v = u * w
    e = v - t
    p = e ** 2
    q = w ** 2
    loss = p + q
    for x in (u, v, e, p, q, loss):
        x.retain_grad()
    loss.backward(retain_graph=True)
    return loss, {"a": a, "b": b, "w": w, "t": t, "u": u, "v": v, "e": e, "p": p, "q": q,
                  "L": loss}


def _crossings(layout):
    """Pairs of drawn segments between the same two layers whose ends swap order."""
    segments = {}
    for s, t in layout.edges:
        points = [layout.positions[s], *layout.routes.get((s, t), []), layout.positions[t]]
        for (x0, y0), (_, y1) in zip(points, points[1:]):
            segments.setdefault(x0, []).append((y0, y1))
    return sum(1 for pairs in segments.values() for i, (a, b) in enumerate(pairs)
               for c, d in pairs[i + 1:] if (a - c) * (b - d) < 0)


def test_the_worked_example_is_laid_out_in_layers():
    loss, names = _spec5()
    layout = graph_layout(loss, names)
    assert len(layout.labels) == layout.total == 16          # 10 tensors and 6 operations
    assert sorted(layout.labels[i] for i, k in enumerate(layout.kinds) if k == "op") == [
        "Add", "Add", "Mul", "Pow", "Pow", "Sub"]
    assert len(layout.edges) == 16 and not layout.truncated
    for s, t in layout.edges:                                # data flows to higher layers
        assert layout.layers[s] < layout.layers[t]
        route = layout.routes.get((s, t), [])
        assert [x for x, _ in route] == list(range(layout.layers[s] + 1, layout.layers[t]))
    for (x, _), layer in zip(layout.positions, layout.layers):
        assert x == layer
    leaves = [layout.layers[i] for i, k in enumerate(layout.kinds) if k == "leaf"]
    assert leaves == [0, 0, 0, 0]                              # leaves on the left
    assert layout.layers[layout.kinds.index("output")] == max(layout.layers) == 10
    assert _crossings(layout) == 0                             # the barycentre sweeps untangle it
    for layer in set(layout.layers):                           # no two boxes on one spot
        heights = [y for (x, y) in layout.positions if x == layer]
        assert len(set(heights)) == len(heights)


def test_the_labels_hold_the_worked_values_and_gradients(tmp_path):
    loss, names = _spec5()
    fig = cr.viz.plot_graph(loss, tmp_path / "spec5.png", inputs=names)
    texts = {t.get_text() for t in fig.axes[0].texts}
    for label in ("a = 1\ndL/da = 8", "b = 2\ndL/db = 8", "w = 2\ndL/dw = 16",
                  "t = 4\ndL/dt = -4", "u = 3\ndL/du = 8", "v = 6\ndL/dv = 4",
                  "e = 2\ndL/de = 4", "p = 4\ndL/dp = 1", "q = 4\ndL/dq = 1", "L = 8\ndL/dL = 1"):
        assert label in texts
    assert {"Add", "Mul", "Sub", "Pow"} <= texts
    assert fig.axes[0].get_title() == "computational graph: 6 operations, 10 tensors"
    with open(tmp_path / "spec5.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "spec5.png").stat().st_size > 5_000
    plain = cr.viz.plot_graph(loss, inputs=names, show_values=False, show_grads=False,
                              title="the graph")
    assert {"a", "w", "L", "Mul"} <= {t.get_text() for t in plain.axes[0].texts}
    assert plain.axes[0].get_title() == "the graph"


def test_unnamed_tensors_show_their_shape_and_values():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.ones(5, 3)
    y = (x * x).sum() + (c * x.sum()).sum()                    # 5 + 15 * 3
    layout = graph_layout(y, {"x": x})
    assert "x (2,)\n[1, 2]" in layout.labels                     # a small tensor: its values
    assert "(5, 3)" in layout.labels                             # a large one: its shape
    assert sorted(k for k, label in zip(layout.kinds, layout.labels) if label == "(5, 3)") == [
        "constant", "tensor"]                                    # c, and c * x.sum()
    assert layout.labels[0] == "50" and layout.kinds[0] == "output"
    xi = layout.labels.index("x (2,)\n[1, 2]")
    targets = {layout.labels[t]: t for s, t in layout.edges if s == xi}
    assert sorted(targets) == ["Mul", "Sum"]
    assert [s for s, t in layout.edges if t == targets["Mul"]] == [xi]   # x * x: one arrow
    y.backward(retain_graph=True)
    assert "x (2,)\n[1, 2]\ngrad = [17, 19]" in graph_layout(y, {"x": x}).labels
    assert graph_layout(x, {"x": x}).labels == ["x (2,)\n[1, 2]\ngrad = [17, 19]"]


def test_a_freed_graph_and_a_wrong_argument():
    a = cr.tensor(2.0, requires_grad=True)
    loss = a * a
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.viz.plot_graph(loss)
    with pytest.raises(TypeError, match="Tensor"):
        cr.viz.plot_graph([a])
    with pytest.raises(ValueError, match="max_nodes"):
        cr.viz.plot_graph(a * 3, max_nodes=0)


def test_a_10000_op_chain_draws_the_nodes_nearest_the_output(tmp_path):
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # any recursion over the chain would fail at once
    try:
        layout = graph_layout(y, {"x": x}, max_nodes=50)
    finally:
        sys.setrecursionlimit(limit)
    assert layout.total == 20_001 and len(layout.labels) == 50 and layout.truncated
    assert all(layout.layers[s] + 1 == layout.layers[t] for s, t in layout.edges)
    start = time.perf_counter()
    fig = cr.viz.plot_graph(y, tmp_path / "chain.png", {"x": x})
    assert time.perf_counter() - start < 30
    assert len(fig.axes[0].texts) == 80
    assert "showing the 80 nodes nearest the output, of 20001" in fig.axes[0].get_title()
    width, height = fig.get_size_inches()
    assert width <= 40.5 and height <= 31


def test_the_tutorial_example_writes_its_picture(tmp_path, capsys, guide_pictures):
    example = runpy.run_path(os.path.join(ROOT, "examples", "spec5_graph.py"),
                             run_name="spec5_graph")
    result = example["main"](["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.split() == "L = 8 dL/da = 8 dL/db = 8 dL/dw = 16 dL/dt = -4".split()
    assert result["loss"] == 8.0
    assert result["grads"] == {"a": 8.0, "b": 8.0, "w": 16.0, "t": -4.0, "u": 8.0, "v": 4.0,
                               "e": 4.0, "p": 1.0, "q": 1.0, "L": 1.0}
    assert guide_pictures("spec5_graph", tmp_path) == {"graph.png"}
