"""Trainer: the loop, History, verbose levels, evaluate / predict, and exact resumption."""

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.models.mlp import MLP
from chainrule.train import History, Trainer


def _problem(n=64, seed=0):
    X, y = cr.datasets.make_blobs(n, centers=3, cluster_std=2.0, seed=seed)
    return X, y


def _trainer(seed=0, dropout=0.0, **kwargs):
    cr.manual_seed(seed)
    model = MLP([2, 8, 3], dropout=dropout)
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05,
                                                            momentum=0.9), **kwargs)


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_fit_is_the_six_line_loop():
    X, y = _problem()
    trainer = _trainer()
    trainer.fit(DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=1), epochs=3, verbose=0)

    cr.manual_seed(0)
    model = MLP([2, 8, 3])
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=1)
    for _ in range(3):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    for k, v in _weights(model).items():
        assert np.array_equal(v, _weights(trainer.model)[k]), k


@pytest.mark.parametrize("compile", [False, True])
def test_gradient_clipping_is_the_loop_with_clip_grad_norm(compile):
    X, y = _problem()
    trainer = _trainer(gradient_clip_val=0.05, compile=compile)
    trainer.fit(DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=1), epochs=2, verbose=0)

    cr.manual_seed(0)
    model = MLP([2, 8, 3])
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    norms = []
    loader = DataLoader(TensorDataset(X, y), 16, shuffle=True, seed=1)
    for _ in range(2):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            norms.append(nn.utils.clip_grad_norm_(model.parameters(), 0.05).item())
            optimizer.step()
    assert max(norms) > 0.05  # the clipping was active
    for k, v in _weights(model).items():
        np.testing.assert_allclose(_weights(trainer.model)[k], v, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="gradient_clip_val must be positive"):
        _trainer(gradient_clip_val=0.0)


def test_history_keys_lengths_and_values():
    X, y = _problem()
    trainer = _trainer(metrics=["accuracy", "f1"])
    history = trainer.fit((X[:48], y[:48]), val=(X[48:], y[48:]), epochs=4, batch_size=16,
                          seed=0, verbose=0)
    assert isinstance(history, History) and history is trainer.history
    assert set(history.history) == {"loss", "accuracy", "f1", "val_loss", "val_accuracy",
                                    "val_f1", "lr"}
    assert all(len(v) == 4 for v in history.history.values())
    assert history.epoch == [0, 1, 2, 3] and len(history) == 4
    assert history.params == {"epochs": 4, "steps": 3, "verbose": 0}
    # the last val_* values equal an evaluation of the final model on the validation data
    final = trainer.evaluate((X[48:], y[48:]), batch_size=5)
    assert history["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-6)
    assert history["val_accuracy"][-1] == pytest.approx(final["accuracy"])


def test_evaluate_is_the_mean_over_samples_and_restores_the_mode():
    X, y = _problem(50)
    trainer = _trainer(metrics=["accuracy"])
    trainer.model.train()
    logs = trainer.evaluate((X, y), batch_size=7)
    with cr.no_grad():
        output = trainer.model.eval()(X)
        expected = nn.CrossEntropyLoss()(output, y).item()
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(
        float((output.numpy().argmax(1) == y.numpy()).mean()))
    trainer.model.train()
    trainer.evaluate((X, y))
    assert trainer.model.training


def test_predict_concatenates_batches_in_eval_mode_without_graph():
    X, _ = _problem(37)
    trainer = _trainer(dropout=0.5)
    out = trainer.predict(X, batch_size=8)
    assert out.shape == (37, 3) and not out.requires_grad
    assert np.array_equal(out.numpy(), trainer.predict((X,), batch_size=37).numpy())
    assert trainer.model.training  # predict restored the mode


def test_verbose_0_prints_nothing(capsys):
    X, y = _problem()
    _trainer(metrics=["accuracy"]).fit((X, y), val=(X, y), epochs=2, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_2_one_line_per_epoch_on_stderr(capsys):
    X, y = _problem()
    _trainer(metrics=["accuracy"]).fit((X, y), val=(X, y), epochs=3, verbose=2)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 3
    assert lines[0].startswith("Epoch 1/3") and "val_accuracy" in lines[0]


def test_verbose_1_is_quiet_when_not_a_terminal(capsys):
    X, y = _problem()
    _trainer().fit((X, y), epochs=2, verbose=1)
    err = capsys.readouterr().err
    assert "\r" not in err and len(err.strip().splitlines()) == 2


def test_verbose_1_draws_a_bar_on_a_terminal(monkeypatch):
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    X, y = _problem()
    _trainer().fit((X, y), epochs=2, batch_size=8, verbose=1)
    text = stream.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "\r" in text and "loss" in text


def test_data_forms_and_errors():
    X, y = _problem(40)
    trainer = _trainer()
    h1 = trainer.fit(TensorDataset(X, y), epochs=1, batch_size=10, verbose=0)
    h2 = trainer.fit((X.numpy(), y.numpy()), epochs=1, batch_size=10, verbose=0)
    assert len(h1) == len(h2) == 1
    with pytest.raises(TypeError, match="train must be"):
        trainer.fit("data.csv", verbose=0)
    with pytest.raises(ValueError, match="optimizer"):
        Trainer(trainer.model, nn.MSELoss()).fit((X, y), verbose=0)
    with pytest.raises(ValueError, match="unknown metric"):
        Trainer(trainer.model, nn.MSELoss(), metrics=["acuracy"])
    with pytest.raises(ValueError, match="unknown loss 'crossentropy'"):
        Trainer(trainer.model, "crossentropy")
    with pytest.raises(ValueError, match="initial_epoch"):
        trainer.fit((X, y), epochs=2, initial_epoch=3, verbose=0)


def test_loss_by_name_and_scheduler_steps_per_epoch():
    X, y = _problem()
    cr.manual_seed(0)
    model = MLP([2, 8, 3])
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    trainer = Trainer(model, "cross_entropy", optimizer, scheduler=scheduler)
    history = trainer.fit((X, y), epochs=5, verbose=0)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_reduce_on_plateau_scheduler_uses_the_validation_loss():
    X, y = _problem()
    cr.manual_seed(0)
    model = MLP([2, 8, 3])
    optimizer = optim.SGD(model.parameters(), lr=1e-6)  # too small: the loss stays flat
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, factor=0.5)
    history = Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler).fit(
        (X, y), val=(X, y), epochs=4, verbose=0)
    assert history["lr"] == pytest.approx([1e-6, 1e-6, 1e-6, 5e-7])


def _resume_script(tmp_path, epochs, initial=None):
    """A fresh Python process: build, optionally load a checkpoint, fit, save."""
    return textwrap.dedent(f"""
        import chainrule as cr
        from chainrule import nn, optim
        from chainrule.data import DataLoader, TensorDataset
        from chainrule.models.mlp import MLP
        from chainrule.train import Trainer
        cr.manual_seed(0)
        X, y = cr.datasets.make_moons(300, noise=0.2, seed=0)
        model = MLP([2, 16, 2], dropout=0.1)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        trainer = Trainer(model, nn.CrossEntropyLoss(), opt, metrics=["accuracy"],
                          scheduler=sched)
        loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=7)
        initial = 0
        if {initial!r} is not None:
            trainer.load_checkpoint({str(tmp_path / 'ckpt.safetensors')!r})
            initial = trainer.epoch
        trainer.fit(loader, val=(X[:50], y[:50]), epochs={epochs}, verbose=0,
                    initial_epoch=initial)
        trainer.save_checkpoint({str(tmp_path / 'ckpt.safetensors')!r})
    """)


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    straight.mkdir()
    resumed.mkdir()
    run = [sys.executable, "-c"]
    subprocess.run(run + [_resume_script(straight, 4)], check=True)
    subprocess.run(run + [_resume_script(resumed, 2)], check=True)
    subprocess.run(run + [_resume_script(resumed, 4, initial=True)], check=True)
    a = cr.load(straight / "ckpt.safetensors")
    b = cr.load(resumed / "ckpt.safetensors")
    assert a["epoch"] == b["epoch"] == 4
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    for i, state in a["optimizer"]["state"].items():
        for name, value in state.items():
            assert np.array_equal(np.asarray(value), np.asarray(b["optimizer"]["state"][i][name]))
    assert a["history"] == b["history"] and a["rng_state"] == b["rng_state"]
    assert a["scheduler"] == b["scheduler"] and a["train_loader"] == b["train_loader"]
