"""Every optimiser minimises the decks' functions (SPEC 6); weight decay shrinks weights."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

# (optimiser, options, steps) chosen so that each converges well within the step budget.
OPTIMISERS = [
    (optim.SGD, dict(lr=0.1), 200),
    (optim.SGD, dict(lr=0.05, momentum=0.9), 300),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True), 300),
    (optim.Adagrad, dict(lr=0.5), 500),
    (optim.RMSprop, dict(lr=0.01), 800),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5), 800),
    (optim.Adadelta, dict(lr=1.0, rho=0.9, eps=1e-3), 2000),
    (optim.Adam, dict(lr=0.05), 800),
    (optim.Adam, dict(lr=0.05, amsgrad=True), 800),
    (optim.AdamW, dict(lr=0.05, weight_decay=0.0), 800),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(OPTIMISERS)]


def minimise(cls, options, steps, w0, f, dtype=np.float64):
    w = cr.tensor(w0, dtype=dtype, requires_grad=True)
    opt = cls([w], **options)
    for _ in range(steps):
        opt.zero_grad()
        f(w).backward()
        opt.step()
    return w


@pytest.mark.parametrize("cls,options,steps", OPTIMISERS, ids=IDS)
def test_reaches_3_2_on_the_decks_bowl(cls, options, steps):
    """f(w1, w2) = (w1 - 3)^2 + (w2 - 2)^2, minimum (3, 2)."""
    w = minimise(cls, options, steps, [0.0, 0.0], lambda w: ((w[0] - 3) ** 2 + (w[1] - 2) ** 2))
    np.testing.assert_allclose(w.numpy(), [3.0, 2.0], atol=1e-3)


@pytest.mark.parametrize("cls,options,steps", OPTIMISERS, ids=IDS)
def test_reaches_2_on_the_decks_parabola(cls, options, steps):
    """f(w) = w^2 - 4w + 4, minimum w = 2 (a scalar parameter, float32)."""
    w = minimise(cls, options, steps, 0.0, lambda w: w ** 2 - 4 * w + 4, dtype=np.float32)
    assert w.shape == () and w.dtype == np.float32
    np.testing.assert_allclose(w.item(), 2.0, atol=1e-3)


def test_gradient_descent_worked_values():
    """w <- w - alpha df/dw on w^2 - 4w + 4 from w = 0 with alpha = 0.1: 0.4, 0.72, 0.976."""
    w = cr.tensor(0.0, dtype=np.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    values = []
    for _ in range(3):
        opt.zero_grad()
        (w ** 2 - 4 * w + 4).backward()
        opt.step()
        values.append(w.item())
    np.testing.assert_allclose(values, [0.4, 0.72, 0.976], rtol=1e-12)


@pytest.mark.parametrize("cls,options", [
    (optim.SGD, dict(lr=0.1)), (optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.Adagrad, dict(lr=0.5)), (optim.RMSprop, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.05)), (optim.AdamW, dict(lr=0.05)),
    (optim.Adadelta, dict(lr=1.0, eps=1e-3)),
], ids=lambda x: x.__name__ if isinstance(x, type) else "")
def test_l2_weight_decay_shrinks_weights(cls, options):
    """The minimiser of (w - t)^2 + lambda/2 |w|^2 is 2 t / (2 + lambda): smaller than t."""
    target = np.array([3.0, -2.0, 1.0])
    lam = 0.5
    steps = 1500

    def f(w):
        return ((w - cr.tensor(target, dtype=np.float64)) ** 2).sum()

    plain = minimise(cls, {**options, "weight_decay": 0.0}, steps, np.zeros(3), f).numpy()
    decayed = minimise(cls, {**options, "weight_decay": lam}, steps, np.zeros(3), f).numpy()
    np.testing.assert_allclose(plain, target, atol=1e-2)
    assert np.linalg.norm(decayed) < np.linalg.norm(plain) - 0.1
    # Coupled L2 reaches the penalised minimum. (AdamW decouples the decay; Adadelta, like
    # PyTorch's, ends in a 2-cycle around that minimum on this problem.)
    if cls not in (optim.AdamW, optim.Adadelta):
        np.testing.assert_allclose(decayed, 2 * target / (2 + lam), atol=1e-2)


@pytest.mark.parametrize("cls", [optim.SGD, optim.AdamW])
def test_weight_decay_alone_is_geometric_shrinkage(cls):
    """With a zero gradient, SGD's L2 term and AdamW's decoupled decay both give
    w_t = (1 - lr lambda)^t w_0."""
    w = cr.tensor([1.0, -3.0], dtype=np.float64, requires_grad=True)
    opt = cls([w], lr=0.1, weight_decay=0.2)
    for _ in range(10):
        w.grad = cr.zeros(2, dtype=np.float64)
        opt.step()
    np.testing.assert_allclose(w.numpy(), np.array([1.0, -3.0]) * 0.98 ** 10, rtol=1e-12)


def test_adam_with_l2_differs_from_adamw():
    f = lambda w: ((w - 3.0) ** 2).sum()  # noqa: E731
    adam = minimise(optim.Adam, dict(lr=0.05, weight_decay=0.5), 50, np.zeros(2), f).numpy()
    adamw = minimise(optim.AdamW, dict(lr=0.05, weight_decay=0.5), 50, np.zeros(2), f).numpy()
    assert np.abs(adam - adamw).max() > 1e-3


@pytest.mark.parametrize("lr,expect", [(1.1, "diverges"), (0.001, "slow"), (0.3, "converges")])
def test_learning_rate_too_high_or_too_low(lr, expect):
    """SPEC 6: on w^2 - 4w + 4 gradient descent diverges for lr > 1 and crawls for tiny lr."""
    w = minimise(optim.SGD, dict(lr=lr), 50, 0.0, lambda w: w ** 2 - 4 * w + 4)
    error = abs(w.item() - 2.0)
    if expect == "diverges":
        assert error > 10.0
    elif expect == "slow":
        assert 1.0 < error < 2.0
    else:
        assert error < 1e-6
