"""Generative adversarial networks (Goodfellow et al., 2014): a generator against a discriminator.

The generator G maps noise z ~ N(0, I) to samples G(z); the discriminator D maps a sample to the
probability D(x) = sigmoid(logit(x)) that it is real. They are trained in turns (SPEC 4):

    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))]      D learns to tell real from generated
    L_G = -E_z[log D(G(z))]                            G learns to fool D (non-saturating)

The original minimax generator loss E_z[log(1 - D(G(z)))] has a vanishing gradient when D
confidently rejects the fakes (early in training); the non-saturating form has the same fixed
point and a strong gradient there. Both losses are binary cross-entropies of D's logits, computed
stably by ``binary_cross_entropy_with_logits`` (finite even for logits of +-200).

:class:`GAN` holds the two networks and their losses; :class:`GANTrainer`, a Trainer whose
``train_step`` makes one update of D then one of G, trains it with an optimiser per network.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from chainrule import nn
from chainrule.autograd.mode import no_grad
from chainrule.creation import as_tensor, full_like, randn, zeros_like
from chainrule.models.mlp import MLP
from chainrule.nn.losses import binary_cross_entropy_with_logits
from chainrule.tensor import Tensor
from chainrule.train.batches import split_batch
from chainrule.train.trainer import Trainer


# ---- losses -----------------------------------------------------------------------------------
def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """The discriminator's loss, from its logits on real and on generated samples.

    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))], D = sigmoid(logits), expectations as batch
    means. With one-sided label smoothing (``real_label`` = 1 - s, e.g. 0.9) the real term is
    the cross-entropy against s: -E_x[(1 - s) log D(x) + s log(1 - D(x))]; the fake targets stay
    0 (smoothing them would reward generated samples D finds plausible).

    Args:
        real_logits: D's logits on a batch of real samples, shape (N, 1) or (N,).
        fake_logits: D's logits on a batch of generated samples.
        real_label: the target of real samples (1, or 1 - s with smoothing s).

    Returns:
        A scalar Tensor.

    Example:
        >>> discriminator_loss(cr.tensor([[0.0]]), cr.tensor([[0.0]]))     # 2 log 2 = 1.3863
    """
    real = binary_cross_entropy_with_logits(real_logits, full_like(real_logits, real_label))
    fake = binary_cross_entropy_with_logits(fake_logits, zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits, non_saturating: bool = True):
    """The generator's loss, from the discriminator's logits on generated samples.

    non-saturating (default): L_G = -E_z[log D(G(z))]
    minimax (the original):   L_G =  E_z[log(1 - D(G(z)))]

    Args:
        fake_logits: D's logits on a batch of generated samples.
        non_saturating: use the non-saturating form.

    Returns:
        A scalar Tensor.

    Example:
        >>> generator_loss(cr.tensor([[0.0]]))                               # log 2 = 0.6931
    """
    if non_saturating:
        return binary_cross_entropy_with_logits(fake_logits, full_like(fake_logits, 1.0))
    return -binary_cross_entropy_with_logits(fake_logits, zeros_like(fake_logits))


# ---- the model --------------------------------------------------------------------------------
class GAN(nn.Module):
    """A generator and a discriminator, with the losses they are trained on.

    By default both networks are MLPs: G: latent_dim -> hidden -> data, D: data -> reversed
    hidden -> 1 logit, with leaky ReLU between layers. Pass ``generator`` and ``discriminator``
    to use your own (D must output one logit per sample). The model holds no optimiser: a
    :class:`GANTrainer` trains it with one per network.

    Args:
        data_shape: the number of features of a sample, or its shape (e.g. (1, 8, 8)).
        latent_dim: the dimension of the noise z.
        hidden: hidden widths of the default generator (the discriminator mirrors them).
        activation: hidden activation of the default networks.
        output_activation: the default generator's output activation (None: linear; "sigmoid"
            for data in [0, 1], "tanh" for data in [-1, 1]).
        generator, discriminator: Modules that replace the default networks.
        label_smoothing: one-sided label smoothing s in [0, 1): real samples get target 1 - s.
        non_saturating: the generator's loss form (see :func:`generator_loss`).

    Example:
        >>> X, _ = make_gaussian_mixture(2048, modes=8, radius=2.0, std=0.05, seed=0)
        >>> gan = GAN(2, latent_dim=8)
        >>> optimizer_g = optim.Adam(gan.generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
        >>> optimizer_d = optim.Adam(gan.discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
        >>> history = GANTrainer(gan, optimizer_g, optimizer_d).fit(X, epochs=50, batch_size=128)
        >>> gan.sample(1000).shape
        (1000, 2)
    """

    def __init__(self, data_shape=2, latent_dim: int = 8, hidden=(128, 128),
                 activation="leaky_relu", output_activation=None, generator=None,
                 discriminator=None, label_smoothing: float = 0.0, non_saturating: bool = True):
        super().__init__()
        shape = (data_shape,) if isinstance(data_shape, int) else tuple(data_shape)
        if int(latent_dim) < 1 or any(int(s) < 1 for s in shape):
            raise ValueError(f"GAN: latent_dim {latent_dim!r} and data_shape {data_shape!r} "
                             "must be positive")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"GAN: label_smoothing must be in [0, 1), got {label_smoothing}")
        self.data_shape, self.latent_dim = tuple(int(s) for s in shape), int(latent_dim)
        self.label_smoothing, self.non_saturating = float(label_smoothing), bool(non_saturating)
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        features = math.prod(self.data_shape)
        if generator is None:
            generator = MLP([self.latent_dim, *hidden, features], activation=activation,
                            output_activation=output_activation)
            if len(self.data_shape) > 1:
                generator.append(nn.Unflatten(1, self.data_shape))
        if discriminator is None:
            discriminator = MLP([features, *reversed(hidden), 1], activation=activation)
            if len(self.data_shape) > 1:
                discriminator.insert(0, nn.Flatten())
        self.generator, self.discriminator = generator, discriminator

    def forward(self, z):
        """G(z): generated samples from noise z of shape (N, latent_dim)."""
        return self.generator(z)

    def noise(self, n: int) -> Tensor:
        """n draws of z ~ N(0, I) from chainrule's global generator, shape (n, latent_dim)."""
        dtype = next(iter(self.generator.parameters())).dtype
        return randn(int(n), self.latent_dim, dtype=dtype)

    def discriminator_loss(self, real_logits, fake_logits):
        """L_D of :func:`discriminator_loss`, with this GAN's label smoothing."""
        return discriminator_loss(real_logits, fake_logits, 1.0 - self.label_smoothing)

    def generator_loss(self, fake_logits):
        """L_G of :func:`generator_loss`, in this GAN's form (non-saturating or minimax)."""
        return generator_loss(fake_logits, self.non_saturating)

    def sample(self, n: int | None = None, z=None) -> Tensor:
        """Generated samples G(z), in eval mode and without a graph.

        Args:
            n: draw n noise vectors z ~ N(0, I).
            z: or use this noise, shape (N, latent_dim) (e.g. the same z at every epoch, to
                watch the same samples improve).
        """
        if (n is None) == (z is None):
            raise ValueError("GAN.sample: give either n or z")
        z = self.noise(n) if z is None else (z if isinstance(z, Tensor) else as_tensor(z))
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                return self.generator(z)
        finally:
            self.train(was_training)

    def extra_repr(self) -> str:
        return f"data_shape={self.data_shape}, latent_dim={self.latent_dim}"


# ---- training ---------------------------------------------------------------------------------
class GANTrainer(Trainer):
    """The Trainer of a :class:`GAN`: its ``train_step`` updates D, then G.

    One step on a batch of real samples x (Goodfellow et al.'s algorithm with k = 1):

    1. discriminator: z ~ N(0, I), fakes G(z) (no gradient into G); one step of
       ``optimizer_d`` on L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))];
    2. generator: fresh z, one step of ``optimizer_g`` on L_G = -E_z[log D(G(z))] (or the
       minimax form) through the updated D, whose parameters are frozen meanwhile (they get no
       gradient from this step).

    Everything else is the :class:`~chainrule.train.Trainer`'s: ``fit`` (callbacks, progress,
    :class:`~chainrule.train.History`), ``evaluate`` (``test_step``: both losses without an
    update), ``predict`` (samples G(z) of given noise) and checkpoints, which hold both
    optimisers as ``optimizer_g`` and ``optimizer_d``. The logs, means over an epoch's samples:
    ``loss_d``, ``loss_g``, ``d_real`` = mean D(x) and ``d_fake`` = mean D(G(z)) (D's outputs
    before its update; at the equilibrium both are 1/2); no ``lr``, the two optimisers keep
    their own.

    Args:
        gan: the :class:`GAN`.
        optimizer_g, optimizer_d: optimisers of the generator's and of the discriminator's
            parameters (Adam with beta1 = 0.5 is the usual choice, after Radford et al., 2016);
            None for a trainer that only evaluates and predicts.
        callbacks: callbacks used by every ``fit``.

    Example:
        >>> trainer = GANTrainer(gan, optimizer_g, optimizer_d, callbacks=[CSVLogger("log.csv")])
        >>> history = trainer.fit(X, epochs=60, batch_size=128, seed=0)
        >>> history["loss_d"][-1], history["d_real"][-1]
        >>> trainer.save_checkpoint("gan.safetensors")      # resumes exactly
    """

    def __init__(self, gan: GAN, optimizer_g=None, optimizer_d=None, callbacks=None):
        super().__init__(gan, callbacks=callbacks)
        self.optimizer_g, self.optimizer_d = optimizer_g, optimizer_d

    def named_optimizers(self) -> dict:
        """``{"optimizer_g": ..., "optimizer_d": ...}``, their keys in a checkpoint."""
        return {"optimizer_g": self.optimizer_g, "optimizer_d": self.optimizer_d}

    def _real(self, batch) -> Tensor:
        real, _ = split_batch(batch)  # samples, or (samples, labels): the labels are unused
        return real if isinstance(real, Tensor) else as_tensor(real)

    def train_step(self, batch) -> dict:
        """One update of the discriminator, then one of the generator; the epoch's logs."""
        gan, real = self.model, self._real(batch)
        n = real.shape[0]
        with no_grad():
            fake = gan.generator(gan.noise(n))
        real_logits, fake_logits = gan.discriminator(real), gan.discriminator(fake)
        loss_d = gan.discriminator_loss(real_logits, fake_logits)
        self.optimizer_d.zero_grad()
        loss_d.backward()
        self.optimizer_d.step()

        frozen = [(p, p.requires_grad) for p in gan.discriminator.parameters()]
        for p, _ in frozen:
            p.requires_grad_(False)
        try:
            loss_g = gan.generator_loss(gan.discriminator(gan.generator(gan.noise(n))))
            self.optimizer_g.zero_grad()
            loss_g.backward()
            self.optimizer_g.step()
        finally:
            for p, flag in frozen:
                p.requires_grad_(flag)
        return self.update_means({"loss_d": loss_d, "loss_g": loss_g,
                                  "d_real": real_logits.sigmoid().mean(),
                                  "d_fake": fake_logits.sigmoid().mean()}, n)

    def test_step(self, batch) -> dict:
        """Both losses and D's mean outputs on real samples against as many fakes, no update."""
        gan, real = self.model, self._real(batch)
        n = real.shape[0]
        real_logits = gan.discriminator(real)
        fake_logits = gan.discriminator(gan.generator(gan.noise(n)))
        return self.update_means({"loss_d": gan.discriminator_loss(real_logits, fake_logits),
                                  "loss_g": gan.generator_loss(fake_logits),
                                  "d_real": real_logits.sigmoid().mean(),
                                  "d_fake": fake_logits.sigmoid().mean()}, n)


# ---- evaluation on a mixture ------------------------------------------------------------------
class ModeCoverage(NamedTuple):
    """How well samples cover the modes of a mixture (see :func:`mode_coverage`)."""

    covered: int
    counts: np.ndarray
    quality: float


def mode_coverage(samples, centers, std: float, n_std: float = 3.0,
                  min_fraction: float = 0.1) -> ModeCoverage:
    """Count the modes of a Gaussian mixture that generated samples reach.

    A sample belongs to its nearest centre c_k when ||x - c_k|| <= n_std * std (a
    "high-quality" sample); otherwise to none. Mode k is covered when it receives at least
    ``min_fraction`` of its fair share, min_fraction * N / K samples. A generator that
    collapses onto a few modes covers few; one that spreads between the modes has low quality.

    Args:
        samples: generated points, shape (N, d) (a Tensor or an array).
        centers: the mixture's centres, shape (K, d) (e.g. ``ring_centers(8, 2.0)``).
        std: the standard deviation of the modes.
        n_std: the radius of a mode, in standard deviations.
        min_fraction: the share of N / K samples a mode needs to count as covered.

    Returns:
        ModeCoverage(covered, counts (K,) samples per mode, quality = fraction of samples
        within n_std * std of a centre).

    Example:
        >>> mode_coverage(gan.sample(2000), ring_centers(8, 2.0), std=0.05).covered     # 8
    """
    x = np.asarray(samples.numpy() if isinstance(samples, Tensor) else samples, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"mode_coverage: samples {x.shape} and centers {c.shape} must be "
                         "(N, d) and (K, d) arrays")
    distance = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(x)), nearest] <= n_std * std
    counts = np.bincount(nearest[close], minlength=len(c))
    covered = int((counts >= max(1.0, min_fraction * len(x) / len(c))).sum())
    return ModeCoverage(covered, counts, float(close.mean()) if len(x) else 0.0)
