"""What ``chainrule train`` and ``evaluate`` add for the generative models.

- ``autoencoder``: trained by the Trainer on (x, x) pairs (the "reconstruction" task, loss
  L = mean (x - x_hat)^2); after training, ``reconstructions.png`` shows test samples above their
  reconstructions and, for a 2-D code, ``codes.png`` the codes of the test samples by class.
- ``gan``: the generator G and the discriminator D train in turns (``GAN.fit``), which the
  Trainer's single loss of (input, target) does not describe. Every epoch appends loss_d, loss_g,
  d_real = mean D(x) and d_fake = mean D(G(z)) to ``log.csv`` and saves a checkpoint holding
  both networks, both Adam states, the history, the global random state and the data loader's
  generator, so that ``train --resume`` continues the run exactly. Every few epochs
  ``samples_epoch_NNN.png`` shows G(z) for the same noise vectors z (64 images, or 512 points
  over the real ones), drawn from a generator of their own seeded by ``--seed``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import backend
from chainrule.cli.registry import TaskData, image_shape
from chainrule.cli.report import format_results, plot_codes, plot_reconstructions, plot_samples
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import CSVLogger
from chainrule.train.history import History
from chainrule.train.progress import format_logs

CHECKPOINT, LOG, CURVES = "checkpoint.safetensors", "log.csv", "learning_curves.png"
FIXED_SAMPLES, FIXED_POINTS = 64, 512  # samples drawn per picture: images, 2-D points


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
    path = os.path.join(out, "reconstructions.png")
    if plot_reconstructions(shown.numpy(), rebuilt.numpy(), image_shape(data.in_shape), path):
        written.append(path)
    if codes.shape[1] == 2:
        path = os.path.join(out, "codes.png")
        labels = y.numpy() if data.task == "classification" else None
        if plot_codes(codes.numpy(), labels, path):
            written.append(path)
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
             "--device cuda": args.device != "cpu"}
    bad = [flag for flag, value in given.items() if value]
    if bad:
        raise UsageError(f"model 'gan' trains its generator and discriminator with Adam in its "
                         f"own adversarial loop, on the CPU; leave out {', '.join(bad)}")


def _sample_every(epochs: int) -> int:
    return max(1, round(epochs / 10))


def train_gan(gan, data: TaskData, config: dict, state: dict | None, out: str,
              verbose: int = 1) -> None:
    """Train (or resume) a GAN on the training samples of ``data``; write log, pictures and
    checkpoints into ``out``; print the test report."""
    X = data.train[0]
    loader = DataLoader(TensorDataset(X), min(config["batch_size"], len(X)), shuffle=True,
                        drop_last=True, seed=config["seed"])
    for optimizer in (gan.optimizer_g, gan.optimizer_d):
        for group in optimizer.param_groups:
            group.update(config["optimizer_args"])  # --lr and --weight-decay, for both
    history = History()
    start = 0
    if state is not None:
        gan.load_state_dict(state["model"])
        gan.optimizer_g.load_state_dict(state["optimizer_g"])
        gan.optimizer_d.load_state_dict(state["optimizer_d"])
        history.load_state_dict(state["history"])
        loader.load_state_dict(state["train_loader"])
        backend.set_rng_state(state["rng_state"])
        start = int(state["epoch"])
        if start >= config["epochs"]:
            print(f"the checkpoint has already trained {start} epochs; pass a larger --epochs "
                  "to train more", file=sys.stderr)
    epochs, every = config["epochs"], _sample_every(config["epochs"])
    shape = image_shape(data.in_shape)
    fixed_z = noise(FIXED_SAMPLES if shape is not None else FIXED_POINTS, gan.latent_dim,
                    config["seed"])
    pictures = []
    logger = CSVLogger(os.path.join(out, LOG), append=state is not None)
    clock = [time.perf_counter()]

    def on_epoch_end(index, logs):
        epoch = start + index + 1
        history.append(epoch - 1, logs)
        logger.on_epoch_end(epoch - 1, logs)
        if verbose:
            seconds = time.perf_counter() - clock[0]
            print(f"Epoch {epoch}/{epochs} - {seconds:.1f}s - {format_logs(logs)}",
                  file=sys.stderr)
        if epoch % every == 0 or epoch == epochs or epoch == 1:
            path = os.path.join(out, f"samples_epoch_{epoch:03d}.png")
            if plot_samples(gan.sample(z=fixed_z).numpy(), shape, path,
                            f"generated, epoch {epoch}", real=X.numpy()):
                pictures.append(path)
        cr.save({"model": gan.state_dict(), "optimizer_g": gan.optimizer_g.state_dict(),
                 "optimizer_d": gan.optimizer_d.state_dict(), "epoch": epoch,
                 "history": history.state_dict(), "rng_state": backend.get_rng_state(),
                 "train_loader": loader.state_dict(), "config": config},
                os.path.join(out, CHECKPOINT))
        clock[0] = time.perf_counter()

    logger.on_train_begin()
    try:
        gan.fit(loader, epochs=max(0, epochs - start), on_epoch_end=on_epoch_end)
    finally:
        logger.on_train_end()
    report_gan(gan, data, config)
    from chainrule.cli.report import plot_learning_curves

    written = [os.path.join(out, CHECKPOINT), os.path.join(out, LOG)]
    if len(history) and plot_learning_curves(history.history, os.path.join(out, CURVES)):
        written.append(os.path.join(out, CURVES))
    if pictures:
        written.append(f"{len(pictures)} pictures of samples ({os.path.basename(pictures[-1])}"
                       " the last)")
    print(f"wrote {', '.join(written[:-1])} and {written[-1]}")


def gan_results(gan, data: TaskData, seed: int) -> tuple:
    """The GAN's losses and D's mean outputs on the test samples against as many generated
    ones (from noise seeded by ``seed``), and the dataset's scores of the generated samples.

    Returns:
        (results, scores): ``{"loss_d", "loss_g", "d_real", "d_fake"}`` and a dict (empty
        when the dataset has no ``score_samples``).
    """
    from chainrule.models.gan import discriminator_loss, generator_loss

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
        "loss_d": discriminator_loss(real_logits, fake_logits, 1.0 - gan.label_smoothing).item(),
        "loss_g": generator_loss(fake_logits, gan.non_saturating).item(),
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
