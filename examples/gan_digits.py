"""A GAN draws handwritten digits (SPEC 11, image generation).

Trained on the 1,797 8x8 digits that ship with scikit-learn (pixels scaled to [0, 1]). The
generator maps 32-D noise through two hidden layers to 64 pixels with a sigmoid output; the
discriminator mirrors it and outputs one logit. Real labels are smoothed to 0.9 (one-sided
label smoothing), which keeps the discriminator from becoming overconfident.

Every ``--every`` epochs the script saves ``samples_epoch_NNN.png``, a grid of the digits the
generator makes from the *same* 64 noise vectors, so that the pictures show the same samples
growing from blurred blobs into digits; ``losses.png`` holds both losses per epoch and
``real.png`` a grid of real digits to compare with.

Run:  python examples/gan_digits.py [--fast] [--epochs 100] [--every 20] [--out DIR]
"""

import argparse
import math
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.models import GAN
from chainrule.models.gan import GANTrainer
from chainrule.train import LambdaCallback


def plot_history(history, path):
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.subplots()
    epochs = np.arange(1, len(history["loss_d"]) + 1)
    ax.plot(epochs, history["loss_d"], label="discriminator L_D")
    ax.plot(epochs, history["loss_g"], label="generator L_G")
    ax.axhline(math.log(2), c="k", ls=":", lw=1, label="log 2")
    ax.set_xlabel("epoch")
    ax.legend()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="two epochs only")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--every", type=int, default=20, help="save a grid every N epochs")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("examples", "output", "gan_digits"))
    args = parser.parse_args(argv)
    epochs, every = (2, 1) if args.fast else (args.epochs, args.every)
    os.makedirs(args.out, exist_ok=True)

    cr.manual_seed(args.seed)
    X, _ = cr.datasets.load_digits()
    gan = GAN(64, latent_dim=32, hidden=(128, 256), output_activation="sigmoid",
              label_smoothing=0.1)
    optimizer_g = optim.Adam(gan.generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optimizer_d = optim.Adam(gan.discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    fixed_z = gan.noise(64)
    written = [os.path.join(args.out, "real.png")]
    cr.viz.image_grid(X[:64].reshape(64, 1, 8, 8), written[0], normalize=False,
                      title="real digits")

    def on_epoch_end(epoch, logs):
        if (epoch + 1) % every and epoch + 1 != epochs:
            return
        path = os.path.join(args.out, f"samples_epoch_{epoch + 1:03d}.png")
        images = gan.sample(z=fixed_z).reshape(64, 1, 8, 8)
        cr.viz.image_grid(images, path, normalize=False, title=f"generated, epoch {epoch + 1}")
        written.append(path)
        print(f"epoch {epoch + 1:3d}: L_D {logs['loss_d']:.3f}, L_G {logs['loss_g']:.3f}, "
              f"D(x) {logs['d_real']:.2f}, D(G(z)) {logs['d_fake']:.2f} -> {path}")

    # every step sees 64 real digits: the last, smaller batch of an epoch is dropped
    loader = DataLoader(TensorDataset(X), batch_size=64, shuffle=True, drop_last=True,
                        seed=args.seed)
    trainer = GANTrainer(gan, optimizer_g, optimizer_d,
                         callbacks=[LambdaCallback(on_epoch_end=on_epoch_end)])
    history = trainer.fit(loader, epochs=epochs, verbose=0)
    written.append(os.path.join(args.out, "losses.png"))
    plot_history(history, written[-1])
    print(f"written {len(written)} pictures in {args.out}")
    return {"history": history, "paths": written}


if __name__ == "__main__":
    main()
