"""Batch, stochastic and mini-batch gradient descent on the same problem (SPEC 6).

The three differ only in the DataLoader's batch size, and so in how many samples each update
sees:

- batch gradient descent: batch_size = len(dataset), one exact-gradient update per epoch;
- stochastic gradient descent: batch_size = 1, one noisy update per sample;
- mini-batch gradient descent: anything between (here 16), shuffled every epoch without
  replacement, so an epoch still visits every sample once.

The problem is a line fit y = 3 x + 2 + noise with a single Linear(1, 1) and the MSE loss, so
the answer (w = 3, b = 2) is known. The same learning rate serves all three; the table shows
the number of updates, the final loss and parameters, and the time per run, and a plot (when
matplotlib is installed) shows the loss against epochs and against updates.

Run: python examples/gradient_descent_variants.py [--epochs 30] [--out DIR] [--fast]
"""

from __future__ import annotations

import argparse
import os
import time

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset


def make_line(n_samples: int, seed: int = 0):
    """x uniform in [-1, 1], y = 3 x + 2 + N(0, 0.1^2)."""
    generator = cr.manual_seed(seed)
    x = cr.rand(n_samples, 1, generator=generator) * 2 - 1
    y = 3 * x + 2 + 0.1 * cr.randn(n_samples, 1, generator=generator)
    return x, y


def train(dataset, batch_size: int, epochs: int, lr: float, seed: int = 0):
    """The plain loop; returns the model and the full-data loss after every epoch and update."""
    cr.manual_seed(seed)
    model = nn.Linear(1, 1)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, seed=seed)
    x_all, y_all = dataset.tensors
    per_epoch, per_update = [], []
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            per_update.append(loss.item())
        with cr.no_grad():
            per_epoch.append(loss_fn(model(x_all), y_all).item())
    return model, per_epoch, per_update


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, (_, per_epoch, per_update, _) in results.items():
        left.plot(range(1, len(per_epoch) + 1), per_epoch, marker=".", label=name)
        right.plot(range(1, len(per_update) + 1), per_update, label=name, alpha=0.8)
    left.set(xlabel="epoch", ylabel="MSE on all samples", yscale="log",
             title="loss per epoch")
    right.set(xlabel="update", ylabel="MSE of the update's batch", yscale="log", xscale="log",
              title="loss per update")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", default=os.path.join("examples", "output",
                                                      "gradient_descent_variants"))
    parser.add_argument("--fast", action="store_true", help="a quick run (5 epochs, 64 samples)")
    args = parser.parse_args(argv)
    if args.fast:
        args.epochs, args.samples = 5, 64

    dataset = TensorDataset(*make_line(args.samples))
    variants = {"batch (all samples)": len(dataset), "stochastic (1 sample)": 1,
                "mini-batch (16 samples)": 16}
    results = {}
    print(f"{'variant':<26}{'updates':>9}{'final MSE':>12}{'w':>8}{'b':>8}{'seconds':>9}")
    for name, batch_size in variants.items():
        start = time.perf_counter()
        model, per_epoch, per_update = train(dataset, batch_size, args.epochs, args.lr)
        seconds = time.perf_counter() - start
        w, b = model.weight.item(), model.bias.item()
        results[name] = (model, per_epoch, per_update, seconds)
        print(f"{name:<26}{len(per_update):>9}{per_epoch[-1]:>12.5f}{w:>8.3f}{b:>8.3f}"
              f"{seconds:>9.2f}")
    print("target: w = 3, b = 2; the noise alone gives an MSE of about 0.01")
    try:
        os.makedirs(args.out, exist_ok=True)
        plot(results, os.path.join(args.out, "loss_curves.png"))
        print(f"wrote {os.path.join(args.out, 'loss_curves.png')}")
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'chainrule[plot]')")
    return results


if __name__ == "__main__":
    main()
