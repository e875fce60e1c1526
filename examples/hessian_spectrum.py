"""The Hessian's eigenvalue spectrum of a small and a larger MLP trained on the same digits.

SPEC 8: eigenvalues of H = d^2 L / dW dW measure curvature; the spectrum of a larger network
concentrates nearer zero than that of a smaller one (most directions of an over-parameterised
network are flat), with a few large outliers. Both networks are trained on the same data, then:

* the top eigenvalues come from Lanczos on Hessian-vector products (double backward),
* the density from stochastic Lanczos quadrature, plotted for each network and together,
* the share of the spectral mass with |lambda| < 1% of |lambda|_max is printed for each.

Run:  python examples/hessian_spectrum.py [--fast] [--out examples/output/hessian_spectrum]
"""

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import analysis, nn, viz
from chainrule.models.mlp import MLP


def train(sizes, X, y, epochs, seed=0):
    """Full-batch Adam on cross-entropy: the manual loop."""
    cr.manual_seed(seed)
    model = MLP(sizes)
    loss_fn = nn.CrossEntropyLoss()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
    return model, loss.item()


def mass_near_zero(spectrum, fraction=0.01):
    """The share of the density's mass at |theta| < fraction * max |theta| (SLQ weights)."""
    ok = ~np.isnan(spectrum.nodes)
    theta, w = spectrum.nodes[ok], spectrum.weights[ok]
    return float(w[np.abs(theta) < fraction * np.abs(theta).max()].sum()
                 / spectrum.nodes.shape[0])


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
    loss_fn = nn.CrossEntropyLoss()

    spectra = {}
    for name, sizes in widths.items():
        model, loss = train(sizes, X, y, epochs)
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
    viz.plot_spectrum(spectra, os.path.join(args.out, "spectra.png"),
                      title="small vs large MLP on the same digits")
    print(f"plots written to {args.out}")
    return spectra


if __name__ == "__main__":
    main()
