"""A GAN learns a mixture of eight Gaussians on a ring (SPEC 4 and 11).

The real data are 8 narrow Gaussians on a circle of radius 2; the generator turns 8-D noise
into points of the plane, the discriminator tells them from real ones, and the two are trained
in turns with the losses L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))] and the non-saturating
L_G = -E_z[log D(G(z))]. A GAN that collapses puts its samples on one or two modes; this one is
checked by counting the modes that receive generated samples within 3 standard deviations.

Pictures (in --out): ``mixture.png``, real (grey) against generated (red) points at several
epochs, each titled with the modes covered; ``losses.png``, both losses and the mean outputs
D(x) and D(G(z)) per epoch (at the equilibrium D = 1/2 everywhere, L_D = 2 log 2, L_G = log 2).

Run:  python examples/gan_mixture.py [--fast] [--epochs 120] [--std 0.05] [--out DIR]
"""

import argparse
import math
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import optim
from chainrule.data.generative import make_gaussian_mixture, ring_centers
from chainrule.models import GAN
from chainrule.models.gan import GANTrainer, mode_coverage
from chainrule.train import LambdaCallback


def snapshot_epochs(epochs, count=5):
    """``count`` epochs (1-based) spread evenly up to the last, for the pictures."""
    return sorted({max(1, round(epochs * (i + 1) / count)) for i in range(count)})


def plot_snapshots(real, snapshots, centers, path):
    """One panel per snapshot: real points in grey, generated in red, mode centres as crosses."""
    fig = Figure(figsize=(3.0 * len(snapshots), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(snapshots), sharex=True, sharey=True))
    for ax, (epoch, fake, covered) in zip(axes, snapshots):
        ax.scatter(real[:, 0], real[:, 1], s=2, c="0.6", label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:red", alpha=0.5, label="generated")
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", c="k", s=20)
        ax.set_title(f"epoch {epoch}: {covered}/{len(centers)} modes")
        ax.set_aspect("equal")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    axes[0].legend(loc="lower left", fontsize=7, markerscale=4)
    fig.savefig(path, dpi=100)


def plot_history(history, path):
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["loss_d"]) + 1)
    left.plot(epochs, history["loss_d"], label="L_D")
    left.plot(epochs, history["loss_g"], label="L_G")
    left.axhline(2 * math.log(2), c="C0", ls=":", lw=1)
    left.axhline(math.log(2), c="C1", ls=":", lw=1)
    left.set_xlabel("epoch")
    left.legend()
    right.plot(epochs, history["d_real"], label="mean D(x)")
    right.plot(epochs, history["d_fake"], label="mean D(G(z))")
    right.axhline(0.5, c="k", ls=":", lw=1)
    right.set_xlabel("epoch")
    right.legend()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few epochs only")
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--modes", type=int, default=8)
    parser.add_argument("--std", type=float, default=0.05)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "gan_mixture"))
    args = parser.parse_args(argv)
    epochs = 4 if args.fast else args.epochs
    os.makedirs(args.out, exist_ok=True)

    cr.manual_seed(args.seed)
    X, _ = make_gaussian_mixture(2048, modes=args.modes, radius=2.0, std=args.std,
                                 seed=args.seed)
    centers = ring_centers(args.modes, 2.0)
    gan = GAN(2, latent_dim=8, hidden=(64, 64))
    optimizer_g = optim.Adam(gan.generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optimizer_d = optim.Adam(gan.discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    wanted, snapshots = snapshot_epochs(epochs), []

    def on_epoch_end(epoch, logs):
        if epoch + 1 in wanted:
            fake = gan.sample(1000).numpy()
            coverage = mode_coverage(fake, centers, args.std)
            snapshots.append((epoch + 1, fake, coverage.covered))
            print(f"epoch {epoch + 1:3d}: L_D {logs['loss_d']:.3f}, L_G {logs['loss_g']:.3f}, "
                  f"D(x) {logs['d_real']:.2f}, D(G(z)) {logs['d_fake']:.2f}; "
                  f"{coverage.covered}/{args.modes} modes, "
                  f"{100 * coverage.quality:.0f}% of samples within 3 std of a mode")

    trainer = GANTrainer(gan, optimizer_g, optimizer_d,
                         callbacks=[LambdaCallback(on_epoch_end=on_epoch_end)])
    history = trainer.fit(X, epochs=epochs, batch_size=128, seed=args.seed, verbose=0)
    final = mode_coverage(gan.sample(2000), centers, args.std)
    print(f"modes covered: {final.covered}/{args.modes}; samples per mode {final.counts.tolist()}")

    paths = [os.path.join(args.out, "mixture.png"), os.path.join(args.out, "losses.png")]
    plot_snapshots(X.numpy(), snapshots, centers, paths[0])
    plot_history(history, paths[1])
    print("written " + ", ".join(paths))
    return {"coverage": final, "history": history}


if __name__ == "__main__":
    main()
