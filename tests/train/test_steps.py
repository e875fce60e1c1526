"""The steps of the Trainer: fit, evaluate and predict call train_step, test_step and
predict_step on every batch; a subclass that overrides them keeps the rest of the Trainer."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.models.mlp import MLP
from chainrule.train import Callback, Trainer


def _problem(n=40):
    return cr.datasets.make_blobs(n, centers=2, seed=0)


class Counting(Trainer):
    """The default steps, counting the batches each one sees."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = {"train": 0, "test": 0, "predict": 0}

    def train_step(self, batch):
        self.calls["train"] += 1
        return super().train_step(batch)

    def test_step(self, batch):
        self.calls["test"] += 1
        return super().test_step(batch)

    def predict_step(self, batch):
        self.calls["predict"] += 1
        return super().predict_step(batch)


def test_fit_evaluate_and_predict_call_the_steps_on_every_batch():
    X, y = _problem()
    cr.manual_seed(0)
    model = MLP([2, 4, 2])
    trainer = Counting(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    trainer.fit((X, y), val=(X, y), epochs=3, batch_size=10, verbose=0)
    assert trainer.calls == {"train": 12, "test": 12, "predict": 0}
    trainer.evaluate((X, y), batch_size=20)
    trainer.predict(X, batch_size=8)
    assert trainer.calls == {"train": 12, "test": 14, "predict": 5}


def test_the_epoch_logs_are_the_last_step_logs_means_over_samples():
    """Batches of 10, 10 and 5 samples: the epoch's loss weighs each batch by its size."""
    X, y = _problem(25)
    cr.manual_seed(0)
    model = MLP([2, 4, 2])
    batch_logs = []

    class Spy(Callback):
        def on_train_batch_end(self, batch, logs=None):
            batch_logs.append(dict(logs))

    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
                      metrics=["accuracy"], callbacks=[Spy()])
    history = trainer.fit(DataLoader(TensorDataset(X, y), 10), epochs=1, verbose=0)
    with cr.no_grad():
        losses = [nn.CrossEntropyLoss()(model(X[i:i + 10]), y[i:i + 10]).item()
                  for i in (0, 10, 20)]
    expected = (10 * losses[0] + 10 * losses[1] + 5 * losses[2]) / 25
    assert batch_logs[0]["loss"] == pytest.approx(losses[0], rel=1e-6)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-6) == batch_logs[-1]["loss"]
    assert history["accuracy"][0] == batch_logs[-1]["accuracy"]


class TwoOptimizers(Trainer):
    """A custom step: each half of a two-layer network has its own optimiser."""

    def __init__(self, model, first, second):
        super().__init__(model, nn.MSELoss())
        self.first, self.second = first, second

    def named_optimizers(self):
        return {"optimizer_first": self.first, "optimizer_second": self.second}

    def train_step(self, batch):
        x, y = batch
        for opt in (self.first, self.second):
            opt.zero_grad()
        loss = self.compute_loss(self.model(x), y)
        loss.backward()
        for opt in (self.first, self.second):
            opt.step()
        return self.update_means({"loss": loss, "half": loss / 2}, len(x))


def _two_optimizers(lr_first=0.05, lr_second=0.01):
    cr.manual_seed(0)
    model = MLP([1, 8, 1], activation="tanh")
    first = optim.Adam(model[0].parameters(), lr=lr_first)
    second = optim.SGD(model[2].parameters(), lr=lr_second, momentum=0.9)
    return TwoOptimizers(model, first, second)


def test_a_custom_step_with_two_optimizers_logs_and_resumes_exactly(tmp_path):
    X, y = cr.datasets.make_sine(64, seed=0)
    loader = DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=3)
    straight = _two_optimizers()
    history = straight.fit(loader, epochs=4, verbose=0)
    assert set(history.history) == {"loss", "half"}  # no "lr": several optimisers
    assert history["half"] == pytest.approx([v / 2 for v in history["loss"]], rel=1e-6)

    first = _two_optimizers()
    first.fit(DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=3), epochs=2, verbose=0)
    first.save_checkpoint(tmp_path / "ckpt.safetensors")
    state = cr.load(tmp_path / "ckpt.safetensors")
    assert {"optimizer_first", "optimizer_second"} <= set(state) and "optimizer" not in state
    resumed = _two_optimizers(lr_first=1.0, lr_second=1.0)  # the checkpoint restores the rates
    resumed.load_checkpoint(tmp_path / "ckpt.safetensors")
    resumed.fit(DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=3), epochs=4,
                initial_epoch=resumed.epoch, verbose=0)
    for k, v in straight.model.state_dict().items():
        assert np.array_equal(v.numpy(), resumed.model.state_dict()[k].numpy()), k
    assert resumed.history.history == history.history


def test_fit_names_the_missing_optimizers_and_a_missing_loss():
    X, y = cr.datasets.make_sine(16, seed=0)
    trainer = _two_optimizers()
    trainer.second = None
    with pytest.raises(ValueError, match="TwoOptimizers.fit has no optimizer_second"):
        trainer.fit((X, y), verbose=0)
    model = MLP([1, 2, 1])
    no_loss = Trainer(model, optimizer=optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="Trainer has no loss"):
        no_loss.fit((X, y), verbose=0)
    assert no_loss.predict(X).shape == (16, 1)  # predicting needs no loss
