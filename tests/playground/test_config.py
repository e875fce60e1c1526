"""Every value from the page is checked in one place, with a sentence for the page."""

import pytest

import chainrule as cr
from chainrule.nn.layers.activation import ACTIVATIONS as LIBRARY_ACTIVATIONS
from chainrule.playground import config
from chainrule.playground.config import DEFAULTS, ParameterError, validate_settings


def test_defaults_are_valid_and_updates_are_new_dicts():
    settings = validate_settings({}, DEFAULTS)
    assert settings == DEFAULTS and settings is not DEFAULTS
    changed = validate_settings({"lr": "0.1", "hidden": [8, 2], "batch_norm": True}, settings)
    assert changed["lr"] == 0.1 and changed["hidden"] == [8, 2] and changed["batch_norm"]
    assert settings["lr"] == DEFAULTS["lr"]  # the old dict is untouched


@pytest.mark.parametrize("update, message", [
    ({"lr": -1}, "learning rate must be > 0, got -1"),
    ({"lr": 0}, "learning rate must be > 0, got 0"),
    ({"lr": "abc"}, "learning rate must be a number, got 'abc'"),
    ({"lr": "nan"}, "learning rate must be a finite number"),
    ({"lr": None}, "learning rate must be a number, got null"),
    ({"lr": True}, "learning rate must be a number"),
    ({"lr": 11}, "learning rate must be <= 10"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"hidden": [0]}, "neurons per layer must be >= 1, got 0"),
    ({"hidden": [9]}, "neurons per layer must be <= 8"),
    ({"hidden": [4] * 7}, "at most 6 hidden layers"),
    ({"hidden": "4,4"}, "hidden layers must be a list"),
    ({"n_samples": 2.5}, "number of points must be a whole number, got 2.5"),
    ({"batch_size": 0}, "batch size must be >= 1"),
    ({"features": []}, "choose at least one input feature"),
    ({"features": ["x3"]}, "unknown input feature 'x3'"),
    ({"features": ["x1", "x1"]}, "listed twice"),
    ({"batch_norm": "yes"}, "batch norm must be true or false"),
    ({"dropout": 0.95}, "dropout must be <= 0.9"),
    ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
    ({"optimizer": "lbfgs"}, "unknown optimiser 'lbfgs'"),
    ({"unknown": 1}, "unknown setting 'unknown'"),
    ({"optimizer": "nesterov", "momentum": 0}, "Nesterov momentum needs a momentum > 0"),
    ({"batch_norm": True, "batch_size": 1}, "batch norm needs a batch size of at least 2"),
])
def test_bad_settings_give_a_sentence(update, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_settings(update, DEFAULTS)


def test_settings_must_be_an_object_and_features_come_in_canonical_order():
    with pytest.raises(ParameterError, match="JSON object"):
        validate_settings([1, 2], DEFAULTS)
    assert validate_settings({"features": ["sin(x1)", "x2"]}, DEFAULTS)["features"] == \
        ["x2", "sin(x1)"]


def test_the_page_offers_every_activation_and_optimiser_chainrule_has():
    offered = {type(cr.nn.get_activation(name)) for name in config.ACTIVATIONS}
    assert offered == set(LIBRARY_ACTIVATIONS.values())
    for name in ("Step", "Sign", "PiecewiseLinear"):
        assert getattr(cr.nn, name) in offered
    library = {name for name in cr.optim.__all__ if name not in ("Optimizer", "lr_scheduler")}
    from chainrule.playground.optimizers import _CLASSES

    assert {cls.__name__ for cls in _CLASSES.values()} == library - {"LBFGS"}


def test_race_graph_and_analysis_requests_are_checked():
    race = config.validate_race({"surface": "bowl", "start": ["1", 2], "steps": "50",
                                 "optimizers": {"adam": "0.1"}})
    assert race == {"surface": "bowl", "start": (1.0, 2.0), "steps": 50,
                    "optimizers": {"adam": 0.1}}
    for bad, message in [({"surface": "moon"}, "unknown surface"),
                         ({"surface": "bowl", "start": [1]}, "start must be a point"),
                         ({"surface": "bowl", "steps": 5000}, "steps must be <= 2000"),
                         ({"surface": "bowl", "optimizers": {"adam": -1}}, "learning rate"),
                         ({"surface": "bowl", "optimizers": {"newton": 1}}, "unknown optimiser")]:
        with pytest.raises(ParameterError, match=message):
            config.validate_race(bad)
    assert config.validate_graph({"expression": "a*b", "values": {"a": "2"}}) == \
        ("a*b", {"a": 2.0})
    with pytest.raises(ParameterError, match="too long"):
        config.validate_graph({"expression": "a+" * 150 + "a"})
    with pytest.raises(ParameterError, match="the value of 'a'"):
        config.validate_graph({"expression": "a", "values": {"a": "x"}})
    with pytest.raises(ParameterError, match="number of eigenvalues"):
        config.validate_analysis({"k": 0})
