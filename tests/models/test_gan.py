"""GANs (SPEC 4 and 11): the losses against their formulas, the alternating updates, sampling,
mode coverage on a mixture of Gaussians, and the mixture itself."""

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.data.generative import make_gaussian_mixture, ring_centers
from chainrule.models import GAN
from chainrule.models.gan import GANTrainer, discriminator_loss, generator_loss, mode_coverage
from chainrule.train import LambdaCallback


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---- the losses of SPEC 4 ---------------------------------------------------------------------
REAL = np.array([[2.0], [-0.5], [0.3], [4.0]])          # D's logits on four real samples
FAKE = np.array([[-1.5], [0.2], [-3.0]])                # and on three generated ones


def test_discriminator_loss_is_the_spec_formula():
    """L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))], with D = sigmoid(logit)."""
    expected = -np.log(sigmoid(REAL)).mean() - np.log(1 - sigmoid(FAKE)).mean()
    loss = discriminator_loss(cr.tensor(REAL, dtype=cr.float64), cr.tensor(FAKE, dtype=cr.float64))
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)


def test_generator_loss_is_the_spec_formula():
    """Non-saturating L_G = -E_z[log D(G(z))]; minimax L_G = E_z[log(1 - D(G(z)))]."""
    fake = cr.tensor(FAKE, dtype=cr.float64)
    np.testing.assert_allclose(generator_loss(fake).item(), -np.log(sigmoid(FAKE)).mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(generator_loss(fake, non_saturating=False).item(),
                               np.log(1 - sigmoid(FAKE)).mean(), rtol=1e-12)


def test_losses_at_the_equilibrium():
    """Where D = 1/2 everywhere: L_D = 2 log 2 and L_G = log 2."""
    zero = cr.zeros(8, 1)
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert generator_loss(zero).item() == pytest.approx(math.log(2), rel=1e-6)


def test_one_sided_label_smoothing():
    """Real targets 1 - s: -E_x[(1 - s) log D(x) + s log(1 - D(x))]; fake targets stay 0."""
    s = 0.1
    real, fake = cr.tensor(REAL, dtype=cr.float64), cr.tensor(FAKE, dtype=cr.float64)
    d = sigmoid(REAL)
    expected = (-((1 - s) * np.log(d) + s * np.log(1 - d)).mean()
                - np.log(1 - sigmoid(FAKE)).mean())
    np.testing.assert_allclose(discriminator_loss(real, fake, real_label=1 - s).item(), expected,
                               rtol=1e-12)


def test_losses_are_finite_for_extreme_logits():
    """Computed from logits: a confident, wrong D at +-200 costs 200 per term, not inf."""
    real, fake = cr.full((4, 1), -200.0), cr.full((4, 1), 200.0)
    assert discriminator_loss(real, fake).item() == pytest.approx(400.0)
    assert generator_loss(real).item() == pytest.approx(200.0)
    assert np.isfinite(generator_loss(real, non_saturating=False).item())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=6),
       st.lists(st.floats(-30, 30), min_size=1, max_size=6))
def test_loss_gradients_are_sigmoid_minus_target(real, fake):
    """dL_D/dz = (sigmoid(z) - t)/N per term: the BCE identity of SPEC 4, t = 1 real, 0 fake;
    the non-saturating dL_G/dz = (sigmoid(z) - 1)/N stays large where D rejects the fakes.
    (softplus is linear beyond 20, as in PyTorch: an absolute error below 2e-9 there.)"""
    r = cr.tensor(np.array(real)[:, None], dtype=cr.float64, requires_grad=True)
    f = cr.tensor(np.array(fake)[:, None], dtype=cr.float64, requires_grad=True)
    discriminator_loss(r, f).backward()
    np.testing.assert_allclose(r.grad.numpy(), (sigmoid(r.numpy()) - 1) / len(real), atol=1e-8)
    np.testing.assert_allclose(f.grad.numpy(), sigmoid(f.numpy()) / len(fake), atol=1e-8)
    f.grad = None
    generator_loss(f).backward()
    np.testing.assert_allclose(f.grad.numpy(), (sigmoid(f.numpy()) - 1) / len(fake), atol=1e-8)


# ---- the model --------------------------------------------------------------------------------
def test_default_networks_and_shapes():
    cr.manual_seed(0)
    gan = GAN(2, latent_dim=3, hidden=(16, 8))
    assert [m.out_features for m in gan.generator if isinstance(m, nn.Linear)] == [16, 8, 2]
    assert [m.out_features for m in gan.discriminator if isinstance(m, nn.Linear)] == [8, 16, 1]
    assert gan(gan.noise(5)).shape == (5, 2)
    assert gan.discriminator(cr.randn(5, 2)).shape == (5, 1)
    names = {name.split(".")[0] for name, _ in gan.named_parameters()}
    assert names == {"generator", "discriminator"}


def test_image_data_shape():
    cr.manual_seed(0)
    gan = GAN((1, 8, 8), latent_dim=4, hidden=(16,), output_activation="sigmoid")
    images = gan.sample(3)
    assert images.shape == (3, 1, 8, 8)
    assert images.numpy().min() >= 0 and images.numpy().max() <= 1
    assert gan.discriminator(images).shape == (3, 1)


def test_sample_records_no_graph_and_restores_the_mode():
    cr.manual_seed(0)
    gan = GAN(2, latent_dim=3, hidden=8)
    gan.train()
    x = gan.sample(4)
    assert not x.requires_grad and x._node is None
    assert gan.training
    z = gan.noise(6)
    np.testing.assert_array_equal(gan.sample(z=z).numpy(), gan.sample(z=z).numpy())
    for bad in (dict(), dict(n=2, z=z)):
        with pytest.raises(ValueError, match="either n or z"):
            gan.sample(**bad)


@pytest.mark.parametrize("kwargs", [dict(latent_dim=0), dict(label_smoothing=1.0),
                                    dict(label_smoothing=-0.1), dict(data_shape=(1, 0))])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="GAN"):
        GAN(**kwargs)


def gan_trainer(gan, lr_g=2e-4, lr_d=2e-4, **kwargs):
    """A GANTrainer with Adam (beta1 = 0.5) on each network."""
    return GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=lr_g, betas=(0.5, 0.999)),
                      optim.Adam(gan.discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999)),
                      **kwargs)


def adam_step(params, lr, betas=(0.5, 0.999), eps=1e-8):
    """Adam's first step from zero moments: w - lr g / (|g| + eps) (bias corrections cancel)."""
    for p in params:
        g = p.grad.numpy()
        m, v = (1 - betas[0]) * g / (1 - betas[0]), (1 - betas[1]) * g * g / (1 - betas[1])
        p.data = p.data - lr * m / (np.sqrt(v) + eps)


def test_train_step_updates_both_networks_as_the_algorithm_says():
    """One step: D descends L_D on real and G(z1) (G fixed), then G descends L_G through the
    *updated* D with fresh z2, D frozen. Replayed by hand with the same noise, same result."""
    cr.manual_seed(0)
    gan = GAN(3, latent_dim=2, hidden=(6, 5), label_smoothing=0.1)
    trainer = gan_trainer(gan, lr_g=0.01, lr_d=0.02)
    G, D = copy.deepcopy(gan.generator), copy.deepcopy(gan.discriminator)
    g_before = [p.numpy().copy() for p in gan.generator.parameters()]
    d_before = [p.numpy().copy() for p in gan.discriminator.parameters()]
    real = cr.randn(8, 3)

    cr.manual_seed(1)
    logs = trainer.train_step(real)

    cr.manual_seed(1)
    z1 = cr.randn(8, 2)
    with cr.no_grad():
        fake = G(z1)
    real_logits, fake_logits = D(real), D(fake)
    loss_d = discriminator_loss(real_logits, fake_logits, real_label=0.9)
    loss_d.backward()
    d_grads = [p.grad.numpy().copy() for p in D.parameters()]
    adam_step(list(D.parameters()), lr=0.02)
    z2 = cr.randn(8, 2)
    loss_g = generator_loss(D(G(z2)))
    loss_g.backward()
    adam_step(list(G.parameters()), lr=0.01)

    for mine, ref, before in zip(gan.discriminator.parameters(), D.parameters(), d_before):
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
        assert np.abs(mine.numpy() - before).max() > 1e-3          # D moved
    for mine, ref, before in zip(gan.generator.parameters(), G.parameters(), g_before):
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
        assert np.abs(mine.numpy() - before).max() > 1e-3          # G moved
    # D's gradients are those of L_D alone (the G step froze it) and it is trainable again.
    for p, g in zip(gan.discriminator.parameters(), d_grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-7)
        assert p.requires_grad
    assert logs["loss_d"] == pytest.approx(loss_d.item(), rel=1e-5)
    assert logs["loss_g"] == pytest.approx(loss_g.item(), rel=1e-5)
    assert logs["d_real"] == pytest.approx(real_logits.sigmoid().mean().item(), rel=1e-5)
    assert logs["d_fake"] == pytest.approx(fake_logits.sigmoid().mean().item(), rel=1e-5)


def test_train_step_keeps_frozen_discriminator_parameters_frozen():
    cr.manual_seed(0)
    gan = GAN(2, latent_dim=2, hidden=4)
    first = next(iter(gan.discriminator.parameters()))
    first.requires_grad_(False)
    gan_trainer(gan).train_step(cr.randn(4, 2))
    assert not first.requires_grad


def test_fit_history_and_callback():
    cr.manual_seed(0)
    X, _ = make_gaussian_mixture(100, modes=4, std=0.1, seed=0)
    gan = GAN(2, latent_dim=2, hidden=8)
    seen = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))
    history = gan_trainer(gan, callbacks=[record]).fit(X, epochs=3, batch_size=32, seed=0,
                                                       verbose=0).history
    assert set(history) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert all(len(v) == 3 and np.isfinite(v).all() for v in history.values())
    assert seen == [(e, ["d_fake", "d_real", "loss_d", "loss_g"]) for e in range(3)]
    loader = DataLoader(TensorDataset(X, cr.zeros(100)), batch_size=50)   # (x, y) batches
    assert len(gan_trainer(gan).fit(loader, epochs=1, verbose=0)["loss_d"]) == 1


def _straight_and_resumed(tmp_path, epochs, stop):
    """Train ``epochs`` epochs at once, and ``stop`` epochs, a checkpoint, a fresh GAN and
    trainer that load it, then the rest."""
    X, _ = make_gaussian_mixture(96, modes=4, std=0.1, seed=0)

    def loader():
        return DataLoader(TensorDataset(X), 32, shuffle=True, seed=5)

    runs = []
    for first in (epochs, stop):
        cr.manual_seed(0)
        trainer = gan_trainer(GAN(2, latent_dim=2, hidden=8), lr_g=1e-2, lr_d=1e-2)
        trainer.fit(loader(), epochs=first, verbose=0)
        runs.append(trainer)
    runs[1].save_checkpoint(tmp_path / "gan.safetensors")
    cr.manual_seed(123)
    resumed = gan_trainer(GAN(2, latent_dim=2, hidden=8))
    resumed.load_checkpoint(tmp_path / "gan.safetensors")
    resumed.fit(loader(), epochs=epochs, initial_epoch=resumed.epoch, verbose=0)
    return runs[0], resumed


def test_gan_trainer_checkpoints_resume_exactly(tmp_path):
    straight, resumed = _straight_and_resumed(tmp_path, epochs=3, stop=1)
    state = cr.load(tmp_path / "gan.safetensors")
    assert {"model", "optimizer_g", "optimizer_d", "epoch", "history", "rng_state",
            "train_loader"} <= set(state) and state["epoch"] == 1
    for k, v in straight.model.state_dict().items():
        assert np.array_equal(v.numpy(), resumed.model.state_dict()[k].numpy()), k
    assert straight.history.history == resumed.history.history
    for name in ("optimizer_g", "optimizer_d"):
        a, b = straight.named_optimizers()[name], resumed.named_optimizers()[name]
        assert a.param_groups[0]["lr"] == b.param_groups[0]["lr"] == 1e-2


def test_the_model_holds_no_optimizer_and_evaluate_does_not_train():
    assert not hasattr(GAN, "fit") and not hasattr(GAN, "train_step")
    cr.manual_seed(0)
    gan = GAN(2, latent_dim=2, hidden=8)
    assert not any(isinstance(v, optim.Optimizer) for v in vars(gan).values())
    before = {k: v.numpy().copy() for k, v in gan.state_dict().items()}
    logs = GANTrainer(gan).evaluate(cr.randn(40, 2), batch_size=16)
    assert list(logs) == ["loss_d", "loss_g", "d_real", "d_fake"]
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in gan.state_dict().items())
    assert GANTrainer(gan).predict(gan.noise(5)).shape == (5, 2)       # samples G(z)
    with pytest.raises(ValueError, match="GANTrainer.fit has no optimizer_g and no optimizer_d"):
        GANTrainer(gan).fit(cr.randn(8, 2), verbose=0)


def test_covers_the_modes_of_a_ring_of_gaussians():
    """8 Gaussians (std 0.1) on a circle of radius 2: after 60 epochs of 16 steps every mode
    gets generated samples (8 of 8 for seeds 0 to 7 when measured; all 8 required) and most
    samples lie within 3 std of a mode (79% for seed 0), so G neither collapses onto a few
    modes nor smears its samples between them."""
    cr.manual_seed(0)
    X, _ = make_gaussian_mixture(2048, modes=8, radius=2.0, std=0.1, seed=0)
    gan = GAN(2, latent_dim=8, hidden=(64, 64))
    gan_trainer(gan, lr_g=2e-3, lr_d=2e-3).fit(X, epochs=60, batch_size=128, seed=0, verbose=0)
    coverage = mode_coverage(gan.sample(2000), ring_centers(8, 2.0), std=0.1)
    assert coverage.covered == 8, coverage
    assert coverage.quality > 0.5, coverage


# ---- mode coverage ----------------------------------------------------------------------------
def test_mode_coverage_counts():
    centers = ring_centers(4, 1.0)
    rng = np.random.default_rng(0)
    on_two = np.concatenate([centers[0] + 0.01 * rng.standard_normal((60, 2)),
                             centers[2] + 0.01 * rng.standard_normal((30, 2)),
                             np.zeros((10, 2))])                # 10 between the modes
    coverage = mode_coverage(cr.tensor(on_two), centers, std=0.05)
    assert coverage.covered == 2
    np.testing.assert_array_equal(coverage.counts, [60, 0, 30, 0])
    assert coverage.quality == pytest.approx(0.9)
    # a mode needs min_fraction of its share N / K = 25: 30 samples pass 0.5, fail 1.5
    assert mode_coverage(on_two, centers, 0.05, min_fraction=1.5).covered == 1
    with pytest.raises(ValueError, match="mode_coverage"):
        mode_coverage(on_two[:, :1], centers, 0.05)


# ---- the mixture ------------------------------------------------------------------------------
def test_ring_centers():
    np.testing.assert_allclose(ring_centers(4, 2.0), [[2, 0], [0, 2], [-2, 0], [0, -2]],
                               atol=1e-12)
    assert ring_centers(8).shape == (8, 2)
    with pytest.raises(ValueError, match="modes"):
        ring_centers(0)


def test_gaussian_mixture_samples():
    X, y = make_gaussian_mixture(803, modes=8, radius=2.0, std=0.05, seed=3)
    assert X.shape == (803, 2) and X.dtype == np.float32
    assert y.shape == (803,) and y.dtype == np.int64
    counts = np.bincount(y.numpy())
    assert counts.tolist() == [101, 101, 101] + [100] * 5
    offsets = X.numpy() - ring_centers(8, 2.0)[y.numpy()]
    assert abs(offsets.std() - 0.05) < 0.005 and abs(offsets.mean()) < 0.01
    again, _ = make_gaussian_mixture(803, modes=8, radius=2.0, std=0.05, seed=3)
    np.testing.assert_array_equal(X.numpy(), again.numpy())
    assert not np.array_equal(y.numpy(), np.sort(y.numpy()))        # shuffled


def test_gaussian_mixture_with_given_centres_and_global_seed():
    centers = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    cr.manual_seed(7)
    X, y = make_gaussian_mixture(10, modes=centers, std=0.0)
    np.testing.assert_array_equal(X.numpy(), centers[y.numpy()])
    cr.manual_seed(7)
    np.testing.assert_array_equal(make_gaussian_mixture(10, modes=centers, std=0.0)[1].numpy(),
                                  y.numpy())


@pytest.mark.parametrize("kwargs", [dict(n_samples=3, modes=8), dict(std=-1.0),
                                    dict(modes=np.zeros((0, 2))), dict(modes=np.zeros(3))])
def test_gaussian_mixture_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="make_gaussian_mixture|ring_centers"):
        make_gaussian_mixture(**kwargs)
