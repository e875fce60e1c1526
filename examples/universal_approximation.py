"""Universal approximation: one hidden layer of growing width fits a continuous function.

SPEC 3: a network with a single hidden layer of enough units approximates any continuous
function on an interval. The target here is f(x) = sin(2x) + 0.3 x^2 - 0.5 |x| on [-3, 3] (a
kink included); networks 1 -> h -> 1 with tanh hidden units and h = 1, 3, 10, 50 are trained
by full-batch Adam on the mean squared error. The error falls as the width grows, and the plot
shows each fit over the target.

Run:  python examples/universal_approximation.py [--fast] [--out DIR]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn


def target(x):
    return np.sin(2 * x) + 0.3 * x ** 2 - 0.5 * np.abs(x)


def fit(width, X, Y, epochs, seed=0):
    """Train 1 -> width -> 1 (tanh) on (X, Y); return the model and its final MSE."""
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
    opt = cr.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        opt.step()
    return model, loss.item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer widths and epochs")
    parser.add_argument("--out", default=os.path.join("examples", "output",
                                                      "universal_approximation"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    x = np.linspace(-3, 3, 200, dtype=np.float32).reshape(-1, 1)
    X, Y = cr.tensor(x), cr.tensor(target(x))
    widths = [1, 3, 10] if args.fast else [1, 3, 10, 50]
    epochs = 300 if args.fast else 3000

    fits, errors = {}, {}
    for width in widths:
        model, mse = fit(width, X, Y, epochs)
        with cr.no_grad():
            fits[width] = model(X).numpy().ravel()
        errors[width] = mse
        print(f"hidden units {width:>3}: {3 * width + 1:>4} parameters, MSE {mse:.5f}")

    from matplotlib.figure import Figure  # the plotting extra: pip install 'chainrule[plot]'

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(x.ravel(), target(x).ravel(), "k", lw=2.5, alpha=0.4, label="target")
    for width, y_hat in fits.items():
        ax.plot(x.ravel(), y_hat, lw=1.3, label=f"{width} units (MSE {errors[width]:.3g})")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title("one hidden layer of growing width")
    ax.legend(fontsize=8)
    path = os.path.join(args.out, "universal_approximation.png")
    fig.savefig(path, dpi=100)
    print(f"written {path}")
    return errors


if __name__ == "__main__":
    main()
