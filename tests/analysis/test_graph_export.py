"""Graph export: nodes, edges, DOT text, rendering, the missing-tool error (RELIABILITY 2, 29)."""

import os
import shutil
import stat
import sys

import pytest

import chainrule as cr
from chainrule.analysis import GraphvizNotFoundError, graph
from chainrule.analysis.graph import require_dot


def _spec5():
    a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
    loss = ((a + b) * w - t) ** 2 + w ** 2
    return loss, {"a": a, "b": b, "w": w, "t": t}


def test_spec5_graph_names_its_leaves_and_ops():
    loss, leaves = _spec5()
    g = graph(loss, leaves)
    kinds = {}
    for n in g.nodes:
        kinds.setdefault(n.kind, []).append(n.label.split("\n")[0])
    assert sorted(kinds["leaf"]) == ["a", "b", "t", "w"]
    assert sorted(kinds["op"]) == ["Add", "Add", "Mul", "Pow", "Pow", "Sub"]
    assert kinds["output"] == ["output"]
    # edges follow the data: a -> Add -> Mul -> Sub -> Pow -> Add -> output; w feeds Mul and Pow
    label = {n.id: n.label.split("\n")[0] for n in g.nodes}
    edges = {(label[s], label[d]) for s, d in g.edges}
    for e in [("a", "Add"), ("b", "Add"), ("Add", "Mul"), ("w", "Mul"), ("Mul", "Sub"),
              ("t", "Sub"), ("Sub", "Pow"), ("w", "Pow"), ("Pow", "Add"), ("Add", "output")]:
        assert e in edges
    assert len(g.edges) == 11
    dot = g.to_dot()
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    for name in ("a", "b", "w", "t", "Add", "Mul", "Sub", "Pow"):
        assert f'label="{name}\\n' in dot
    # the graph is only read: backward still gives the worked gradients
    loss.backward()
    assert leaves["w"].grad.item() == pytest.approx(16.0)


def test_shapes_parameter_names_and_constants():
    x = cr.ones(5, 3)
    W = cr.tensor([[0.1, 0.2, 0.3]] * 4, requires_grad=True)
    out = (x @ W.T).relu().sum()
    g = graph(out, {"fc.weight": W})
    labels = [n.label for n in g.nodes]
    assert "fc.weight\n(4, 3)" in labels
    assert "MatMul\n(5, 4)" in labels and "Relu\n(5, 4)" in labels
    assert any(n.kind == "constant" and n.shape == (5, 3) for n in g.nodes)
    hidden = graph(out, {"fc.weight": W}, show_constants=False)
    assert not any(n.kind == "constant" for n in hidden.nodes)
    assert len(hidden.nodes) == len(g.nodes) - 1


def test_a_leaf_and_a_freed_graph():
    a = cr.tensor([1.0], requires_grad=True)
    g = graph(a, {"a": a})
    assert [n.kind for n in g.nodes] == ["leaf"] and g.edges == []
    loss = (a * a).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="freed by backward"):
        graph(loss)
    kept = (a * 3).sum()
    kept.backward(retain_graph=True)
    assert graph(kept).ops() == ["Sum", "Mul"]
    with pytest.raises(TypeError):
        graph([a])


def test_a_10000_op_chain_exports_without_recursion():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # any recursion over the chain would fail at once
    try:
        g = graph(y, {"x": x})
        dot = g.to_dot()
    finally:
        sys.setrecursionlimit(limit)
    assert len(g.ops()) == 10_000 and len(g.edges) == 10_001
    assert dot.count("->") == 10_001


def test_missing_dot_gives_an_early_clear_error(monkeypatch, tmp_path):
    loss, leaves = _spec5()
    g = graph(loss, leaves)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(GraphvizNotFoundError, match="graphviz"):
        g.render(tmp_path / "g.png")
    with pytest.raises(GraphvizNotFoundError, match="apt install graphviz"):
        require_dot()
    assert not (tmp_path / "g.png").exists()
    # the DOT text needs no program
    g.save(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


@pytest.mark.skipif(os.name != "posix", reason="a shell-script stand-in for dot")
def test_render_calls_dot_with_the_format_of_the_suffix(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\n# args: -Tfmt -o path ; copies the DOT text from stdin\n'
                    'echo "$1" > "$3"; cat >> "$3"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    loss, leaves = _spec5()
    out = graph(loss, leaves).render(tmp_path / "graph.svg")
    text = open(out).read()
    assert text.startswith("-Tsvg") and "digraph chainrule" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_render_with_the_real_dot(tmp_path):
    loss, leaves = _spec5()
    graph(loss, leaves).render(tmp_path / "spec5.png")
    with open(tmp_path / "spec5.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
