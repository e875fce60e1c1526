"""One session per page: training, what a change of settings keeps, independence, analyses."""

import numpy as np
import pytest

from chainrule.playground.config import ParameterError
from chainrule.playground.session import DIVERGED, Session


def weights(session):
    return [p.numpy().copy() for p in session.net.parameters()]


def test_training_on_xor_brings_the_test_loss_down():
    session = Session(seed=0)
    before = session.frame()
    assert before["step"] == 0 and before["history"][0][0] == 0
    session.train(400)
    after = session.frame()
    assert after["step"] == 400 and after["epoch"] == 400 * 10 // 200 - 1
    assert after["test_loss"] < 0.1 < before["test_loss"] and after["test_accuracy"] > 0.95
    assert len(after["grad_norms"]) == 3 and all(g > 0 for g in after["grad_norms"])
    view = after["view"]
    assert view["layers"] == [2, 4, 4, 1] and len(view["pictures"][1]) == 4
    assert np.array(view["weights"][1]).shape == (4, 4)


def test_what_a_change_of_settings_keeps():
    session = Session(seed=0)
    session.train(20)
    kept = weights(session)
    optimizer = session.optimizer
    assert session.configure({"activation": "relu", "lr": 0.01, "dropout": 0.1,
                              "loss": "hinge"}) is False
    assert all(np.array_equal(a, b) for a, b in zip(kept, weights(session)))
    assert session.step_count == 20 and session.optimizer is optimizer
    assert optimizer.param_groups[0]["lr"] == 0.01 and session.net.dropout.p == 0.1
    assert session.configure({"optimizer": "rmsprop"}) is False
    assert session.optimizer is not optimizer and session.step_count == 20
    assert session.configure({"hidden": [3]}) is True and session.step_count == 0
    assert [p.shape for p in session.net.parameters()] == [(3, 2), (3,), (1, 3), (1,)]
    points = session.split.x_train.copy()
    assert session.configure({"dataset": "blobs"}) is True
    assert session.split.classes == 3 and session.frame()["view"]["layers"][-1] == 3
    assert not np.array_equal(points, session.split.x_train)


def test_a_bad_setting_changes_nothing():
    session = Session(seed=0)
    settings = dict(session.settings)
    with pytest.raises(ParameterError):
        session.configure({"activation": "relu", "lr": -1})
    assert session.settings == settings and session.net.activation.__class__.__name__ == "Tanh"


def test_sessions_do_not_share_state():
    alone = Session(seed=7)
    alone.train(50)
    a, b = Session(seed=7), Session(seed=99)
    for _ in range(50):  # interleaved, as two pages taking turns
        a.train(1)
        b.train(1)
    assert all(np.array_equal(x, y) for x, y in zip(weights(alone), weights(a)))
    assert not all(np.array_equal(x, y) for x, y in zip(weights(a), weights(b)))


def test_batch_norm_dropout_and_every_dataset_train():
    session = Session({"batch_norm": True, "dropout": 0.2, "features": ["x1", "x2", "x1x2"],
                       "hidden": [6, 4], "l1": 1e-3, "l2": 1e-3}, seed=0)
    for name in ("circles", "moons", "spirals", "blobs", "gaussians"):
        session.configure({"dataset": name})
        assert session.train(30) == 30
        frame = session.frame()
        assert np.isfinite(frame["train_loss"]) and frame["message"] is None


def test_divergence_stops_training_with_a_message():
    session = Session({"optimizer": "sgd", "lr": 10, "activation": "identity",
                       "hidden": [8] * 6, "features": ["x1^2", "x2^2", "x1x2"]}, seed=0)
    session.running = True
    assert session.train(500) < 500
    frame = session.frame()
    assert not session.running and frame["message"] == DIVERGED
    assert frame["train_loss"] is None or not np.isfinite(frame["train_loss"])


def test_hessian_and_landscape_on_demand():
    session = Session(seed=0)
    session.train(300)
    hessian = session.hessian(3)
    assert len(hessian["largest"]) == 3 and hessian["parameters"] == 37
    assert hessian["largest"][0] >= hessian["largest"][1] >= hessian["largest"][2]
    assert hessian["smallest"] <= hessian["largest"][2]
    surface = session.landscape(steps=9, span=0.5)
    losses = np.array(surface["losses"])
    assert losses.shape == (9, 9) and surface["alphas"][4] == 0.0
    assert np.isclose(losses[4, 4], session.evaluate()["train_loss"], rtol=1e-4)
