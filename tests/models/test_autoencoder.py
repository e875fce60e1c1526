"""Autoencoders (SPEC 11): shapes, the reconstruction loss, training on the digits, the
convolutional variant's forward and backward."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck
from chainrule.data import DataLoader, TensorDataset
from chainrule.models import Autoencoder, ConvAutoencoder


def digits_split(images=False, seed=0):
    """80/20 split of the shipped digits: (X_train, X_test, y_test)."""
    pytest.importorskip("sklearn")
    X, y = cr.datasets.load_digits(images=images)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:359], order[359:]
    return X[train], X[test], y[test]


def pca_test_mse(X_train, X_test, k):
    """Test MSE of the best linear autoencoder with a code of k: PCA on the train set."""
    a = X_train.numpy().reshape(len(X_train), -1).astype(np.float64)
    b = X_test.numpy().reshape(len(X_test), -1).astype(np.float64)
    mean = a.mean(0)
    V = np.linalg.svd(a - mean, full_matrices=False)[2][:k]
    return float((((b - mean) @ V.T @ V + mean - b) ** 2).mean())


def train(model, X, epochs, lr=3e-3, seed=0):
    optimizer = cr.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(X), batch_size=64, shuffle=True, seed=seed)
    for _ in range(epochs):
        for (batch,) in loader:
            optimizer.zero_grad()
            model.reconstruction_loss(batch).backward()
            optimizer.step()
    return model


# ---- shapes and structure ---------------------------------------------------------------------
def test_mlp_autoencoder_shapes():
    cr.manual_seed(0)
    ae = Autoencoder(64, code_size=2, hidden=(32, 8))
    x = cr.rand(5, 64)
    assert ae.encode(x).shape == (5, 2)
    assert ae.decode(cr.randn(3, 2)).shape == (3, 64)
    assert ae(x).shape == (5, 64)
    out = ae(x).numpy()
    assert out.min() >= 0 and out.max() <= 1                # sigmoid output, like the pixels
    # (64 + 1) 32 + (32 + 1) 8 + (8 + 1) 2  +  (2 + 1) 8 + (8 + 1) 32 + (32 + 1) 64
    assert ae.num_parameters() == 2080 + 264 + 18 + 24 + 288 + 2112
    assert [m.out_features for m in ae.encoder if isinstance(m, nn.Linear)] == [32, 8, 2]
    assert [m.out_features for m in ae.decoder if isinstance(m, nn.Linear)] == [8, 32, 64]


def test_mlp_autoencoder_on_images_keeps_their_shape():
    cr.manual_seed(0)
    ae = Autoencoder((1, 8, 8), code_size=3, output_activation=None)
    x = cr.rand(4, 1, 8, 8)
    assert ae.encode(x).shape == (4, 3)
    assert ae(x).shape == (4, 1, 8, 8)
    assert ae.in_features == 64


@pytest.mark.parametrize("size, channels", [(8, (16, 32)), (7, (4, 8)), ((9, 12), (4, 8, 8)),
                                            (28, (8, 16)), (5, (3,))])
def test_conv_autoencoder_gives_back_the_input_size(size, channels):
    cr.manual_seed(0)
    cae = ConvAutoencoder(3, input_size=size, channels=channels, code_size=5)
    h, w = (size, size) if isinstance(size, int) else size
    x = cr.rand(2, 3, h, w)
    assert cae.encode(x).shape == (2, 5)
    assert cae(x).shape == (2, 3, h, w)


def test_conv_autoencoder_layers_for_the_digits():
    """8x8x1 -> 4x4x16 -> 2x2x32 -> 128 -> code -> 128 -> 2x2x32 -> 4x4x16 -> 8x8x1."""
    cae = ConvAutoencoder(1, input_size=8, channels=(16, 32), code_size=8)
    assert cae.sizes == ((8, 8), (4, 4), (2, 2))
    assert type(cae.encoder[0]).__name__ == "Conv2d" and cae.encoder[0].stride == (2, 2)
    linear_in = [m for m in cae.encoder if isinstance(m, nn.Linear)][0]
    assert (linear_in.in_features, linear_in.out_features) == (128, 8)
    ups = [m for m in cae.decoder if type(m).__name__ == "ConvTranspose2d"]
    assert [(m.in_channels, m.out_channels) for m in ups] == [(32, 16), (16, 1)]


@pytest.mark.parametrize("kwargs", [dict(input_shape=0), dict(code_size=0),
                                    dict(input_shape=(1, 0, 8))])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="Autoencoder"):
        Autoencoder(**kwargs)
    with pytest.raises(ValueError, match="ConvAutoencoder"):
        ConvAutoencoder(channels=())


# ---- the loss ---------------------------------------------------------------------------------
def test_reconstruction_loss_is_the_mse_of_the_reconstruction():
    cr.manual_seed(0)
    ae = Autoencoder(6, code_size=2, hidden=4)
    x = cr.rand(5, 6)
    expected = ((ae(x).numpy() - x.numpy()) ** 2).mean()
    np.testing.assert_allclose(ae.reconstruction_loss(x).item(), expected, rtol=1e-6)
    per_pixel = ae.reconstruction_loss(x, reduction="none")
    assert per_pixel.shape == (5, 6)
    np.testing.assert_allclose(per_pixel.numpy().mean(), expected, rtol=1e-6)


def test_custom_reconstruction_loss():
    cr.manual_seed(0)
    ae = Autoencoder(6, code_size=2, hidden=4, loss=nn.functional.l1_loss)
    x = cr.rand(5, 6)
    np.testing.assert_allclose(ae.reconstruction_loss(x).item(),
                               np.abs(ae(x).numpy() - x.numpy()).mean(), rtol=1e-6)


# ---- training on the digits -------------------------------------------------------------------
def test_mlp_autoencoder_beats_pca_on_test_digits():
    """With a 2-D code, 20 epochs bring the test MSE below that of PCA with 2 components.

    References on this split: predicting the mean training image gives a test MSE of 0.073,
    the best linear map through a 2-D code (PCA) 0.052. The nonlinear autoencoder starts at
    0.176 and reaches 0.038 after 20 epochs (0.029 after 100): beating PCA shows that it learned
    more than a linear projection, and 0.045 leaves a margin for other machines' rounding.
    """
    X_train, X_test, _ = digits_split()
    cr.manual_seed(0)
    ae = Autoencoder(64, code_size=2, hidden=(128, 32))
    with cr.no_grad():
        before = ae.reconstruction_loss(X_test).item()
    train(ae, X_train, epochs=20)
    with cr.no_grad():
        after = ae.reconstruction_loss(X_test).item()
    mean_image = float(((X_test.numpy() - X_train.numpy().mean(0)) ** 2).mean())
    pca = pca_test_mse(X_train, X_test, 2)
    assert after < before / 2
    assert after < pca < mean_image
    assert after < 0.045


def test_codes_separate_the_classes():
    """Digits of one class get nearby codes: a nearest-centroid rule on the 2-D codes of the
    test digits is right far more often than chance (10%): 72% here."""
    X_train, X_test, y_test = digits_split()
    cr.manual_seed(0)
    ae = train(Autoencoder(64, code_size=2, hidden=(128, 32)), X_train, epochs=20)
    with cr.no_grad():
        codes = ae.encode(X_test).numpy()
    labels = y_test.numpy()
    centroids = np.stack([codes[labels == k].mean(0) for k in range(10)])
    nearest = np.linalg.norm(codes[:, None] - centroids[None], axis=2).argmin(1)
    assert (nearest == labels).mean() > 0.5


# ---- the convolutional variant ----------------------------------------------------------------
def test_conv_autoencoder_backward_reaches_every_parameter():
    cr.manual_seed(0)
    cae = ConvAutoencoder(1, input_size=8, code_size=4)
    cae.reconstruction_loss(cr.rand(3, 1, 8, 8)).backward()
    for name, p in cae.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.isfinite(p.grad.numpy()).all() and np.abs(p.grad.numpy()).sum() > 0, name


def test_conv_autoencoder_gradient_matches_finite_differences():
    cr.manual_seed(0)
    cae = ConvAutoencoder(1, input_size=5, channels=(2, 3), code_size=2,
                          activation="tanh").double()
    x = cr.rand(2, 1, 5, 5, dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda t: cae.reconstruction_loss(t), (x,), eps=1e-6, atol=1e-6)
    weight = cae.decoder[3].weight                       # the first ConvTranspose2d
    assert gradcheck(lambda w: cae.reconstruction_loss(x.detach()), (weight,), eps=1e-6,
                     atol=1e-6)


def test_conv_autoencoder_learns_the_digits():
    """Five epochs on 512 digits halve the test MSE (0.161 -> 0.075)."""
    X_train, X_test, _ = digits_split(images=True)
    cr.manual_seed(0)
    cae = ConvAutoencoder(1, input_size=8, code_size=8)
    with cr.no_grad():
        before = cae.reconstruction_loss(X_test).item()
    train(cae, X_train[:512], epochs=5)
    with cr.no_grad():
        after = cae.reconstruction_loss(X_test).item()
    assert after < 0.6 * before
