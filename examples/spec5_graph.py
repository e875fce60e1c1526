"""Backpropagation on the worked graph of SPEC 5, by hand, by chainrule, and drawn.

L(a, b, w, t) = ((a + b) w - t)^2 + w^2 at a=1, b=2, w=2, t=4 gives L = 8 and
dL/da = dL/db = 8, dL/dw = 16, dL/dt = -4. The script prints the loss and the four gradients,
and draws the graph with every forward value and every gradient (the intermediate results keep
theirs with retain_grad) into graph.png, with matplotlib alone.

Run:  python examples/spec5_graph.py [--out DIR]
"""

import argparse
import os
import sys

import chainrule as cr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="(the example is already fast)")
    parser.add_argument("--out", default=os.path.join("examples", "output", "spec5_graph"))
    args = parser.parse_args(argv)

    a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
    u = a + b            # u = 3
    v = u * w            # v = 6
    e = v - t            # e = 2
    p = e ** 2           # p = 4
    q = w ** 2           # q = 4
    loss = p + q         # L = 8
    for x in (u, v, e, p, q, loss):
        x.retain_grad()  # keep the gradients of the intermediate results too, for the picture
    loss.backward(retain_graph=True)  # keep the graph to draw it after backward
    # By hand: dL/de = 2e = 4; dL/dv = 4; dL/du = 4 w = 8; dL/dw = 4 u + 2 w = 16; dL/dt = -4.
    print(f"L = {loss.item():g}")
    for name, x in zip("abwt", (a, b, w, t)):
        print(f"dL/d{name} = {x.grad.item():g}")

    names = {"a": a, "b": b, "w": w, "t": t, "u": u, "v": v, "e": e, "p": p, "q": q, "L": loss}
    try:  # the numbers above need no matplotlib; the picture does
        picture = os.path.join(args.out, "graph.png")
        cr.viz.plot_graph(loss, picture, inputs=names,
                          title="L = ((a + b) w - t)^2 + w^2: forward values and gradients")
        print(f"written {picture}", file=sys.stderr)  # stdout holds only the numbers
    except ImportError as err:
        print(f"note: no picture: {err}", file=sys.stderr)
    return {"loss": loss.item(), "grads": {n: x.grad.item() for n, x in names.items()}}


if __name__ == "__main__":
    main()
