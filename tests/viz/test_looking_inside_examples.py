"""The examples of "looking inside" run end to end with --fast and write their files."""

import os
import runpy

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("chainrule.nn")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(name, tmp_path, *extra):
    module = runpy.run_path(os.path.join(ROOT, "examples", f"{name}.py"), run_name=name)
    return module["main"](["--fast", "--out", str(tmp_path), *extra])


def test_hessian_spectrum(tmp_path, capsys, guide_pictures):
    pytest.importorskip("sklearn")
    spectra = _run("hessian_spectrum", tmp_path)
    assert len(spectra) == 2
    # SPEC 8: the larger network's spectrum concentrates nearer zero than the smaller one's
    example = runpy.run_path(os.path.join(ROOT, "examples", "hessian_spectrum.py"),
                             run_name="hessian_spectrum")
    small, large = (example["mass_near_zero"](s) for s in spectra.values())
    assert list(spectra)[0].startswith("small") and large > small
    for name in ("spectrum_small.png", "spectrum_large.png", "spectra.png", "interpolation.png",
                 "landscape_small.png", "landscape_large.png"):
        assert (tmp_path / name).stat().st_size > 0
    out = capsys.readouterr().out
    assert "mass with |lambda| < 1% of max" in out and "over the plane" in out
    assert {"spectra.png", "interpolation.png", "landscape_small.png",
            "landscape_large.png"} <= guide_pictures("hessian_spectrum", tmp_path)


def test_optimizer_race(tmp_path, guide_pictures):
    """The default surface, Rosenbrock's valley, whose race the guide shows."""
    paths = _run("optimizer_race", tmp_path)
    assert set(paths) == {"SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adadelta",
                          "Adam"}
    assert (tmp_path / "race_rosenbrock.png").exists()
    with open(tmp_path / "race_rosenbrock.gif", "rb") as fh:
        assert fh.read(6) in (b"GIF87a", b"GIF89a")
    assert "race_rosenbrock.png" in guide_pictures("optimizer_race", tmp_path)


def test_universal_approximation(tmp_path):
    errors = _run("universal_approximation", tmp_path)
    widths = sorted(errors)
    assert errors[widths[-1]] < errors[widths[0]] / 10  # wider fits better
    assert (tmp_path / "universal_approximation.png").exists()


def test_overfitting(tmp_path, guide_pictures):
    pytest.importorskip("sklearn")
    histories = _run("overfitting", tmp_path)
    assert set(histories) == {"plain", "L2", "dropout", "batch_norm"}
    for name, history in histories.items():
        assert len(history["val_loss"]) == 8
        assert (tmp_path / f"curves_{name}.png").exists()
    assert {f"curves_{name}.png" for name in histories} <= guide_pictures("overfitting", tmp_path)


def test_activations(tmp_path):
    table = _run("activations", tmp_path)
    values, grads = table["ReLU"]
    assert list(grads) == [0.0, 0.0, 0.0, 1.0, 1.0]  # at -2, -0.5, 0, 0.5, 2
    assert table["step"][0][2] == 0.5
    assert (tmp_path / "activations.png").exists()


def test_backprop_graph(tmp_path):
    spec5, mlp = _run("backprop_graph", tmp_path)
    assert sorted(spec5.ops()) == ["Add", "Add", "Mul", "Pow", "Pow", "Sub"]
    assert "0.weight\n(4, 2)" in [n.label for n in mlp.nodes]
    assert (tmp_path / "spec5.dot").read_text().startswith("digraph")
    assert (tmp_path / "mlp_loss.dot").exists()
