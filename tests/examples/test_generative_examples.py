"""The autoencoder and GAN examples run in their fast mode and write their pictures.

Each example is loaded from examples/ and its ``main`` called with ``--fast --out <tmp>``.
"""

import importlib.util
import math
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")          # the digits ship with scikit-learn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run(name, out):
    """Import examples/<name>.py (not a package) and run its main in fast mode into ``out``."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--fast", "--out", str(out)])


def check_pictures(folder, names):
    for name in names:
        path = folder / name
        assert path.is_file(), f"{name} was not written"
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, f"{name} is not a real picture"


def test_autoencoder_digits(tmp_path, capsys, guide_pictures):
    result = run("autoencoder_digits", tmp_path)
    check_pictures(tmp_path, ["reconstructions.png", "codes.png", "loss.png"])
    assert len(result["history"]["test"]) == 3
    # three epochs already beat predicting the mean training image (0.067 against 0.073)
    assert result["test_mse"] < result["mean_image_mse"]
    assert "test MSE" in capsys.readouterr().out
    guide_pictures("autoencoder_digits", tmp_path)          # tutorial 9


def test_gan_mixture(tmp_path, guide_pictures):
    result = run("gan_mixture", tmp_path)
    check_pictures(tmp_path, ["mixture.png", "losses.png"])
    assert len(result["history"]["loss_d"]) == 4
    # four epochs do not cover the modes yet; tests/models/test_gan.py trains long enough to
    # cover all eight
    assert result["coverage"].counts.shape == (8,)
    guide_pictures("gan_mixture", tmp_path)                 # tutorial 10


def test_gan_digits(tmp_path, guide_pictures):
    result = run("gan_digits", tmp_path)
    check_pictures(tmp_path, ["real.png", "samples_epoch_001.png", "samples_epoch_002.png",
                              "losses.png"])
    assert [Path(p).name for p in result["paths"]][-1] == "losses.png"
    assert all(math.isfinite(v) for v in result["history"]["loss_g"])
    guide_pictures("gan_digits", tmp_path)                  # tutorial 10
