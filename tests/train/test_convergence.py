"""Training reaches the accuracy the issue promises (fixed seeds, CPU, a few seconds each)."""

import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, random_split
from chainrule.models.mlp import MLP
from chainrule.train import Trainer


def _split(X, y, seed=0):
    train, test = random_split(TensorDataset(X, y), [0.8, 0.2], seed=seed)
    return train, DataLoader(test, batch_size=256)


def test_mlp_on_digits_reaches_97_percent():
    pytest.importorskip("sklearn")
    cr.manual_seed(0)
    train, test = _split(*cr.datasets.load_digits())
    model = MLP([64, 128, 10])
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
                      metrics=["accuracy"])
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True, seed=0), epochs=30, verbose=0)
    assert trainer.evaluate(test)["accuracy"] >= 0.97


def test_sine_regression_mse_below_0_01():
    cr.manual_seed(0)
    train, test = _split(*cr.datasets.make_sine(1000, noise=0.05, seed=0))
    model = MLP([1, 32, 32, 1], activation="tanh")
    trainer = Trainer(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=1e-2),
                      metrics=["mse", "r2"])
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True, seed=0), epochs=60, verbose=0)
    result = trainer.evaluate(test)
    assert result["loss"] < 0.01 and result["mse"] == pytest.approx(result["loss"], rel=1e-5)
    assert result["r2"] > 0.97


def test_moons_reaches_97_percent():
    cr.manual_seed(0)
    train, test = _split(*cr.datasets.make_moons(1000, noise=0.1, seed=0))
    model = MLP([2, 32, 2])
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
                      metrics=["accuracy"])
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True, seed=0), epochs=30, verbose=0)
    assert trainer.evaluate(test)["accuracy"] >= 0.97
