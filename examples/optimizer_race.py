"""An animated race of seven optimisers over a loss surface (SPEC 6 and 8).

SGD, momentum, Nesterov, Adagrad, RMSprop, Adadelta and Adam start from the same point of a
two-parameter function and take the same number of steps; their paths are drawn over its
contour lines, as a still picture and as an animated GIF. The default surface is Rosenbrock's
curved valley, where plain gradient descent crawls, momentum overshoots and oscillates across
the valley, and the adaptive methods take steps of about their learning rate. ``--function``
picks the decks' bowl (w1 - 3)^2 + (w2 - 2)^2, Beale's function or a saddle instead.

Run:  python examples/optimizer_race.py [--fast] [--function rosenbrock] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import analysis, viz

# Learning rates picked per surface so that every optimiser makes visible progress.
SETTINGS = {
    "rosenbrock": dict(steps=1500, sgd=1e-3, adagrad=0.5, rmsprop=1e-2, adadelta=1.0,
                       adam=5e-2),
    "quadratic": dict(steps=200, sgd=0.05, adagrad=1.0, rmsprop=0.05, adadelta=10.0, adam=0.1),
    "beale": dict(steps=1500, sgd=1e-3, adagrad=0.5, rmsprop=1e-2, adadelta=1.0, adam=5e-2),
    "saddle": dict(steps=60, sgd=0.05, adagrad=0.5, rmsprop=0.02, adadelta=10.0, adam=0.05),
}


def racers(s):
    """The seven optimisers of the decks, as builders params -> optimizer."""
    optim = cr.optim
    return {
        "SGD": lambda p: optim.SGD(p, lr=s["sgd"]),
        "Momentum": lambda p: optim.SGD(p, lr=s["sgd"], momentum=0.9),
        "Nesterov": lambda p: optim.SGD(p, lr=s["sgd"], momentum=0.9, nesterov=True),
        "Adagrad": lambda p: optim.Adagrad(p, lr=s["adagrad"]),
        "RMSprop": lambda p: optim.RMSprop(p, lr=s["rmsprop"]),
        "Adadelta": lambda p: optim.Adadelta(p, lr=s["adadelta"]),
        "Adam": lambda p: optim.Adam(p, lr=s["adam"]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer steps and frames")
    parser.add_argument("--function", default="rosenbrock", choices=sorted(analysis.FUNCTIONS))
    parser.add_argument("--out", default=os.path.join("examples", "output", "optimizer_race"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    fn = analysis.FUNCTIONS[args.function]
    settings = SETTINGS[args.function]
    steps = settings["steps"] // 5 if args.fast else settings["steps"]
    paths = analysis.optimizer_trajectories(fn, fn.start, racers(settings), steps=steps)

    print(f"{fn.formula} from {fn.start}, {steps} steps")
    for name, path in paths.items():
        end = path[-1]
        line = f"  {name:<9} ends at ({end[0]: .4f}, {end[1]: .4f}), f = {fn(end):.3g}"
        if fn.minimum is not None:
            line += f", distance to the minimum {np.linalg.norm(end - fn.minimum):.3g}"
        if len(path) < steps + 1:
            line += f" (diverged after {len(path) - 1} steps)"
        print(line)
    still = os.path.join(args.out, f"race_{fn.name}.png")
    gif = os.path.join(args.out, f"race_{fn.name}.gif")
    viz.plot_trajectories(fn, paths, still)
    viz.plot_trajectories(fn, paths, gif, frames=12 if args.fast else 60, fps=15)
    print(f"written {still} and {gif}")
    return paths


if __name__ == "__main__":
    main()
