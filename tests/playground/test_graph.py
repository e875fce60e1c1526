"""The graph tab: a whitelisted parser, and the library's own values and gradients."""

import math

import pytest

from chainrule.playground import graph
from chainrule.playground.config import ParameterError

WORKED = "((a + b) * w - t) ** 2 + w ** 2"


def test_the_decks_worked_graph():
    """SPEC section 5: L = ((a + b) w - t)^2 + w^2 at a=1, b=2, w=2, t=4."""
    result = graph.evaluate(WORKED, {"a": 1, "b": 2, "w": 2, "t": 4})
    assert result["value"] == 8.0
    assert result["gradients"] == {"a": 8.0, "b": 8.0, "w": 16.0, "t": -4.0}
    assert result["leaves"] == ["a", "b", "w", "t"] and result["warning"] is None


def test_every_node_obeys_the_chain_rule_along_its_edges():
    result = graph.evaluate(WORKED, {"a": 1, "b": 2, "w": 2, "t": 4})
    nodes = result["nodes"]
    for node in nodes:
        if node["kind"] == "constant" or node["id"] == result["output"]:
            continue
        total = sum(v["grad"] * v["local"][p] for v in nodes
                    for p, u in enumerate(v["inputs"]) if u == node["id"])
        assert math.isclose(total, node["grad"]), node
    assert nodes[result["output"]]["grad"] == 1.0
    order = result["backward"]
    assert order[0] == result["output"] and sorted(order) == list(range(len(nodes)))
    for position, node_id in enumerate(order):  # every consumer comes before its inputs
        for v in nodes:
            if node_id in v["inputs"]:
                assert order.index(v["id"]) < position


def test_functions_and_a_leaf_used_twice():
    result = graph.evaluate("sigmoid(x) * relu(y) + exp(x) - log(y) + tanh(x * x)",
                            {"x": 0.5, "y": 2.0})
    s = 1 / (1 + math.exp(-0.5))
    dx = s * (1 - s) * 2 + math.exp(0.5) + (1 - math.tanh(0.25) ** 2) * 2 * 0.5
    assert math.isclose(result["gradients"]["x"], dx, rel_tol=1e-9)
    assert math.isclose(result["gradients"]["y"], s - 0.5, rel_tol=1e-9)
    assert graph.evaluate("a", {})["gradients"] == {"a": 1.0}  # missing values default to 1


@pytest.mark.parametrize("text, reason", [
    ("__import__('os').system('echo hi')", "not an allowed function"),
    ("a.real", "not allowed"),
    ("a[0]", "not allowed"),
    ("open('f')", "not an allowed function"),
    ("'text'", "not allowed"),
    ("a < b", "not allowed"),
    ("a if b else c", "not allowed"),
    ("lambda: 1", "not allowed"),
    ("[a, b]", "not allowed"),
    ("a // b", "not allowed"),
    ("exp", "exp is a function"),
    ("exp(a, b)", "exactly one argument"),
    ("exp(x=a)", "exactly one argument"),
    ("True", "not allowed"),
    ("1j", "not allowed"),
    ("1e999", "too large"),
    ("(a + ", "not a valid expression"),
    ("", "type an expression"),
    ("a" * 17, "too long"),
    ("+".join(["a"] * 101), "too long"),
    ("+".join(["a"] * 70), "too large"),
    ("+".join(f"x{i}" for i in range(25)), "at most 20 different names"),
])
def test_anything_outside_the_whitelist_is_refused_with_a_reason(text, reason):
    with pytest.raises(ParameterError, match=reason):
        graph.evaluate(text, {})


def test_non_finite_values_give_a_warning_not_an_error():
    result = graph.evaluate("log(x) + 1 / y", {"x": -1, "y": 0})
    assert result["warning"] and result["value"] is None
