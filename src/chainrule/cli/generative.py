"""What ``chainrule train`` and ``evaluate`` add for the generative models.

Every model trains through the Trainer's ``fit``, with its callbacks (``log.csv``, checkpoint,
progress display) and its one checkpoint layout; this module adds what differs:

- ``autoencoder``: trained on (x, x) pairs (the "reconstruction" task, loss
  L = mean (x - x_hat)^2); after training, ``reconstructions.png`` shows test samples above their
  reconstructions and, for a 2-D code, ``codes.png`` the codes of the test samples by class.
- ``gan``: a :class:`~chainrule.models.gan.GANTrainer` makes one Adam step of the discriminator D
  then one of the generator G on every batch, and logs loss_d, loss_g, d_real = mean D(x) and
  d_fake = mean D(G(z)); its checkpoints hold both optimisers (``optimizer_g``,
  ``optimizer_d``) beside the model, epoch, history and random states, so that
  ``train --resume`` continues the run exactly. Every few epochs ``samples_epoch_NNN.png``
  shows G(z) for the same noise vectors z (64 images, or 512 points over the real ones), drawn
  from a generator of their own seeded by ``--seed``.
"""

from __future__ import annotations

import os

import numpy as np

import chainrule as cr
from chainrule.cli.registry import TaskData, image_shape
from chainrule.cli.report import can_draw, format_results
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import Callback

FIXED_SAMPLES, FIXED_POINTS = 64, 512  # samples drawn per picture: images, 2-D points
BETAS = (0.5, 0.999)  # Adam's betas for both networks of a GAN (beta1 = 0.5, Radford et al.)


def drawable(in_shape) -> bool:
    """Whether samples of shape ``in_shape`` can be drawn: as images, or as 2-D points."""
    return image_shape(in_shape) is not None or int(np.prod(in_shape)) == 2


def noise(n: int, latent_dim: int, seed: int):
    """n noise vectors z ~ N(0, I) from a private generator seeded by ``seed`` (the global random
    state is left alone, so drawing them does not change a run)."""
    z = np.random.default_rng(seed).standard_normal((int(n), int(latent_dim)))
    return cr.tensor(z.astype(np.float32))


# ---- autoencoder ------------------------------------------------------------------------------
def autoencoder_pictures(model, data: TaskData, out: str) -> list:
    """Draw ``reconstructions.png`` (and ``codes.png`` for a 2-D code); return the paths."""
    X, y = data.test
    model.eval()
    with cr.no_grad():
        shown = X[:8]
        rebuilt = model(shown)
        codes = model.encode(X)
    written = []
    if not (drawable(data.in_shape) or codes.shape[1] == 2) or not can_draw():
        return written
    if drawable(data.in_shape):
        written.append(os.path.join(out, "reconstructions.png"))
        cr.viz.plot_reconstructions(shown, rebuilt, written[-1],
                                    image_shape=image_shape(data.in_shape))
    if codes.shape[1] == 2:
        written.append(os.path.join(out, "codes.png"))
        labels = y if data.task == "classification" else None
        cr.viz.plot_codes(codes, labels, written[-1], title="codes of the test samples")
    return written


# ---- GAN --------------------------------------------------------------------------------------
def check_gan_args(args) -> None:
    """Refuse the options of ``chainrule train`` that a GAN run does not use."""
    from chainrule.cli import UsageError

    given = {"--optimizer": args.optimizer not in (None, "adam"),
             "--momentum": args.momentum is not None,
             "--scheduler": args.scheduler not in (None, "none"),
             "--patience": args.patience is not None,
             "--val-split": args.val_split is not None,
             "--clip-grad-norm": getattr(args, "clip_grad_norm", None) is not None,
             "--device cuda": args.device != "cpu"}
    bad = [flag for flag, value in given.items() if value]
    if bad:
        raise UsageError(f"model 'gan' trains its generator and discriminator with Adam, "
                         f"without validation or schedule, on the CPU; leave out "
                         f"{', '.join(bad)}")


class SamplePictures(Callback):
    """Save ``samples_epoch_NNN.png``, G(z) for the same noise z, after the first and the last
    epoch and every tenth of the run; ``paths`` lists the pictures written.

    Args:
        z: the fixed noise, shape (N, latent_dim).
        shape: the image shape of a sample, or None for points.
        real: real samples, drawn under points.
        out: the folder.
    """

    def __init__(self, z, shape, real, out: str):
        self.z, self.shape, self.real, self.out = z, shape, real, out
        self.paths: list = []
        self.enabled = False

    def on_train_begin(self, logs=None):
        self.enabled = drawable(self.real.shape[1:]) and can_draw()

    def on_epoch_end(self, epoch, logs=None):
        epochs = self.trainer.params["epochs"]
        every = max(1, round(epochs / 10))
        epoch += 1
        if self.enabled and (epoch % every == 0 or epoch == epochs or epoch == 1):
            path = os.path.join(self.out, f"samples_epoch_{epoch:03d}.png")
            cr.viz.plot_samples(self.model.sample(z=self.z), path, image_shape=self.shape,
                                real=self.real, title=f"generated, epoch {epoch}")
            self.paths.append(path)


def gan_trainer(gan, data: TaskData, config: dict, out: str, callbacks: list) -> tuple:
    """The GANTrainer of a run and the loader of its training samples.

    Both networks get Adam (betas 0.5, 0.999) with ``--lr`` and ``--weight-decay``; the
    trainer's callbacks are ``callbacks`` and a :class:`SamplePictures`. Every batch holds
    ``--batch-size`` samples (the last, smaller one is dropped).

    Returns:
        (trainer, loader).
    """
    from chainrule.models.gan import GANTrainer

    X = data.train[0]
    loader = DataLoader(TensorDataset(X), min(config["batch_size"], len(X)), shuffle=True,
                        drop_last=True, seed=config["seed"])
    optimizer_g, optimizer_d = (cr.optim.Adam(net.parameters(), betas=BETAS,
                                              **config["optimizer_args"])
                                for net in (gan.generator, gan.discriminator))
    shape = image_shape(data.in_shape)
    z = noise(FIXED_SAMPLES if shape is not None else FIXED_POINTS, gan.latent_dim,
              config["seed"])
    pictures = SamplePictures(z, shape, X.numpy(), out)
    return GANTrainer(gan, optimizer_g, optimizer_d, callbacks=[*callbacks, pictures]), loader


def gan_written(trainer) -> list:
    """What a GAN run drew, for the final "wrote ..." line."""
    paths = [p for cb in trainer.callbacks if isinstance(cb, SamplePictures) for p in cb.paths]
    if not paths:
        return []
    return [f"{len(paths)} pictures of samples ({os.path.basename(paths[-1])} the last)"]


def gan_results(gan, data: TaskData, seed: int) -> tuple:
    """The GAN's losses and D's mean outputs on the test samples against as many generated
    ones (from noise seeded by ``seed``), and the dataset's scores of the generated samples.

    Returns:
        (results, scores): ``{"loss_d", "loss_g", "d_real", "d_fake"}`` and a dict (empty
        when the dataset has no ``score_samples``).
    """
    X = data.test[0]
    z = noise(len(X), gan.latent_dim, seed + 1)
    fake = gan.sample(z=z)
    was_training = gan.training
    gan.eval()
    try:
        with cr.no_grad():
            real_logits, fake_logits = gan.discriminator(X), gan.discriminator(fake)
    finally:
        gan.train(was_training)
    results = {
        "loss_d": gan.discriminator_loss(real_logits, fake_logits).item(),
        "loss_g": gan.generator_loss(fake_logits).item(),
        "d_real": real_logits.sigmoid().mean().item(),
        "d_fake": fake_logits.sigmoid().mean().item(),
    }
    scores = data.score_samples(fake) if data.score_samples is not None else {}
    return results, scores


def report_gan(gan, data: TaskData, config: dict) -> None:
    """Print :func:`gan_results`: one line for the test samples, one for the generated ones."""
    results, scores = gan_results(gan, data, config["seed"])
    n = len(data.test[0])
    print(format_results(results, n))
    if scores:
        print(format_results(scores, n, prefix="generated"))
