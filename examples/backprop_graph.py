"""The computational graph of SPEC 5, drawn, and the graph of a small network's loss.

L(a, b, w, t) = ((a + b) w - t)^2 + w^2 at a=1, b=2, w=2, t=4: every operation is a node with
a forward and a backward, and backpropagation applies the chain rule in reverse topological
order: L = 8, dL/da = dL/db = 8, dL/dw = 16, dL/dt = -4. The graph is exported as Graphviz DOT
text (always) and drawn to PNG and SVG when graphviz's ``dot`` program is installed. The
second graph is that of a 2-4-1 MLP's cross-entropy loss, with its parameters named.

Run:  python examples/backprop_graph.py [--fast] [--out DIR]
"""

import argparse
import os

import chainrule as cr
from chainrule import analysis, nn


def draw(g, out, name):
    """Write ``name``.dot, and ``name``.png / .svg when graphviz is installed."""
    written = [g.save(os.path.join(out, f"{name}.dot"))]
    try:
        for suffix in ("png", "svg"):
            written.append(g.render(os.path.join(out, f"{name}.{suffix}")))
    except analysis.GraphvizNotFoundError as err:
        print(f"  ({err})")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="(the example is already fast)")
    parser.add_argument("--out", default=os.path.join("examples", "output", "backprop_graph"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
    loss = ((a + b) * w - t) ** 2 + w ** 2
    spec5 = analysis.graph(loss, {"a": a, "b": b, "w": w, "t": t})  # draw before backward
    loss.backward()
    print(f"L = {loss.item():g}; " + ", ".join(f"dL/d{n} = {x.grad.item():g}"
                                                for n, x in zip("abwt", (a, b, w, t))))
    print(f"SPEC 5 graph: {len(spec5.nodes)} nodes, {len(spec5.edges)} edges, "
          f"operations {spec5.ops()}")
    files = draw(spec5, args.out, "spec5")

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    X, y = cr.datasets.make_xor(8, seed=0)
    mlp_loss = nn.CrossEntropyLoss()(model(X), y)
    mlp = analysis.graph(mlp_loss, dict(model.named_parameters()))
    print(f"MLP loss graph: {len(mlp.nodes)} nodes, operations {mlp.ops()}")
    files += draw(mlp, args.out, "mlp_loss")
    print(f"written {', '.join(os.path.basename(f) for f in files)} to {args.out}")
    return spec5, mlp


if __name__ == "__main__":
    main()
