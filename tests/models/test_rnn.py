"""Recurrent models (models/rnn.py), the generated sequence data (data/sequences.py) and the
three sequence examples, run with --fast."""

import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data.sequences import make_price_series, make_sine_sequences, sliding_windows
from chainrule.models.rnn import RNNClassifier, RNNRegressor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- data ---------------------------------------------------------------------------------------
def test_make_sine_sequences():
    X, y = make_sine_sequences(301, length=40, n_classes=3, seed=0)
    assert X.shape == (301, 40, 1) and X.dtype == np.float32
    assert y.shape == (301,) and y.dtype == np.int64
    assert sorted(np.bincount(y.numpy())) == [100, 100, 101]
    X2, y2 = make_sine_sequences(301, length=40, n_classes=3, seed=0)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    clean, labels = make_sine_sequences(50, length=64, n_classes=4, noise=0.0, seed=1)
    spectrum = np.abs(np.fft.rfft(clean.numpy()[:, :, 0], axis=1))
    np.testing.assert_array_equal(spectrum.argmax(1), labels.numpy() + 2)  # k + 2 cycles
    cr.manual_seed(3)
    a = make_sine_sequences(5, 10)[0].numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(a, make_sine_sequences(5, 10)[0].numpy())
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        make_sine_sequences(10, 10, n_classes=1)
    with pytest.raises(ValueError, match="noise"):
        make_sine_sequences(10, 10, noise=-1.0)


def test_make_price_series():
    p = make_price_series(5000, start=50.0, trend=1e-3, volatility=0.01, season_amplitude=0.0,
                          seed=0).numpy()
    assert p.shape == (5000,) and p.dtype == np.float32 and (p > 0).all()
    assert p[0] == pytest.approx(50.0)
    returns = np.diff(np.log(p.astype(np.float64)))
    assert returns.std() == pytest.approx(0.01, rel=0.05)
    assert returns.mean() == pytest.approx(1e-3, abs=4 * 0.01 / np.sqrt(5000))
    flat = make_price_series(100, volatility=0.0, trend=0.0, season_period=20, seed=0).numpy()
    np.testing.assert_allclose(flat[:21:20], [100.0, 100.0], rtol=1e-5)  # one seasonal cycle
    with pytest.raises(ValueError, match="start must be positive"):
        make_price_series(10, start=0.0)


def test_sliding_windows():
    X, y = sliding_windows(np.arange(10.0), window=3, horizon=2)
    assert X.shape == (6, 3, 1) and y.shape == (6, 2)
    np.testing.assert_array_equal(X.numpy()[2, :, 0], [2, 3, 4])
    np.testing.assert_array_equal(y.numpy()[2], [5, 6])
    X2, _ = sliding_windows(cr.tensor(np.stack([np.arange(6.0), -np.arange(6.0)], 1)), 2)
    assert X2.shape == (4, 2, 2)
    with pytest.raises(ValueError, match="too short"):
        sliding_windows(np.arange(3.0), window=3)


# ---- models -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classifier_shapes_and_head(cell, bidirectional):
    model = RNNClassifier(2, 6, 3, cell=cell, num_layers=2, bidirectional=bidirectional)
    assert model.head.in_features == (12 if bidirectional else 6)
    assert model(cr.randn(4, 7, 2)).shape == (4, 3)
    assert model(cr.randn(4, 7, 2), lengths=[7, 1, 3, 5]).shape == (4, 3)


def test_classifier_uses_the_last_valid_state():
    cr.manual_seed(0)
    model = RNNClassifier(2, 5, 3, cell="lstm")
    x = cr.randn(2, 6, 2)
    padded = model(x, lengths=[6, 3]).numpy()
    np.testing.assert_allclose(padded[1], model(x[1:, :3]).numpy()[0], rtol=1e-5)


def test_classifier_on_tokens_with_embedding():
    model = RNNClassifier(4, 8, 2, cell="gru", num_embeddings=10, padding_idx=0)
    tokens = cr.tensor([[3, 4, 5, 0], [7, 1, 0, 0]])
    logits = model(tokens, lengths=[3, 2])
    assert logits.shape == (2, 2)
    logits.sum().backward()
    assert not model.embedding.weight.grad.numpy()[0].any()


def test_regressor_many_to_one_and_many_to_many():
    cr.manual_seed(1)
    assert RNNRegressor(1, 8)(cr.randn(3, 5, 1)).shape == (3, 1)
    model = RNNRegressor(2, 8, output_size=3, cell="gru", many_to_many=True)
    out = model(cr.randn(3, 5, 2), lengths=[5, 2, 4])
    assert out.shape == (3, 5, 3)
    bias = model.head.bias.numpy()
    np.testing.assert_allclose(out.numpy()[1, 2:], np.broadcast_to(bias, (3, 3)), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        RNNRegressor(1, 2, cell="transformer")


def test_gru_classifier_learns_the_frequency_of_noisy_sines():
    cr.manual_seed(0)
    X, y = make_sine_sequences(400, length=30, n_classes=3, noise=0.3, seed=0)
    model = RNNClassifier(1, 16, 3, cell="gru")
    optimizer = cr.optim.Adam(model.parameters(), lr=2e-2)
    loss_fn = nn.CrossEntropyLoss()
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    for _ in range(12):
        for start in range(0, 300, 50):
            optimizer.zero_grad()
            loss = loss_fn(model(X_train[start:start + 50]), y_train[start:start + 50])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    with cr.no_grad():
        accuracy = (model(X_test).numpy().argmax(1) == y_test.numpy()).mean()
    assert accuracy >= 0.9


def test_lstm_regressor_fits_a_sine_one_step_ahead():
    cr.manual_seed(0)
    X, y = sliding_windows(np.sin(np.arange(300) * 2 * np.pi / 25), window=10)
    model = RNNRegressor(1, 16, cell="lstm")
    optimizer = cr.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(X), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 5e-3


# ---- examples -----------------------------------------------------------------------------------
@pytest.mark.parametrize("script, expected", [
    ("rnn_timeseries.py", ["prediction.png"]),
    ("char_lm.py", ["loss.png", "samples.txt"]),
    ("sequence_classification.py", ["classification.png"]),
])
def test_example_runs_fast(script, expected, tmp_path, guide_pictures):
    pytest.importorskip("matplotlib")
    # One BLAS thread: on a busy machine, threaded BLAS makes the many small per-step matrix
    # products of a recurrence stall, and the run time would depend on the load.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), "--fast",
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in expected:
        assert (tmp_path / name).stat().st_size > 0
    # tutorial 8 shows a picture of each of the three examples
    guide_pictures(os.path.splitext(script)[0], tmp_path)
