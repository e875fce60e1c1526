"""The decks' Adagrad and RMSprop put eps inside the square root, PyTorch outside.

Decks: w <- w - lr g / sqrt(v + eps);  PyTorch (and chainrule): w <- w - lr g / (sqrt(v) + eps).
With eps = 0 the two are the same update; for a small eps they differ by at most
lr |g| eps / v (both denominators lie between sqrt(v) and sqrt(v) + eps, or sqrt(v + eps)), so
the trajectories agree to about eps / v per step.
"""

import numpy as np
import pytest

import chainrule as cr

CENTER = np.array([3.0, 2.0])        # the decks' (w1 - 3)^2 + (w2 - 2)^2


def decks_path(rule, lr, eps, steps, beta=0.99):
    """The decks' equations on the quadratic, by hand in float64."""
    w, v = np.zeros(2), np.zeros(2)
    path = []
    for _ in range(steps):
        g = 2 * (w - CENTER)
        v = v + g * g if rule == "adagrad" else beta * v + (1 - beta) * g * g
        w = w - lr * g / np.sqrt(v + eps)
        path.append(w.copy())
    return np.array(path)


def chainrule_path(rule, lr, eps, steps):
    w = cr.zeros(2, dtype=cr.float64, requires_grad=True)
    opt = cr.optim.Adagrad([w], lr=lr, eps=eps) if rule == "adagrad" else \
        cr.optim.RMSprop([w], lr=lr, alpha=0.99, eps=eps)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        ((w - cr.tensor(CENTER, dtype=cr.float64)) ** 2).sum().backward()
        opt.step()
        path.append(w.numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("rule", ["adagrad", "rmsprop"])
def test_without_eps_the_two_forms_are_one_update(rule):
    np.testing.assert_allclose(chainrule_path(rule, 0.1, 0.0, 50), decks_path(rule, 0.1, 0.0, 50),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("rule", ["adagrad", "rmsprop"])
def test_with_a_small_eps_they_differ_by_about_eps_over_v(rule):
    ours, decks = chainrule_path(rule, 0.1, 1e-8, 50), decks_path(rule, 0.1, 1e-8, 50)
    difference = np.abs(ours - decks).max()
    assert 0 < difference < 1e-6
    # a large eps separates them: inside the root it damps the steps far less
    far = np.abs(chainrule_path(rule, 0.1, 0.5, 50) - decks_path(rule, 0.1, 0.5, 50)).max()
    assert far > 1e3 * difference
