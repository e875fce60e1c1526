"""Optimiser paths on 2-D test functions and PCA projections of training runs (SPEC 6, 8)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.analysis import (
    FUNCTIONS,
    TrajectoryRecorder,
    beale,
    optimizer_trajectories,
    quadratic,
    rosenbrock,
    saddle,
    training_trajectory,
)

optim = pytest.importorskip("chainrule.optim")

DECK_OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "Momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=1.0),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.05),
    "Adadelta": lambda p: optim.Adadelta(p, lr=10.0),
    "Adam": (optim.Adam, {"lr": 0.1}),
}


def test_test_functions_have_their_minima():
    for f in (quadratic, rosenbrock, beale):
        assert f(np.array(f.minimum)) == pytest.approx(0.0, abs=1e-12)
        w = cr.tensor(f.minimum, dtype=cr.float64, requires_grad=True)
        f(w).backward()
        np.testing.assert_allclose(w.grad.numpy(), 0.0, atol=1e-12)
    assert saddle(np.array([0.0, 0.0])) == 0.0 and saddle.minimum is None
    X, Y, Z = quadratic.grid(5)
    assert Z.shape == (5, 5) and Z.min() >= 0
    assert set(FUNCTIONS) == {"quadratic", "rosenbrock", "beale", "saddle"}


def test_every_optimizer_reaches_the_decks_minimum():
    paths = optimizer_trajectories(quadratic, (0.0, 0.0), DECK_OPTIMIZERS, steps=500)
    assert set(paths) == set(DECK_OPTIMIZERS)
    for name, path in paths.items():
        assert path.shape == (501, 2), name
        np.testing.assert_array_equal(path[0], [0.0, 0.0])
        np.testing.assert_allclose(path[-1], [3.0, 2.0], atol=1e-3, err_msg=name)


def test_rosenbrock_paths_differ_as_expected():
    lr = 1e-3
    paths = optimizer_trajectories(rosenbrock, None, {
        "GD": lambda p: optim.SGD(p, lr=lr),
        "Momentum": lambda p: optim.SGD(p, lr=lr, momentum=0.9),
        "Nesterov": lambda p: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
        "Adam": lambda p: optim.Adam(p, lr=0.05),
    }, steps=1500)
    losses = {k: rosenbrock(v) for k, v in paths.items()}
    # plain gradient descent with a small step only goes downhill, and slowly along the valley
    assert np.all(np.diff(losses["GD"]) <= 1e-12)
    assert losses["GD"][-1] > 0.05
    # momentum methods overshoot (the loss goes up on some steps) yet get much further
    for name in ("Momentum", "Nesterov"):
        assert np.any(np.diff(losses[name]) > 0), name
        assert losses[name][-1] < 1e-3 * losses["GD"][-1], name
    # Adam's first step moves every coordinate by lr: m_hat / sqrt(v_hat) = sign(g)
    first = np.abs(paths["Adam"][1] - paths["Adam"][0])
    np.testing.assert_allclose(first, 0.05, rtol=1e-6)
    steps = np.abs(np.diff(paths["Adam"][:6], axis=0))
    assert np.all(steps <= 0.05 * (1 + 1e-6))


def test_a_diverging_run_stops_at_the_first_non_finite_point():
    paths = optimizer_trajectories(quadratic, (0.0, 0.0),
                                   {"too big": lambda p: optim.SGD(p, lr=10.0)}, steps=2000)
    path = paths["too big"]
    assert 1 < len(path) < 2001 and np.all(np.isfinite(path))


def test_bad_arguments():
    with pytest.raises(ValueError, match="2 values"):
        optimizer_trajectories(quadratic, (0.0, 0.0, 1.0), DECK_OPTIMIZERS, steps=1)
    with pytest.raises(TypeError, match="optimizer spec"):
        optimizer_trajectories(quadratic, None, {"x": 3}, steps=1)
    with pytest.raises(ValueError, match="at least 3"):
        training_trajectory([np.zeros(3), np.ones(3)])


def test_training_trajectory_recovers_a_planar_path():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((50, 2)))
    t = np.linspace(0, 1, 12)
    coords = np.stack([3 * (1 - t) * np.cos(4 * t), (1 - t) * np.sin(4 * t)], axis=1)
    final = rng.standard_normal(50)
    vectors = [final + basis @ c for c in coords]
    vectors[-1] = final
    traj = training_trajectory(vectors)
    d = np.stack(traj.directions)
    np.testing.assert_allclose(d @ d.T, np.eye(2), atol=1e-12)
    # the path lies in span(d1, d2): reconstructing it from the coordinates is exact
    rebuilt = traj.coords @ d + final
    np.testing.assert_allclose(rebuilt, np.stack(vectors), atol=1e-10)
    np.testing.assert_allclose(traj.coords[-1], 0.0, atol=1e-12)
    assert traj.explained_variance_ratio.sum() == pytest.approx(1.0)


def test_trajectory_recorder_in_a_manual_loop():
    cr.manual_seed(0)
    w = cr.tensor([0.0, 0.0], dtype=cr.float64, requires_grad=True)
    rec = TrajectoryRecorder(model=[w])
    opt = optim.SGD([w], lr=0.1)
    rec.on_train_begin()
    for epoch in range(6):
        for _ in range(3):
            opt.zero_grad()
            quadratic(w).backward()
            opt.step()
        rec.on_epoch_end(epoch)
    rec.on_train_end()
    assert len(rec.vectors) == 7  # start + one per epoch (the end adds no duplicate)
    np.testing.assert_array_equal(rec.vectors[-1], w.numpy())
    traj = rec.trajectory()
    assert traj.coords.shape == (7, 2)


def test_trajectory_recorder_during_trainer_fit():
    train = pytest.importorskip("chainrule.train")
    nn = pytest.importorskip("chainrule.nn")
    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((40, 3)))
    y = cr.tensor(rng.standard_normal((40, 1)))
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    rec = TrajectoryRecorder()
    trainer = train.Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05),
                            callbacks=[rec])
    trainer.fit((X, y), epochs=4, batch_size=10, verbose=0, seed=0)
    assert len(rec.vectors) == 5
    np.testing.assert_array_equal(
        rec.vectors[-1], nn.utils.parameters_to_vector(model.parameters()).numpy())
    assert rec.trajectory().coords.shape == (5, 2)
