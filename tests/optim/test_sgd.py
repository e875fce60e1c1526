"""SGD against the decks' update rules (SPEC 6): plain, two momentum forms, Nesterov."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

# f(w) = 1/2 w^T A w - c^T w on R^3 with an ill-conditioned A: grad f = A w - c.
A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.3]])
C = np.array([1.0, -2.0, 0.5])
W0 = np.array([2.0, 1.0, -1.0])
STEPS = 30


def grad_f(w):
    return A @ w - C


def run_sgd(steps=STEPS, **kwargs):
    """SGD's iterates w_1 .. w_steps on f, gradients from autograd."""
    w = cr.tensor(W0, dtype=np.float64, requires_grad=True)
    a, c = cr.tensor(A, dtype=np.float64), cr.tensor(C, dtype=np.float64)
    opt = optim.SGD([w], **kwargs)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (w * (a @ w)).sum() - (c * w).sum()).backward()
        opt.step()
        path.append(w.numpy().copy())
    return np.array(path)


def test_plain_gradient_descent_is_the_decks_rule():
    alpha, w, path = 0.2, W0.copy(), []
    for _ in range(STEPS):
        w = w - alpha * grad_f(w)                       # w <- w - alpha df/dw
        path.append(w)
    np.testing.assert_allclose(run_sgd(lr=alpha), path, rtol=1e-12, atol=1e-14)


def test_heavy_ball_form_is_momentum_sgd():
    """dw_t = alpha dw_{t-1} - eta g ; w <- w + dw_t  ==  SGD(lr=eta, momentum=alpha)."""
    alpha, eta = 0.8, 0.1
    w, dw, path = W0.copy(), np.zeros(3), []
    for _ in range(STEPS):
        dw = alpha * dw - eta * grad_f(w)
        w = w + dw
        path.append(w)
    np.testing.assert_allclose(run_sgd(lr=eta, momentum=alpha), path, rtol=1e-12, atol=1e-14)


def test_ema_momentum_form_is_momentum_sgd_with_lr_scaled():
    """m_t = beta m + (1 - beta) g ; w <- w - alpha m  ==  SGD(lr=alpha (1 - beta), momentum=beta).

    The buffer b_t = beta b_{t-1} + g_t of SGD is m_t / (1 - beta) exactly (m_0 = 0, b_1 = g_1).
    """
    alpha, beta = 0.5, 0.9
    w, m, path = W0.copy(), np.zeros(3), []
    for _ in range(STEPS):
        m = beta * m + (1 - beta) * grad_f(w)
        w = w - alpha * m
        path.append(w)
    np.testing.assert_allclose(run_sgd(lr=alpha * (1 - beta), momentum=beta), path,
                               rtol=1e-12, atol=1e-14)


def test_ema_momentum_form_is_sgd_with_dampening_equal_to_momentum():
    """SGD(momentum=beta, dampening=beta) is the moving average itself, started at m_1 = g_1
    (PyTorch's convention); started at m_0 = 0 it differs only through the first gradient."""
    alpha, beta = 0.5, 0.9
    ours = run_sgd(lr=alpha, momentum=beta, dampening=beta)
    w, m, path = W0.copy(), None, []
    for _ in range(STEPS):
        g = grad_f(w)
        m = g if m is None else beta * m + (1 - beta) * g
        w = w - alpha * m
        path.append(w)
    np.testing.assert_allclose(ours, path, rtol=1e-12, atol=1e-14)
    w, m, zero_start = W0.copy(), np.zeros(3), []
    for _ in range(STEPS):
        m = beta * m + (1 - beta) * grad_f(w)
        w = w - alpha * m
        zero_start.append(w)
    assert np.abs(ours - np.array(zero_start)).max() > 1e-3


def test_nesterov_look_ahead_form_is_sgd_nesterov():
    """N_k = beta N_{k-1} + alpha grad(W - beta N_{k-1}) ; W <- W - N_k: SGD(nesterov=True)'s
    iterates are the look-ahead points W_k - beta N_k."""
    alpha, beta = 0.1, 0.9
    W, N, look_ahead = W0.copy(), np.zeros(3), []
    for _ in range(STEPS):
        N = beta * N + alpha * grad_f(W - beta * N)
        W = W - N
        look_ahead.append(W - beta * N)
    np.testing.assert_allclose(run_sgd(lr=alpha, momentum=beta, nesterov=True), look_ahead,
                               rtol=1e-12, atol=1e-14)
    # and it is not plain momentum
    assert np.abs(run_sgd(lr=alpha, momentum=beta) - np.array(look_ahead)).max() > 1e-3


def test_dampening_and_weight_decay_formulas():
    mu, tau, lr, lam = 0.7, 0.4, 0.05, 0.1
    w, b, path = W0.copy(), None, []
    for _ in range(STEPS):
        g = grad_f(w) + lam * w
        b = g if b is None else mu * b + (1 - tau) * g
        w = w - lr * b
        path.append(w)
    np.testing.assert_allclose(run_sgd(lr=lr, momentum=mu, dampening=tau, weight_decay=lam),
                               path, rtol=1e-12, atol=1e-14)


def test_maximize_ascends():
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, maximize=True)
    for _ in range(60):
        opt.zero_grad()
        (-(w - 4.0) ** 2).sum().backward()   # maximum at w = 4
        opt.step()
    np.testing.assert_allclose(w.numpy(), [4.0], atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_parameter(dtype):
    w = cr.tensor(0.0, dtype=dtype, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5)
    for _ in range(60):
        opt.zero_grad()
        (w ** 2 - 4 * w + 4).backward()
        opt.step()
    assert w.shape == () and w.dtype == dtype
    np.testing.assert_allclose(w.item(), 2.0, atol=1e-4)
