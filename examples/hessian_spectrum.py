"""The Hessian's eigenvalue spectrum of a small and a larger MLP trained on the same digits.

SPEC 8: eigenvalues of H = d^2 L / dW dW measure curvature; the spectrum of a larger network
concentrates nearer zero than that of a smaller one (most directions of an over-parameterised
network are flat), with a few large outliers. Both networks are trained on the same data, then:

* the top eigenvalues come from Lanczos on Hessian-vector products (double backward),
* the density from stochastic Lanczos quadrature, plotted for each network and together,
* the share of the spectral mass with |lambda| < 1% of |lambda|_max is printed for each,
* the loss along the straight line from the initial to the trained weights (1-D), and over a
  plane through the trained weights spanned by two random filter-normalised directions (2-D).

It writes ``spectrum_small.png``, ``spectrum_large.png`` and ``spectra.png`` (the densities),
``interpolation.png`` (the 1-D lines of both networks) and ``landscape_small.png``,
``landscape_large.png`` (contours and a 3-D surface; contours only with ``--fast``).

Run:  python examples/hessian_spectrum.py [--fast] [--out examples/output/hessian_spectrum]
"""

import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import analysis, nn, viz
from chainrule.models.mlp import MLP


def train(sizes, X, y, epochs, seed=0):
    """Full-batch Adam on cross-entropy: the manual loop. Returns the initial weights too."""
    cr.manual_seed(seed)
    model = MLP(sizes)
    start = nn.utils.parameters_to_vector(model.parameters()).detach()
    loss_fn = nn.CrossEntropyLoss()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
    return model, loss.item(), start


def mass_near_zero(spectrum, fraction=0.01):
    """The share of the density's mass at |theta| < fraction * max |theta| (SLQ weights)."""
    ok = ~np.isnan(spectrum.nodes)
    theta, w = spectrum.nodes[ok], spectrum.weights[ok]
    return float(w[np.abs(theta) < fraction * np.abs(theta).max()].sum()
                 / spectrum.nodes.shape[0])


def plot_interpolations(lines, path):
    """The loss on the line (1 - alpha) theta_0 + alpha theta_trained, one curve per network."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for label, (alphas, losses) in lines.items():
        ax.plot(alphas, losses, label=label)
    ax.set_yscale("log")
    for a in (0.0, 1.0):
        ax.axvline(a, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("alpha (0: initial weights, 1: trained weights)")
    ax.set_ylabel("training loss")
    ax.set_title("the loss on the line from the initial to the trained weights")
    ax.legend()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and networks")
    parser.add_argument("--out", default=os.path.join("examples", "output", "hessian_spectrum"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X, y = cr.datasets.load_digits()
    n = 300 if args.fast else 1000
    X, y = X[:n], y[:n]
    widths = {"small": [64, 16, 10],
              "large": [64, 64, 64, 10] if args.fast else [64, 256, 256, 10]}
    epochs = 40 if args.fast else 150
    n_iter = 20 if args.fast else 60
    steps = 11 if args.fast else 25       # grid points per axis of the 2-D landscapes
    loss_fn = nn.CrossEntropyLoss()

    spectra, lines = {}, {}
    for name, sizes in widths.items():
        model, loss, start = train(sizes, X, y, epochs)
        top = analysis.hessian_eigenvalues(model, loss_fn, (X, y), k=3, which="LA", seed=0)
        spectrum = analysis.hessian_spectrum(model, loss_fn, (X, y), n_iter=n_iter, n_runs=3,
                                             seed=0)
        label = f"{name} {sizes} ({spectrum.n:,} parameters)"
        spectra[label] = spectrum
        print(f"{label}: training loss {loss:.4f}")
        print(f"  top eigenvalues {np.round(top, 4).tolist()}, "
              f"mass with |lambda| < 1% of max: {mass_near_zero(spectrum):.4f}")
        viz.plot_spectrum(spectrum, os.path.join(args.out, f"spectrum_{name}.png"),
                          title=f"Hessian eigenvalue density: {label}")
        alphas, losses = analysis.loss_landscape_1d(model, loss_fn, (X, y), start, steps=41)
        lines[label] = alphas, losses
        surface = analysis.loss_landscape_2d(model, loss_fn, (X, y), steps=steps, seed=0)
        at_start, at_end = losses[np.abs(alphas).argmin()], losses[np.abs(alphas - 1).argmin()]
        print(f"  1-D: loss {at_start:.4f} at the initial weights, {at_end:.4f} at the trained "
              f"ones; 2-D: loss "
              f"{surface.losses.min():.4f} to {surface.losses.max():.4f} over the plane")
        fig = viz.plot_landscape(surface, kind="contour" if args.fast else "both", levels=20,
                                 log_scale=True, title=f"loss around the trained weights: {label}")
        fig.savefig(os.path.join(args.out, f"landscape_{name}.png"), dpi=70)
    viz.plot_spectrum(spectra, os.path.join(args.out, "spectra.png"),
                      title="small vs large MLP on the same digits")
    plot_interpolations(lines, os.path.join(args.out, "interpolation.png"))
    print(f"plots written to {args.out}")
    return spectra


if __name__ == "__main__":
    main()
