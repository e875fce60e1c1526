"""Generative adversarial networks (Goodfellow et al., 2014): a generator against a discriminator.

The generator G maps noise z ~ N(0, I) to samples G(z); the discriminator D maps a sample to the
probability D(x) = sigmoid(logit(x)) that it is real. They are trained in turns (SPEC 4):

    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))]      D learns to tell real from generated
    L_G = -E_z[log D(G(z))]                            G learns to fool D (non-saturating)

The original minimax generator loss E_z[log(1 - D(G(z)))] has a vanishing gradient when D
confidently rejects the fakes (early in training); the non-saturating form has the same fixed
point and a strong gradient there. Both losses are binary cross-entropies of D's logits, computed
stably by ``binary_cross_entropy_with_logits`` (finite even for logits of +-200).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from chainrule import nn, optim
from chainrule.autograd.mode import no_grad
from chainrule.creation import as_tensor, full_like, randn, zeros_like
from chainrule.data.dataset import TensorDataset
from chainrule.data.loader import DataLoader
from chainrule.models.mlp import MLP
from chainrule.nn.losses import binary_cross_entropy_with_logits
from chainrule.tensor import Tensor


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
    """A generator and a discriminator, with their optimisers and alternating updates.

    ``train_step(real_batch)`` does one step of each network (Goodfellow et al.'s algorithm
    with k = 1):

    1. discriminator: z ~ N(0, I), fakes G(z) (no gradient into G); one Adam step on L_D;
    2. generator: fresh z, one Adam step on L_G = -E_z[log D(G(z))] through the updated D, whose
       parameters are frozen meanwhile (they get no gradient from this step).

    By default both networks are MLPs: G: latent_dim -> hidden -> data, D: data -> reversed
    hidden -> 1 logit, with leaky ReLU between layers. Pass ``generator`` and ``discriminator``
    to use your own (D must output one logit per sample).

    Args:
        data_shape: the number of features of a sample, or its shape (e.g. (1, 8, 8)).
        latent_dim: the dimension of the noise z.
        hidden: hidden widths of the default generator (the discriminator mirrors them).
        activation: hidden activation of the default networks.
        output_activation: the default generator's output activation (None: linear; "sigmoid"
            for data in [0, 1], "tanh" for data in [-1, 1]).
        generator, discriminator: Modules that replace the default networks.
        lr_g, lr_d: Adam learning rates of the generator and the discriminator.
        betas: Adam's (beta1, beta2) for both; beta1 = 0.5 is the usual choice for GANs.
        label_smoothing: one-sided label smoothing s in [0, 1): real samples get target 1 - s.
        non_saturating: the generator's loss form (see :func:`generator_loss`).

    Example:
        >>> X, _ = make_gaussian_mixture(2048, modes=8, radius=2.0, std=0.05, seed=0)
        >>> gan = GAN(2, latent_dim=8, lr_g=1e-3, lr_d=1e-3)
        >>> history = gan.fit(X, epochs=50, batch_size=128)
        >>> gan.sample(1000).shape
        (1000, 2)
    """

    def __init__(self, data_shape=2, latent_dim: int = 8, hidden=(128, 128),
                 activation="leaky_relu", output_activation=None, generator=None,
                 discriminator=None, lr_g: float = 2e-4, lr_d: float = 2e-4,
                 betas=(0.5, 0.999), label_smoothing: float = 0.0, non_saturating: bool = True):
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
        self.optimizer_g = optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas)
        self.optimizer_d = optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas)

    def forward(self, z):
        """G(z): generated samples from noise z of shape (N, latent_dim)."""
        return self.generator(z)

    def noise(self, n: int) -> Tensor:
        """n draws of z ~ N(0, I) from chainrule's global generator, shape (n, latent_dim)."""
        dtype = next(iter(self.generator.parameters())).dtype
        return randn(int(n), self.latent_dim, dtype=dtype)

    def train_step(self, real_batch) -> dict:
        """One update of the discriminator, then one of the generator.

        Args:
            real_batch: a batch of real samples, shape (N, *data_shape).

        Returns:
            ``{"loss_d": L_D, "loss_g": L_G, "d_real": mean D(x), "d_fake": mean D(G(z))}`` as
            floats (D's outputs before its update; at the equilibrium both are 1/2).
        """
        real = real_batch if isinstance(real_batch, Tensor) else as_tensor(real_batch)
        n = real.shape[0]
        with no_grad():
            fake = self.generator(self.noise(n))
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        loss_d = discriminator_loss(real_logits, fake_logits, 1.0 - self.label_smoothing)
        self.optimizer_d.zero_grad()
        loss_d.backward()
        self.optimizer_d.step()

        frozen = [(p, p.requires_grad) for p in self.discriminator.parameters()]
        for p, _ in frozen:
            p.requires_grad_(False)
        try:
            loss_g = generator_loss(self.discriminator(self.generator(self.noise(n))),
                                    self.non_saturating)
            self.optimizer_g.zero_grad()
            loss_g.backward()
            self.optimizer_g.step()
        finally:
            for p, flag in frozen:
                p.requires_grad_(flag)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
                "d_real": real_logits.sigmoid().mean().item(),
                "d_fake": fake_logits.sigmoid().mean().item()}

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

    def fit(self, data, epochs: int = 1, batch_size: int = 64, seed: int | None = None,
            on_epoch_end=None) -> dict:
        """Train for ``epochs`` passes over ``data`` with :meth:`train_step` on every batch.

        Args:
            data: the real samples (a Tensor or array of shape (N, *data_shape)), or a
                DataLoader (of samples, or of tuples whose first element is the samples).
            epochs: passes over the data.
            batch_size: samples per step (when ``data`` is not a DataLoader; the last, smaller
                batch is dropped so that every step sees ``batch_size`` real samples).
            seed: seed of the shuffling (default: chainrule's global generator).
            on_epoch_end: called as ``on_epoch_end(epoch, logs)`` after every epoch, with the
                epoch's mean ``logs`` (e.g. to save a picture of samples every few epochs).

        Returns:
            The history: ``{"loss_d": [...], "loss_g": [...], "d_real": [...], "d_fake": [...]}``,
            one mean per epoch.
        """
        if not isinstance(data, DataLoader):
            data = data if isinstance(data, Tensor) else as_tensor(data)
            data = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=True,
                              drop_last=len(data) > batch_size, seed=seed)
        self.train()
        history = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": []}
        for epoch in range(epochs):
            steps = []
            for batch in data:
                steps.append(self.train_step(batch[0] if isinstance(batch, (tuple, list))
                                             else batch))
            logs = {key: float(np.mean([s[key] for s in steps])) for key in history}
            for key, value in logs.items():
                history[key].append(value)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
        return history

    def extra_repr(self) -> str:
        return f"data_shape={self.data_shape}, latent_dim={self.latent_dim}"


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
