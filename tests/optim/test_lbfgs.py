"""LBFGS: its first iteration by hand, convergence on quadratics and Rosenbrock, the history,
the stopping rules, errors and a state_dict round trip (PyTorch parity: tests/interop)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

# f(w) = 1/2 w^T A w - c^T w, minimum at A^{-1} c.
A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.3]])
C = np.array([1.0, -2.0, 0.5])
W0 = np.array([2.0, 1.0, -1.0])


def problem(w0=W0, **options):
    w = cr.tensor(w0, dtype=np.float64, requires_grad=True)
    opt = optim.LBFGS([w], **options)
    a, c = cr.tensor(A, dtype=np.float64), cr.tensor(C, dtype=np.float64)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * (a @ w)).sum() - (c * w).sum()
        loss.backward()
        return loss

    return w, opt, closure


def rosenbrock_problem(**options):
    w = cr.tensor([-1.2, 1.0, -0.5, 0.8], dtype=np.float64, requires_grad=True)
    opt = optim.LBFGS([w], **options)

    def closure():
        opt.zero_grad()
        loss = (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()
        loss.backward()
        return loss

    return w, opt, closure


def test_first_iteration_is_a_scaled_gradient_step():
    w, opt, closure = problem(lr=0.5, max_iter=1)
    loss = opt.step(closure)
    g = A @ W0 - C
    t = min(1.0, 1.0 / np.abs(g).sum()) * 0.5          # t = min(1, 1/||g||_1) lr
    np.testing.assert_allclose(w.numpy(), W0 - t * g, rtol=1e-14)
    np.testing.assert_allclose(loss.item(), 0.5 * W0 @ A @ W0 - C @ W0, rtol=1e-14)
    state = opt.state[w]
    assert state["n_iter"] == 1 and state["func_evals"] == 1  # the last iteration's f is skipped


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_converges_to_the_minimum_of_a_quadratic(line_search_fn):
    w, opt, closure = problem(line_search_fn=line_search_fn, max_iter=50, tolerance_grad=1e-12,
                              tolerance_change=1e-14)
    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(w.numpy(), np.linalg.solve(A, C), atol=1e-9)


def test_strong_wolfe_solves_rosenbrock():
    w, opt, closure = rosenbrock_problem(line_search_fn="strong_wolfe", max_iter=100)
    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(w.numpy(), np.ones(4), atol=1e-6)


def test_history_size_and_evaluation_budget():
    w, opt, closure = rosenbrock_problem(history_size=3, max_iter=30, max_eval=12,
                                         line_search_fn="strong_wolfe")
    opt.step(closure)
    state = opt.state[w]
    assert len(state["old_dirs"]) <= 3 and len(state["old_stps"]) == len(state["ro"])
    assert state["func_evals"] <= 12 + 1  # the line search may evaluate once past max_eval
    assert opt.param_groups[0]["max_eval"] == 12
    assert optim.LBFGS([cr.zeros(1, requires_grad=True)], max_iter=8).defaults["max_eval"] == 10


def test_stops_at_once_when_the_gradient_is_zero():
    w, opt, closure = problem(w0=np.linalg.solve(A, C))
    opt.step(closure)
    assert opt.state[w]["func_evals"] == 1 and opt.state[w]["n_iter"] == 0


def test_float32_parameters_stay_float32():
    w = cr.tensor([3.0, -2.0], requires_grad=True)
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((w - cr.tensor([1.0, 2.0])) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0], atol=1e-5)


def test_several_parameters_form_one_vector():
    a = cr.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=np.float64, requires_grad=True)
    b = cr.tensor([1.0], dtype=np.float64, requires_grad=True)
    unused = cr.tensor([5.0], dtype=np.float64, requires_grad=True)  # grad stays None
    opt = optim.LBFGS([a, b, unused], line_search_fn="strong_wolfe", max_iter=50)

    def closure():
        opt.zero_grad()
        loss = ((a - 1) ** 2).sum() + ((b + 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(a.numpy(), np.ones((2, 2)), atol=1e-7)
    np.testing.assert_allclose(b.numpy(), [-3.0], atol=1e-7)
    assert unused.item() == 5.0


def test_state_dict_round_trip_continues_identically():
    w, opt, closure = rosenbrock_problem(line_search_fn="strong_wolfe", max_iter=4,
                                         history_size=5)
    opt.step(closure)
    saved = opt.state_dict()
    assert set(saved["state"][0]) >= {"d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                                      "prev_flat_grad", "prev_loss", "n_iter", "func_evals"}
    w2, opt2, closure2 = rosenbrock_problem(line_search_fn="strong_wolfe", max_iter=4,
                                            history_size=5)
    w2.data[...] = w.data
    opt2.load_state_dict(saved)
    opt.step(closure)
    opt2.step(closure2)
    np.testing.assert_array_equal(w2.numpy(), w.numpy())
    # the snapshot is a copy: later steps do not change it
    before = [d.copy() for d in saved["state"][0]["old_dirs"]]
    opt.step(closure)
    for x, y in zip(before, saved["state"][0]["old_dirs"]):
        np.testing.assert_array_equal(x, y)


def test_errors():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([w], lr=-1.0)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [cr.zeros(1, requires_grad=True)]}])
    _, opt, closure = problem(line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    with pytest.raises(TypeError, match="closure"):
        optim.LBFGS([w]).step(None)
    with pytest.raises(ValueError, match="state with parameter 0"):
        opt.load_state_dict({"state": {1: {}}, "param_groups": opt.state_dict()["param_groups"]})
