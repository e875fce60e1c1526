"""Loss landscapes, and that every analysis tool gives the model back untouched (RELIABILITY 20,
27, 28)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.analysis import (
    hessian,
    hessian_eigenvalues,
    hessian_spectrum,
    hessian_trace,
    loss_landscape_1d,
    loss_landscape_2d,
    random_directions,
)

nn = pytest.importorskip("chainrule.nn")


def _data(n=32, seed=0, dtype=cr.float32):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return cr.tensor(X, dtype=dtype), cr.tensor(y)


def _model(dtype=cr.float32, norm=True):
    cr.manual_seed(0)
    layers = [nn.Linear(4, 8), nn.Tanh()]
    if norm:
        layers += [nn.BatchNorm1d(8), nn.Dropout(0.5)]
    model = nn.Sequential(*layers, nn.Linear(8, 2))
    return model.to(dtype)


def _state(model):
    return [p.numpy().copy() for p in model.parameters()] + \
        [b.numpy().copy() for b in model.buffers()], [m.training for m in model.modules()]


def _assert_untouched(model, before):
    values, modes = _state(model)
    assert modes == before[1]
    assert len(values) == len(before[0])
    for a, b in zip(values, before[0]):
        np.testing.assert_array_equal(a, b)


def test_landscape_2d_at_the_origin_equals_the_models_loss():
    model = _model()
    X, y = _data()
    loss_fn = nn.CrossEntropyLoss()
    model.eval()
    with cr.no_grad():
        expected = loss_fn(model(X), y).item()
    model.train()
    surf = loss_landscape_2d(model, loss_fn, (X, y), steps=7, seed=0)
    assert surf.losses.shape == (7, 7)
    i, j = np.argwhere(surf.alphas == 0.0)[0][0], np.argwhere(surf.betas == 0.0)[0][0]
    assert surf.losses[i, j] == expected
    assert np.all(np.isfinite(surf.losses)) and surf.losses.std() > 0
    # an even number of steps still holds 0 exactly when it is in the span
    assert 0.0 in loss_landscape_2d(model, loss_fn, (X, y), steps=(4, 3), seed=0).alphas


def test_landscape_2d_follows_its_formula():
    model = _model(norm=False)
    X, y = _data()
    loss_fn = nn.CrossEntropyLoss()
    d1, d2 = random_directions(model, seed=3)
    surf = loss_landscape_2d(model, loss_fn, (X, y), steps=3, span=(-0.5, 0.5),
                             directions=(d1, d2))
    theta = nn.utils.parameters_to_vector(model.parameters()).numpy().astype(np.float64)
    nn.utils.vector_to_parameters(cr.tensor(theta + 0.5 * d1 - 0.5 * d2), model.parameters())
    with cr.no_grad():
        expected = loss_fn(model(X), y).item()
    assert surf.losses[2, 0] == pytest.approx(expected, rel=1e-6)


def test_filter_normalisation_and_bias_directions():
    model = _model(norm=True)
    d1, _ = random_directions(model, seed=0)
    start = 0
    for p in model.parameters():
        d = d1[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
        if p.ndim == 1:
            np.testing.assert_array_equal(d, 0.0)  # biases and BatchNorm: zero by default
        else:
            np.testing.assert_allclose(np.linalg.norm(d, axis=1),
                                       np.linalg.norm(p.numpy(), axis=1), rtol=1e-6)
    d1, _ = random_directions(model, seed=0, ignore_biasbn=False)
    bias = model[0].bias.numpy()
    np.testing.assert_allclose(d1[32:40], bias, rtol=1e-7)  # the parameter itself
    layer, _ = random_directions(model, seed=0, normalization="layer")
    np.testing.assert_allclose(np.linalg.norm(layer[:32]),
                               np.linalg.norm(model[0].weight.numpy()), rtol=1e-6)
    with pytest.raises(ValueError, match="normalization"):
        random_directions(model, normalization="unit")
    a, _ = random_directions(model, seed=5)
    b, _ = random_directions(model, seed=5)
    np.testing.assert_array_equal(a, b)


def test_landscape_1d_interpolates_between_two_vectors():
    model = _model(norm=False)
    X, y = _data()
    loss_fn = nn.CrossEntropyLoss()
    theta1 = nn.utils.parameters_to_vector(model.parameters()).detach()
    theta0 = cr.zeros(theta1.shape)
    alphas, losses = loss_landscape_1d(model, loss_fn, (X, y), theta0, steps=5, span=(0, 1))
    np.testing.assert_allclose(alphas, [0, 0.25, 0.5, 0.75, 1.0])
    assert losses[0] == pytest.approx(np.log(2.0), rel=1e-6)  # all-zero weights: uniform
    with cr.no_grad():
        assert losses[-1] == pytest.approx(loss_fn(model(X), y).item(), rel=1e-6)
    with pytest.raises(ValueError, match="size"):
        loss_landscape_1d(model, loss_fn, (X, y), np.zeros(3))


def test_batches_are_averaged_by_size():
    model = _model(norm=False)
    X, y = _data(30)
    loss_fn = nn.CrossEntropyLoss()
    whole = loss_landscape_2d(model, loss_fn, (X, y), steps=3, seed=1)
    batches = [(X[:10], y[:10]), (X[10:], y[10:])]
    split = loss_landscape_2d(model, loss_fn, batches, steps=3, seed=1)
    np.testing.assert_allclose(split.losses, whole.losses, rtol=1e-5)


@pytest.mark.parametrize("tool", ["landscape_1d", "landscape_2d", "eigenvalues", "trace",
                                  "spectrum"])
@pytest.mark.parametrize("train_mode", [False, True])
def test_tools_restore_mode_parameters_and_buffers(tool, train_mode):
    model = _model(cr.float64)
    X, y = _data(dtype=cr.float64)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    model[3].eval()  # a mixed state must come back as it was
    before = _state(model)
    data = (X, y)
    theta0 = np.zeros(sum(p.numel() for p in model.parameters()))
    run = {
        "landscape_1d": lambda: loss_landscape_1d(model, loss_fn, data, theta0, steps=3,
                                                  train_mode=train_mode),
        "landscape_2d": lambda: loss_landscape_2d(model, loss_fn, data, steps=3, seed=0,
                                                  train_mode=train_mode),
        "eigenvalues": lambda: hessian_eigenvalues(model, loss_fn, data, k=2, seed=0,
                                                   train_mode=train_mode),
        "trace": lambda: hessian_trace(model, loss_fn, data, n_samples=3, seed=0,
                                       train_mode=train_mode),
        "spectrum": lambda: hessian_spectrum(model, loss_fn, data, n_iter=5, n_runs=2, seed=0,
                                             train_mode=train_mode),
    }[tool]
    run()
    _assert_untouched(model, before)
    assert all(p.grad is None for p in model.parameters())


def test_tools_restore_the_model_when_the_loss_fails():
    model = _model()
    X, y = _data()
    before = _state(model)
    calls = []

    def failing(out, target):
        calls.append(1)
        if len(calls) > 2:
            raise FloatingPointError("boom")
        return nn.functional.cross_entropy(out, target)

    with pytest.raises(FloatingPointError):
        loss_landscape_2d(model, failing, (X, y), steps=3, seed=0)
    _assert_untouched(model, before)


def test_eigenvalues_of_an_nn_model_equal_eigh_of_its_hessian():
    model = _model(cr.float64, norm=False)
    X, y = _data(dtype=cr.float64)
    loss_fn = nn.CrossEntropyLoss()
    params = list(model.parameters())
    H = hessian(lambda: loss_fn(model(X), y), params)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    exact = np.linalg.eigvalsh(H)
    top = hessian_eigenvalues(model, loss_fn, (X, y), k=3, which="LA", seed=0)
    np.testing.assert_allclose(top, exact[::-1][:3], rtol=1e-7)
    bottom = hessian_eigenvalues(model, loss_fn, (X, y), k=2, which="SA", seed=0)
    np.testing.assert_allclose(bottom, exact[:2], rtol=1e-6, atol=1e-9)
    trace = hessian_trace(model, loss_fn, (X, y), n_samples=2000, seed=0)
    assert trace == pytest.approx(np.trace(H), rel=0.1)
    # several batches: the Hessian of the mean loss
    batches = [(X[:16], y[:16]), (X[16:], y[16:])]
    split = hessian_eigenvalues(model, loss_fn, batches, k=3, which="LA", seed=0)
    np.testing.assert_allclose(split, top, rtol=1e-6)
