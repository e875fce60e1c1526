"""The ``chainrule`` command on every model family: cnn, lstm, autoencoder and gan (subprocesses,
a few epochs each)."""

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)],
                            capture_output=True, text=True, env=ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def report(stdout: str) -> list:
    """The lines a run prints from its test report on, without the final "wrote ..." line."""
    lines = stdout[stdout.index("test "):].strip().splitlines()
    return [line for line in lines if not line.startswith("wrote ")]


def is_png(path) -> bool:
    return path.read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def cnn_run(runs):
    pytest.importorskip("sklearn")
    out = runs / "digits-cnn"
    result = run("train", "--data", "digits", "--model", "cnn", "--epochs", 5, "--lr", 0.003,
                 "--verbose", 0, "--out", out)
    return out, result


@pytest.fixture(scope="module")
def gan_run(runs):
    pytest.importorskip("sklearn")
    out = runs / "digits-gan"
    result = run("train", "--data", "digits", "--model", "gan", "--epochs", 3, "--verbose", 2,
                 "--out", out)
    return out, result


def test_cnn_trains_on_the_flat_digits_and_takes_an_8x8_image(cnn_run, tmp_path):
    out, result = cnn_run
    accuracy = float(re.search(r"test loss: [\d.]+ - accuracy: ([\d.]+) \(359 samples\)",
                               result.stdout)[1])
    assert accuracy >= 0.85
    assert "confusion matrix" in result.stdout
    state = cr.load(out / "checkpoint.safetensors")
    assert state["config"]["model"] == "cnn" and state["epoch"] == 5
    assert state["config"]["model_args"]["in_shape"] == (64,)
    assert any(".features.0.weight" in k for k in state["model"])  # LeNet's first convolution
    assert run("evaluate", out / "checkpoint.safetensors").stdout.strip().splitlines() == \
        report(result.stdout)
    X, y = cr.datasets.load_digits()
    np.save(tmp_path / "image.npy", X.numpy()[:40].reshape(40, 8, 8))
    labels = [int(v) for v in run("predict", out / "checkpoint.safetensors", "--input",
                                  tmp_path / "image.npy").stdout.split()]
    assert len(labels) == 40 and np.mean(np.array(labels) == y.numpy()[:40]) >= 0.8


def test_lstm_on_sine_sequences(tmp_path):
    data = ["--data", "sine-seq", "--data-arg", "n_samples=600", "--data-arg", "n_classes=2",
            "--data-arg", "noise=0.1", "--data-arg", "length=20"]
    result = run("train", *data, "--model", "lstm", "--model-arg", "hidden_size=32", "--lr",
                 0.01, "--epochs", 6, "--verbose", 0, "--out", tmp_path)
    accuracy = float(re.search(r"test loss: [\d.]+ - accuracy: ([\d.]+) \(120 samples\)",
                               result.stdout)[1])
    assert accuracy >= 0.8  # chance: 0.5
    state = cr.load(tmp_path / "checkpoint.safetensors")
    assert state["config"]["model_args"]["in_shape"] == (20, 1)
    assert "rnn.weight_hh_l0" in state["model"]
    assert run("evaluate", tmp_path / "checkpoint.safetensors").stdout.strip().splitlines() == \
        report(result.stdout)


def test_autoencoder_reconstructs_digits_and_draws_them(tmp_path):
    pytest.importorskip("sklearn")
    result = run("train", "--data", "digits", "--model", "autoencoder", "--epochs", 5,
                 "--lr", 0.003, "--verbose", 0, "--out", tmp_path)
    mse = float(re.search(r"test loss: ([\d.]+) - mae: [\d.]+ \(359 samples\)",
                          result.stdout)[1])
    X, _ = cr.datasets.load_digits()
    mean_image = float(((X.numpy() - X.numpy().mean(0)) ** 2).mean())  # 0.073
    assert mse < 0.8 * mean_image
    assert "confusion" not in result.stdout
    state = cr.load(tmp_path / "checkpoint.safetensors")
    assert state["config"]["task"] == "reconstruction"
    assert state["config"]["model_args"]["output_activation"] == "sigmoid"  # pixels in [0, 1]
    log = list(csv.reader((tmp_path / "log.csv").open()))
    assert log[0] == ["epoch", "loss", "lr", "mae", "val_loss", "val_mae"] and len(log) == 6
    if pytest.importorskip("matplotlib"):
        assert is_png(tmp_path / "reconstructions.png") and is_png(tmp_path / "codes.png")
    assert run("evaluate", tmp_path / "checkpoint.safetensors").stdout.strip().splitlines() == \
        report(result.stdout)
    np.save(tmp_path / "x.npy", X.numpy()[:6])
    run("predict", tmp_path / "checkpoint.safetensors", "--input", tmp_path / "x.npy",
        "--output", tmp_path / "r.npy")
    rebuilt = np.load(tmp_path / "r.npy")
    assert rebuilt.shape == (6, 64) and ((rebuilt - X.numpy()[:6]) ** 2).mean() < mean_image


def test_gan_trains_writes_samples_log_and_checkpoint(gan_run):
    out, result = gan_run
    values = re.search(r"test loss_d: ([\d.]+) - loss_g: ([\d.]+) - d_real: ([\d.]+) - "
                       r"d_fake: ([\d.]+) \(359 samples\)", result.stdout)
    assert values is not None, result.stdout
    d_real, d_fake = float(values[3]), float(values[4])
    assert 0 < d_fake < d_real < 1  # the discriminator tells real digits from early fakes
    assert re.match(r"Epoch 1/3 - [\d.]+s - loss_d: ", result.stderr)
    log = list(csv.reader((out / "log.csv").open()))
    assert log[0] == ["epoch", "d_fake", "d_real", "loss_d", "loss_g"] and len(log) == 4
    if pytest.importorskip("matplotlib"):
        for epoch in (1, 2, 3):
            assert is_png(out / f"samples_epoch_{epoch:03d}.png")
    state = cr.load(out / "checkpoint.safetensors")
    assert state["epoch"] == 3 and state["config"]["task"] == "generation"
    assert state["optimizer_g"]["state"] and state["optimizer_d"]["state"]
    assert state["config"]["model_args"]["output_activation"] == "sigmoid"


def test_gan_resume_equals_the_straight_run_bit_for_bit(gan_run, tmp_path):
    out, _ = gan_run
    run("train", "--data", "digits", "--model", "gan", "--epochs", 1, "--verbose", 0,
        "--out", tmp_path)
    resumed = run("train", "--resume", tmp_path / "checkpoint.safetensors", "--epochs", 3,
                  "--verbose", 2)
    assert resumed.stderr.startswith("Epoch 2/3")
    a = cr.load(out / "checkpoint.safetensors")
    b = cr.load(tmp_path / "checkpoint.safetensors")
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    assert a["history"] == b["history"] and b["epoch"] == 3
    assert (out / "log.csv").read_text() == (tmp_path / "log.csv").read_text()


def test_every_model_saves_one_checkpoint_layout(cnn_run, gan_run):
    """The Trainer's checkpoint for every model: one optimiser entry per optimiser."""
    layout = {"model", "scheduler", "epoch", "history", "rng_state", "train_loader", "config"}
    assert set(cr.load(cnn_run[0] / "checkpoint.safetensors")) == layout | {"optimizer"}
    assert set(cr.load(gan_run[0] / "checkpoint.safetensors")) == \
        layout | {"optimizer_g", "optimizer_d"}


def test_autoencoder_resume_equals_the_straight_run_bit_for_bit(tmp_path):
    common = ["--data", "moons", "--data-arg", "n_samples=300", "--model", "autoencoder",
              "--model-arg", "code_size=1", "--model-arg", "hidden=16", "--verbose", 0]
    run("train", *common, "--epochs", 3, "--out", tmp_path / "straight")
    run("train", *common, "--epochs", 1, "--out", tmp_path / "resumed")
    resumed = run("train", "--resume", tmp_path / "resumed" / "checkpoint.safetensors",
                  "--epochs", 3, "--verbose", 2)
    assert resumed.stderr.startswith("Epoch 2/3")
    a = cr.load(tmp_path / "straight" / "checkpoint.safetensors")
    b = cr.load(tmp_path / "resumed" / "checkpoint.safetensors")
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    assert a["history"] == b["history"] and b["epoch"] == 3
    assert (tmp_path / "straight" / "log.csv").read_text() == \
        (tmp_path / "resumed" / "log.csv").read_text()


def test_gan_evaluate_and_predict_samples(gan_run, tmp_path):
    out, result = gan_run
    ckpt = out / "checkpoint.safetensors"
    assert run("evaluate", ckpt).stdout.strip().splitlines() == report(result.stdout)
    run("predict", ckpt, "--samples", 5, "--output", tmp_path / "fake.npy")
    fake = np.load(tmp_path / "fake.npy")
    assert fake.shape == (5, 64) and fake.min() >= 0 and fake.max() <= 1
    printed = run("predict", ckpt, "--samples", 5).stdout.strip().splitlines()
    assert np.allclose([[float(v) for v in line.split()] for line in printed], fake, atol=1e-5)
    np.save(tmp_path / "z.npy", np.zeros((2, 32), np.float32))
    assert len(run("predict", ckpt, "--input", tmp_path / "z.npy").stdout.splitlines()) == 2
    if pytest.importorskip("matplotlib"):
        run("predict", ckpt, "--samples", 16, "--output", tmp_path / "fake.png")
        assert is_png(tmp_path / "fake.png")


def test_gan_on_the_mixture_counts_the_modes(tmp_path):
    result = run("train", "--data", "mixture", "--data-arg", "n_samples=400", "--model", "gan",
                 "--epochs", 2, "--verbose", 0, "--out", tmp_path)
    assert re.search(r"generated modes_covered: [0-8] - quality: [\d.]+ \(80 samples\)",
                     result.stdout)
    state = cr.load(tmp_path / "checkpoint.safetensors")
    assert state["config"]["model_args"]["output_activation"] is None  # points beyond [-1, 1]


BAD = [
    (["train", "--data", "moons", "--model", "lstm"], 2,
     "cannot build model 'lstm' for dataset 'moons': lstm needs sequences"),
    (["train", "--data", "sine-seq", "--model", "cnn"], 2,
     "cnn needs images, samples of shape (C, H, W) or of H * H pixels; these samples have "
     "shape (50, 1)"),
    (["train", "--data", "moons", "--model", "autoencoder", "--model-arg", "conv=True"], 2,
     "needs images"),
    (["train", "--data", "moons", "--model", "gan", "--optimizer", "sgd", "--patience", "2"], 2,
     "leave out --optimizer, --patience"),
]


@pytest.mark.parametrize("argv, status, message", BAD, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_a_model_that_does_not_fit_gives_one_line(argv, status, message, tmp_path):
    result = run(*argv, "--epochs", 1, "--out", tmp_path / "run", check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == status and len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "run").exists()


def test_commands_that_do_not_apply_give_one_line(gan_run, cnn_run):
    gan, cnn = gan_run[0] / "checkpoint.safetensors", cnn_run[0] / "checkpoint.safetensors"
    for argv, message in [
        (["inspect", gan], "the two adversarial losses of a GAN are not supported"),
        (["predict", cnn, "--samples", 3], "--samples draws samples from a GAN"),
        (["predict", gan, "--samples", 3, "--probabilities"], "--probabilities applies to "
         "classifiers"),
        (["train", "--resume", gan, "--device", "cuda"], "model 'gan' trains on the CPU"),
    ]:
        result = run(*argv, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr


def test_list_shows_every_family():
    listing = run("list").stdout
    for name in ("cnn", "rnn", "lstm", "gru", "autoencoder", "gan", "sine-seq", "mixture"):
        assert re.search(rf"^  {name} +\S", listing, re.M), name
