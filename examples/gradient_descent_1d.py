"""Plain gradient descent on the two functions of SPEC 6, printing every iterate.

    f(w)      = w^2 - 4w + 4            minimum at w = 2
    f(w1, w2) = (w1 - 3)^2 + (w2 - 2)^2  minimum at (3, 2)

Each step is w <- w - alpha df/dw, with df/dw from chainrule's autograd (checked against the
derivative by hand, 2w - 4). Since f(w) = (w - 2)^2, the distance to the minimum is multiplied by
(1 - 2 alpha) at every step: alpha = 0.1 creeps in, alpha = 0.5 lands in one step, alpha = 1
bounces between two points forever and alpha = 1.1 diverges. A picture shows the iterates on the
curve and the path over the contour lines of the bowl.

Run:  python examples/gradient_descent_1d.py [--fast] [--alpha 0.1] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr


def f1(w):
    """f(w) = w^2 - 4w + 4 = (w - 2)^2."""
    return w ** 2 - 4 * w + 4


def f2(w):
    """f(w1, w2) = (w1 - 3)^2 + (w2 - 2)^2 for a Tensor w = [w1, w2]."""
    return ((w - cr.tensor([3.0, 2.0], dtype=w.dtype)) ** 2).sum()


def gradient_descent(f, w0, alpha, steps):
    """Iterates w_0, w_1, ..., w_steps of w <- w - alpha df/dw (float64, gradients by autograd).

    Stops early, keeping the iterates so far, if they leave the float range (alpha too large).
    """
    w = cr.tensor(w0, dtype=cr.float64, requires_grad=True)
    path = [w.detach().numpy().copy()]
    for _ in range(steps):
        (grad,) = cr.autograd.grad(f(w), w)
        with cr.no_grad():
            w.sub_(alpha * grad)                 # w <- w - alpha df/dw
        path.append(w.detach().numpy().copy())
        if not np.all(np.isfinite(path[-1])) or np.abs(path[-1]).max() > 1e6:
            break
    return np.array(path)


def print_iterates(name, path, shown):
    """Print the first ``shown`` iterates and the last one."""
    print(name)
    for k, w in enumerate(path):
        if k < shown or k == len(path) - 1:
            print(f"  w_{k:<3d} = {np.array2string(np.atleast_1d(w), precision=6)}")
        elif k == shown:
            print("  ...")


def figure(ncols, width=4.8, height=4.0):
    """A matplotlib Figure (no pyplot: works without a display) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def plot(paths_1d, path_2d, alpha, out):
    fig, (left, right) = figure(2)
    ws = np.linspace(-4.0, 8.0, 200)
    left.plot(ws, (ws - 2) ** 2, color="gray", lw=1)
    for a, path in paths_1d.items():
        shown = path[:12] if abs(1 - 2 * a) < 1 else path[:5]
        left.plot(shown, (shown - 2) ** 2, "o-", ms=4, lw=0.8, label=f"alpha = {a}")
    left.set(xlim=(-4.0, 8.0), ylim=(-1.0, 38.0), xlabel="w", ylabel="f(w) = w^2 - 4w + 4",
             title="iterates of w <- w - alpha f'(w)")
    left.legend(loc="lower right")
    left.grid(alpha=0.3)
    g1, g2 = np.meshgrid(np.linspace(-0.5, 4.5, 120), np.linspace(-0.5, 4.5, 120))
    right.contour(g1, g2, (g1 - 3) ** 2 + (g2 - 2) ** 2, levels=15, cmap="viridis")
    right.plot(path_2d[:, 0], path_2d[:, 1], "o-", color="C3", ms=3, label=f"alpha = {alpha}")
    right.plot([3], [2], "k*", ms=12, label="minimum (3, 2)")
    right.set(xlabel="w1", ylabel="w2", aspect="equal",
              title="(w1 - 3)^2 + (w2 - 2)^2 from (0, 0)")
    right.legend()
    path = os.path.join(out, "gradient_descent.png")
    fig.savefig(path, dpi=80)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer steps")
    parser.add_argument("--alpha", type=float, default=0.1, help="the learning rate")
    parser.add_argument("--w0", type=float, default=-1.0, help="the start of f(w)")
    parser.add_argument("--out", default=os.path.join("examples", "output",
                                                      "gradient_descent_1d"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    steps = 30 if args.fast else 100

    w = cr.tensor(args.w0, dtype=cr.float64, requires_grad=True)
    (grad,) = cr.autograd.grad(f1(w), w)
    print(f"df/dw at w = {args.w0:g}: autograd {grad.item():g}, by hand 2w - 4 = "
          f"{2 * args.w0 - 4:g}")

    path_1d = gradient_descent(f1, args.w0, args.alpha, steps)
    print_iterates(f"f(w) = w^2 - 4w + 4 from w = {args.w0:g}, alpha = {args.alpha:g}",
                   path_1d, 8)
    path_2d = gradient_descent(f2, [0.0, 0.0], args.alpha, steps)
    print_iterates(f"f(w1, w2) = (w1 - 3)^2 + (w2 - 2)^2 from (0, 0), alpha = {args.alpha:g}",
                   path_2d, 8)

    paths = {a: gradient_descent(f1, args.w0, a, steps) for a in (0.1, 0.5, 1.0, 1.1)}
    print("the learning rate: |w_k - 2| = |1 - 2 alpha|^k |w_0 - 2|")
    for a, path in paths.items():
        factor = abs(1 - 2 * a)
        verdict = ("converges" if factor < 1 else "oscillates for ever" if factor == 1
                   else "diverges")
        print(f"  alpha = {a:<4g} factor {factor:.1f}: w_{len(path) - 1} = {path[-1]:.6g} "
              f"({verdict})")
    picture = plot(paths, path_2d, args.alpha, args.out)
    print(f"written {picture}")
    return {"path_1d": path_1d, "path_2d": path_2d, "paths": paths}


if __name__ == "__main__":
    main()
