"""The tutorial examples run end to end in their fast mode and reproduce what the guide says.

Each example is loaded from examples/ and its ``main`` called with ``--fast --out <tmp>``; the
pictures it writes are the ones the guide's pages name (``examples/output/<name>/<file>``).
"""

import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load(name):
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name, tmp_path, *extra):
    """Run the example's main in fast mode into ``tmp_path``; return its result."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)    # no overflow or invalid-value warning
        return load(name).main(["--fast", "--out", str(tmp_path), *extra])


def check_pictures(name, tmp_path, expected, guide_pictures):
    """The example wrote ``expected`` (real plots), and every picture its tutorial shows."""
    for picture in expected:
        assert (tmp_path / picture).stat().st_size > 5_000, f"{name} did not write {picture}"
    guide_pictures(name, tmp_path)


def test_neuron(tmp_path, capsys, guide_pictures):
    result = run("neuron", tmp_path)
    out = capsys.readouterr().out
    assert round(result["neuron_output"], 4) == 0.7047
    assert "y = sigmoid(z) = 0.7047" in out and "4 parameters" in out
    separable, xor = result["separable"], result["xor"]
    assert separable.converged_ and separable.errors_[-1] == 0
    assert not xor.converged_ and min(xor.errors_) > 0           # no line separates XOR
    assert xor.score(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0]) <= 0.75
    assert result["xor_mlp_accuracy"] == 1.0                       # one hidden layer does
    errors = list(result["approximation_errors"].values())        # widths 1, 3, 10, 50
    assert all(b < a for a, b in zip(errors, errors[1:])) and errors[-1] < errors[0] / 5
    assert result["gradient_error"] < 1e-12                        # -(t - o) o (1 - o) x
    assert result["slope_peak"] == pytest.approx(0.5, abs=0.01)    # largest update at o = 0.5
    losses = result["losses"]
    assert losses[-1] < 0.25 * losses[0] and result["sigmoid_accuracy"] >= 0.95
    check_pictures("neuron", tmp_path, {"perceptron.png", "universal_approximation.png",
                                        "sigmoid_update.png"}, guide_pictures)


def test_gradient_descent_1d(tmp_path, capsys, guide_pictures):
    result = run("gradient_descent_1d", tmp_path)
    out = capsys.readouterr().out
    assert "autograd -6, by hand 2w - 4 = -6" in out
    path = result["path_1d"]
    # w_k - 2 = (1 - 2 alpha)^k (w_0 - 2) with alpha = 0.1, w_0 = -1
    k = np.arange(path.size)
    np.testing.assert_allclose(path, 2 - 3 * 0.8 ** k, rtol=1e-12)
    assert "w_1   = [-0.4]" in out and "w_2   = [0.08]" in out
    np.testing.assert_allclose(result["path_2d"][-1], [3, 2], atol=5e-3)
    paths = result["paths"]
    assert paths[0.5][1] == pytest.approx(2.0)                          # one step
    np.testing.assert_allclose(paths[1.0][::2], -1.0)                  # bounces for ever
    np.testing.assert_allclose(paths[1.0][1::2], 5.0)
    assert abs(paths[1.1][-1] - 2) > 100 * abs(paths[1.1][0] - 2)       # diverges
    check_pictures("gradient_descent_1d", tmp_path, {"gradient_descent.png"}, guide_pictures)


def test_gradient_descent_1d_alpha_option(tmp_path, capsys):
    result = run("gradient_descent_1d", tmp_path, "--alpha", "0.5", "--w0", "7")
    assert result["path_1d"][1] == pytest.approx(2.0)
    assert "from w = 7, alpha = 0.5" in capsys.readouterr().out


def test_mlp_digits(tmp_path, capsys, guide_pictures):
    pytest.importorskip("sklearn")
    result = run("mlp_digits", tmp_path)
    out = capsys.readouterr().out
    history = result["history"]
    assert len(history["loss"]) == 8 and len(history["val_accuracy"]) == 8
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert result["test"]["accuracy"] > 0.85
    assert result["model"].num_parameters() == (64 + 1) * 64 + (64 + 1) * 10
    assert "Total params: 4,810" in out and "confusion matrix" in out
    check_pictures("mlp_digits", tmp_path, {"learning_curves.png"}, guide_pictures)


def test_learning_rates(tmp_path, guide_pictures):
    result = run("learning_rates", tmp_path)
    final = {name: h["loss"][-1] for name, h in result["by_rate"].items()}
    assert final["about right"] < final["too low"] < final["too high"]
    assert final["too high"] > result["by_rate"]["too high"]["loss"][0] / 10     # never settles
    schedules = result["by_schedule"]
    constant = schedules["constant"]["loss"][-1]
    for name in ("StepLR", "ExponentialLR", "CosineAnnealingLR"):
        assert schedules[name]["loss"][-1] < constant, name
        lrs = schedules[name]["lr"]
        assert lrs[0] == pytest.approx(2.0) and lrs[-1] < lrs[0]
        assert all(b <= a for a, b in zip(lrs, lrs[1:])), name               # never rises
    assert schedules["StepLR"]["lr"][5] == pytest.approx(1.0)             # 2 * 0.5^(5 // 5)
    np.testing.assert_allclose(schedules["ExponentialLR"]["lr"], 2 * 0.93 ** np.arange(20))
    check_pictures("learning_rates", tmp_path, {"learning_rates.png"}, guide_pictures)


def test_spec5_graph_script_prints_the_worked_values():
    out = subprocess.run([sys.executable, str(EXAMPLES / "spec5_graph.py")], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    assert out.split() == "L = 8 dL/da = 8 dL/db = 8 dL/dw = 16 dL/dt = -4".split()


@pytest.mark.parametrize("name", ["neuron", "gradient_descent_1d", "mlp_digits",
                                  "learning_rates"])
def test_command_line_help(name):
    out = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--help"], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    assert "--fast" in out and "--out" in out
