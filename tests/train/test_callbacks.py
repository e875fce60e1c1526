"""Callbacks: hook order, EarlyStopping, TerminateOnNaN, checkpoints, CSV log, LambdaCallback.
(The learning-rate callbacks are in test_lr_callbacks.py.)"""

import csv
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.models.mlp import MLP
from chainrule.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    TerminateOnNaN,
    Trainer,
)


def _data(n=40):
    return cr.datasets.make_blobs(n, centers=2, seed=0)


def _trainer(callbacks=(), loss=None, lr=0.05):
    cr.manual_seed(0)
    model = MLP([2, 4, 2])
    return Trainer(model, loss or nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr),
                   metrics=["accuracy"], callbacks=list(callbacks))


class Scripted(Callback):
    """Puts a scripted value into the epoch logs and records the weights of every epoch."""

    def __init__(self, values, key="score"):
        self.values, self.key, self.weights = values, key, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append({k: v.numpy().copy() for k, v in self.model.state_dict().items()})


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            self.calls.append(name)
        return object.__getattribute__(self, name)


def test_hook_order():
    recorder = Recorder()
    X, y = _data(20)
    _trainer([recorder]).fit((X, y), val=(X, y), epochs=1, batch_size=10, verbose=0)
    assert recorder.calls == [
        "on_train_begin", "on_epoch_begin",
        "on_train_batch_begin", "on_train_batch_end", "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_batch_begin",
        "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end"]


def test_early_stopping_stops_and_restores_the_best_weights():
    scores = [5.0, 3.0, 1.0, 2.0, 2.5, 0.5, 0.1, 0.1]
    script = Scripted(scores)
    stopper = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    X, y = _data()
    history = _trainer([script, stopper]).fit((X, y), epochs=8, verbose=0)
    assert stopper.stopped_epoch == 4 and stopper.best_epoch == 2 and stopper.best == 1.0
    assert len(history) == 5
    restored = {k: v.numpy() for k, v in stopper.model.state_dict().items()}
    for k, v in script.weights[2].items():
        assert np.array_equal(restored[k], v), k
    assert not np.array_equal(restored["0.weight"], script.weights[4]["0.weight"])


def test_early_stopping_modes_min_delta_and_no_restore():
    script = Scripted([0.5, 0.6, 0.605, 0.61, 0.9], key="val_accuracy")
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.02)  # auto -> max
    X, y = _data()
    _trainer([script, stopper]).fit((X, y), epochs=5, verbose=0)
    assert stopper.mode == "max" and stopper.stopped_epoch == 3 and stopper.best == 0.6
    final = {k: v.numpy() for k, v in stopper.model.state_dict().items()}
    assert all(np.array_equal(final[k], v) for k, v in script.weights[3].items())
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_early_stopping_warns_about_a_missing_monitor():
    X, y = _data()
    with pytest.warns(UserWarning, match="'val_loss' is not in the logs; available: accuracy"):
        _trainer([EarlyStopping()]).fit((X, y), epochs=1, verbose=0)


class NaNAt:
    """A loss that turns NaN (or inf) at a given call."""

    def __init__(self, at, value=float("nan")):
        self.at, self.value, self.calls = at, value, 0

    def __call__(self, output, target):
        self.calls += 1
        loss = nn.functional.cross_entropy(output, target)
        return loss * self.value if self.calls == self.at else loss


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_terminate_on_nan_stops_and_reports_epoch_and_batch(capsys, value):
    terminate = TerminateOnNaN()
    X, y = _data(40)
    trainer = _trainer([terminate], loss=NaNAt(7, value))
    history = trainer.fit((X, y), epochs=5, batch_size=10, verbose=0)  # 4 batches per epoch
    assert (terminate.stopped_epoch, terminate.stopped_batch) == (1, 2)
    assert trainer.loss_fn.calls == 7 and len(history) == 2
    assert not math.isfinite(history["loss"][-1])
    assert "epoch 2, batch 3" in capsys.readouterr().err


def test_model_checkpoint_every_epoch_with_format_fields(tmp_path):
    X, y = _data()
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{loss:.2f}.safetensors")
    checkpoint = ModelCheckpoint(pattern, extra={"config": {"model": "mlp"}})
    trainer = _trainer([checkpoint])
    history = trainer.fit((X, y), epochs=3, verbose=0)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and files[0].startswith("ckpt-01-")
    assert files[2] == f"ckpt-03-{history['loss'][2]:.2f}.safetensors"
    state = cr.load(checkpoint.last_saved)
    assert state["epoch"] == 3 and state["config"] == {"model": "mlp"}
    assert set(state) >= {"model", "optimizer", "scheduler", "rng_state", "history",
                          "train_loader"}


def test_model_checkpoint_best_only_weights_only(tmp_path):
    script = Scripted([3.0, 1.0, 2.0, 0.5, 4.0], key="val_loss")
    path = tmp_path / "best.safetensors"
    checkpoint = ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    saves = []

    class Spy(Callback):
        def on_epoch_end(self, epoch, logs=None):
            saves.append(path.stat().st_mtime_ns if path.exists() else None)

    X, y = _data()
    _trainer([script, checkpoint, Spy()]).fit((X, y), epochs=5, verbose=0)
    assert checkpoint.best == 0.5
    weights = cr.load(path)
    assert set(weights) == set(script.weights[3])
    for k, v in script.weights[3].items():
        assert np.array_equal(weights[k].numpy(), v)
    assert saves[2] == saves[1] and saves[4] == saves[3]  # no save when not better


def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    X, y = _data()
    trainer = _trainer([CSVLogger(path)])
    history = trainer.fit((X, y), val=(X, y), epochs=2, verbose=0)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][2]) == history["loss"][1]  # full precision
    trainer.callbacks = [CSVLogger(path, append=True)]
    trainer.fit((X, y), val=(X, y), epochs=3, initial_epoch=2, verbose=0)
    rows = list(csv.reader(path.open()))
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"] and len(rows[0]) == 6


def test_lambda_callback_calls_the_given_hooks():
    calls = []
    callback = LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                              on_epoch_end=lambda epoch, logs: calls.append((epoch, logs["loss"])))
    X, y = _data()
    history = _trainer([callback]).fit((X, y), epochs=2, verbose=0)
    assert calls == ["begin", (0, history["loss"][0]), (1, history["loss"][1])]
    with pytest.raises(ValueError, match="unknown hook 'on_epoch_ends'"):
        LambdaCallback(on_epoch_ends=print)
