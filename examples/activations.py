"""The activation functions of SPEC 2 and their derivatives, computed by autograd.

Each panel shows f(z) and f'(z) on [-4, 4]; the derivative is not written by hand but comes from
``y.sum().backward()`` on z = linspace(-4, 4) (each y_i depends on z_i only). A table prints the
values at a few points, including the kinks: ReLU'(0) = 0 (the subgradient chainrule picks),
step(0) = 1/2, and the zero derivative of step and sign that makes them untrainable by gradient
descent.

Run:  python examples/activations.py [--fast] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import viz


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer points per curve")
    parser.add_argument("--out", default=os.path.join("examples", "output", "activations"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    points = [-2.0, -0.5, 0.0, 0.5, 2.0]
    print(f"{'activation':<24}" + "".join(f"{f'f({p:g})':>9}{f'df({p:g})':>10}" for p in points))
    table = {}
    for name, f in viz.activation_functions().items():
        z = cr.tensor(points, dtype=cr.float64, requires_grad=True)
        y = f(z)
        y.sum().backward()
        table[name] = (y.detach().numpy(), z.grad.numpy())
        # NOTE: + 0.0 prints -0.0 (e.g. relu(-2) = -2 * 0) as 0.0
        row = "".join(f"{v + 0.0:9.4f}{d + 0.0:10.4f}" for v, d in zip(*table[name]))
        print(f"{name:<24}{row}")
    path = os.path.join(args.out, "activations.png")
    viz.plot_activations(path=path, num=101 if args.fast else 801)
    print(f"written {path}")
    return {k: (np.asarray(v), np.asarray(d)) for k, (v, d) in table.items()}


if __name__ == "__main__":
    main()
