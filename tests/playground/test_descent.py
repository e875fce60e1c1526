"""The descent tab: surfaces drawn on a grid, and optimisers racing from the same start."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.playground import descent
from chainrule.playground.protocol import unpack
from chainrule.playground.session import Session


@pytest.mark.parametrize("name", sorted(descent.SURFACES))
def test_every_surface_has_a_view_and_defaults_for_every_optimiser(name):
    view = descent.surface_view(name, descent.SURFACES[name], num=40)
    values = unpack(view["values"])
    assert values.shape == (1600,) and values.min() == -1.0 and values.max() == 1.0
    assert set(view["lrs"]) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta",
                                "adam", "adamw"}
    assert view["low"] <= view["high"]


def test_the_views_first_row_is_the_top_of_the_window():
    view = descent.surface_view("bowl", descent.SURFACES["bowl"], num=40)
    grid = unpack(view["values"]).reshape(40, 40)
    # (w1 - 3)^2 + (w2 - 2)^2 over w2 in [-2, 5]: the top row (w2 = 5) is nearer the minimum
    # than the bottom row (w2 = -2) at w1 = 3
    column = int(round((3 - (-1)) / 7 * 39))
    assert grid[0, column] < grid[-1, column]


def test_a_race_starts_together_and_reaches_the_bowls_minimum():
    result = descent.race(descent.SURFACES["bowl"], (0.0, 0.0),
                          {"sgd": 0.1, "momentum": 0.05, "adam": 0.2}, steps=150)
    assert set(result["paths"]) == {"sgd", "momentum", "adam"}
    for name, path in result["paths"].items():
        assert path[0] == [0.0, 0.0] and len(path) == 151
        assert np.allclose(result["final"][name]["point"], (3, 2), atol=0.05), name
        assert not result["final"][name]["diverged"]
    assert result["labels"]["sgd"] == "SGD"


def test_a_path_that_blows_up_stops_and_is_marked_diverged():
    result = descent.race(descent.SURFACES["bowl"], None, {"sgd": 100.0}, steps=400)
    assert result["final"]["sgd"]["diverged"] and len(result["paths"]["sgd"]) < 401


def test_the_network_surface_is_the_networks_loss_and_its_gradient_reaches_alpha_beta():
    session = Session(seed=0)
    session.train(100)
    surface = session.surface()
    with cr.no_grad():
        centre = surface(cr.tensor([0.0, 0.0])).item()
    assert np.isclose(centre, session.evaluate()["train_loss"], rtol=1e-5)
    w = cr.tensor([0.3, -0.2], requires_grad=True)
    surface(w).backward()
    eps = 1e-2
    for i in range(2):
        step = np.zeros(2)
        step[i] = eps
        with cr.no_grad():
            up = surface(cr.tensor(np.array([0.3, -0.2]) + step)).item()
            down = surface(cr.tensor(np.array([0.3, -0.2]) - step)).item()
        assert np.isclose(w.grad.numpy()[i], (up - down) / (2 * eps), rtol=0.05, atol=1e-3)
    paths = descent.race(surface, None, {"adam": 0.02}, steps=20)["paths"]["adam"]
    assert len(paths) == 21 and paths[0] == list(surface.start)
