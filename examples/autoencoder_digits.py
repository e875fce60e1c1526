"""An autoencoder on the 8x8 digits: reconstructions and a 2-D code (SPEC 11).

The encoder squeezes each 64-pixel digit into a code of ``--code-size`` numbers (2 by default),
the decoder rebuilds the image from it, and both learn together to minimise the mean squared
error between image and reconstruction. The digits are split 80/20; the script reports the
test MSE next to two references computed on the same split: predicting the mean training image,
and PCA with as many components as the code (the best *linear* autoencoder). Pictures:

- ``reconstructions.png``: test digits (top rows) and their reconstructions (bottom rows);
- ``codes.png``: the codes of the test digits, one colour per class (a 2-D code is drawn as
  is; a larger one through its first two principal components);
- ``loss.png``: train and test MSE per epoch.

``--model conv`` trains a :class:`ConvAutoencoder` (strided convolutions down, transposed
convolutions up) instead of the fully connected :class:`Autoencoder`.

Run:  python examples/autoencoder_digits.py [--fast] [--model mlp|conv] [--code-size 2]
      [--epochs 100] [--out DIR]
"""

import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset
from chainrule.models import Autoencoder, ConvAutoencoder


def split_digits(images, seed=0, test_fraction=0.2):
    """The digits, shuffled and split into (X_train, y_train), (X_test, y_test)."""
    X, y = cr.datasets.load_digits(images=images)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])


def pca_mse(X_train, X_test, k):
    """Test MSE of the reconstruction by the first k principal components of the train set."""
    a, b = X_train.numpy().reshape(len(X_train), -1), X_test.numpy().reshape(len(X_test), -1)
    mean = a.mean(0)
    V = np.linalg.svd(a - mean, full_matrices=False)[2][:k]
    return float((((b - mean) @ V.T @ V + mean - b) ** 2).mean())


def scatter_codes(codes, labels, path, title):
    """The codes in the plane (first two principal components when longer), by class."""
    c = codes - codes.mean(0)
    if c.shape[1] > 2:
        c = c @ np.linalg.svd(c, full_matrices=False)[2][:2].T
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    points = ax.scatter(c[:, 0], c[:, 1], c=labels, cmap="tab10", s=9, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel("code 1" if codes.shape[1] == 2 else "principal component 1")
    ax.set_ylabel("code 2" if codes.shape[1] == 2 else "principal component 2")
    ax.set_title(title)
    fig.savefig(path, dpi=100)


def plot_losses(history, path):
    fig = Figure(layout="constrained")
    ax = fig.subplots()
    epochs = np.arange(1, len(history["train"]) + 1)
    ax.plot(epochs, history["train"], label="train MSE")
    ax.plot(epochs, history["test"], label="test MSE")
    ax.set_xlabel("epoch")
    ax.set_ylabel("reconstruction MSE")
    ax.set_yscale("log")
    ax.legend()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few epochs only")
    parser.add_argument("--model", choices=("mlp", "conv"), default="mlp")
    parser.add_argument("--code-size", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "autoencoder_digits"))
    args = parser.parse_args(argv)
    epochs = 3 if args.fast else args.epochs
    os.makedirs(args.out, exist_ok=True)

    cr.manual_seed(args.seed)
    conv = args.model == "conv"
    (X_train, _), (X_test, y_test) = split_digits(images=conv, seed=args.seed)
    if conv:
        model = ConvAutoencoder(1, input_size=8, code_size=args.code_size)
    else:
        model = Autoencoder(64, code_size=args.code_size, hidden=(128, 32))
    optimizer = cr.optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(X_train), batch_size=64, shuffle=True, seed=args.seed)

    history = {"train": [], "test": []}
    for epoch in range(epochs):
        model.train()
        for (batch,) in loader:
            optimizer.zero_grad()
            loss = model.reconstruction_loss(batch)
            loss.backward()
            optimizer.step()
        model.eval()
        with cr.no_grad():
            history["train"].append(model.reconstruction_loss(X_train).item())
            history["test"].append(model.reconstruction_loss(X_test).item())
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}: train MSE {history['train'][-1]:.4f}, "
                  f"test MSE {history['test'][-1]:.4f}")

    baseline = float(((X_test.numpy() - X_train.numpy().mean(0)) ** 2).mean())
    pca = pca_mse(X_train, X_test, args.code_size)
    print(f"test MSE {history['test'][-1]:.4f} ({type(model).__name__}, code of "
          f"{args.code_size}); mean image {baseline:.4f}; PCA with {args.code_size} "
          f"components {pca:.4f}")

    with cr.no_grad():
        shown = X_test[:16]
        rebuilt = model(shown)
        codes = model.encode(X_test).numpy()
    pictures = np.concatenate([shown.numpy().reshape(16, 1, 8, 8),
                               rebuilt.numpy().reshape(16, 1, 8, 8)])
    paths = [os.path.join(args.out, name)
             for name in ("reconstructions.png", "codes.png", "loss.png")]
    cr.viz.image_grid(pictures, paths[0], nrow=8, normalize=False,
                      title="test digits (top) and their reconstructions (bottom)")
    scatter_codes(codes, y_test.numpy(), paths[1],
                  f"codes of the test digits (test MSE {history['test'][-1]:.4f})")
    plot_losses(history, paths[2])
    print("written " + ", ".join(paths))
    return {"test_mse": history["test"][-1], "mean_image_mse": baseline, "pca_mse": pca,
            "history": history}


if __name__ == "__main__":
    main()
