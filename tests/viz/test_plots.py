"""Every viz function returns a Figure and writes its file (PNG, SVG, GIF) when given a path."""

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import chainrule as cr  # noqa: E402
from chainrule import viz  # noqa: E402
from chainrule.analysis import (  # noqa: E402
    GradientFlow,
    SpectralDensity,
    optimizer_trajectories,
    rosenbrock,
)


def _is_png(path):
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_history(tmp_path):
    logs = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
            "val_accuracy": [0.4, 0.7, 0.8]}
    fig = viz.plot_history(logs, tmp_path / "h.png", title="run")
    assert _is_png(tmp_path / "h.png")
    assert len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].lines] == ["loss", "val_loss"]

    class History:
        history = logs

    assert len(viz.plot_history(History(), keys=["loss"]).axes) == 1
    with pytest.raises(ValueError):
        viz.plot_history({})


def test_plot_decision_boundary_multiclass_and_binary(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    W = cr.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    viz.plot_decision_boundary(lambda x: x @ W.T, X, y, tmp_path / "multi.png", resolution=40)
    assert _is_png(tmp_path / "multi.png")
    fig = viz.plot_decision_boundary(lambda x: x[:, 0] - x[:, 1], X, None, tmp_path / "bin.svg",
                                     resolution=30)
    assert (tmp_path / "bin.svg").read_text().lstrip().startswith("<?xml")
    assert len(fig.axes) == 2  # the map and its colour bar
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        viz.plot_decision_boundary(lambda x: x, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="output"):
        viz.plot_decision_boundary(lambda x: x, X, output="scores")


def test_plot_activations_draws_function_and_autograd_derivative(tmp_path):
    fig = viz.plot_activations(["sigmoid", "ReLU", "step"], tmp_path / "act.png", num=81)
    assert _is_png(tmp_path / "act.png")
    sig = fig.axes[0]
    z, f = sig.lines[0].get_data()
    _, df = sig.lines[1].get_data()
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(f, s, rtol=1e-12)
    np.testing.assert_allclose(df, s * (1 - s), rtol=1e-12)
    _, relu_grad = fig.axes[1].lines[1].get_data()
    np.testing.assert_array_equal(relu_grad, (z > 0).astype(float))  # ReLU'(0) = 0
    _, step_grad = fig.axes[2].lines[1].get_data()
    np.testing.assert_array_equal(step_grad, 0.0)
    with pytest.raises(ValueError, match="unknown"):
        viz.plot_activations(["swish"])


def test_every_activation_has_a_panel():
    names = list(viz.activation_functions())
    for required in ("identity", "step", "sign", "piecewise linear", "sigmoid", "tanh", "ReLU",
                     "leaky ReLU (0.1)", "softmax([z, 0])[0]"):
        assert required in names
    fig = viz.plot_activations(num=21)
    assert sum(ax.axison for ax in fig.axes) == len(names)


def test_plot_landscape_2d_and_1d(tmp_path):
    a = np.linspace(-1, 1, 11)
    b = np.linspace(-1, 1, 9)
    losses = a[:, None] ** 2 + 2 * b[None, :] ** 2 + 0.1
    fig = viz.plot_landscape((a, b, losses), tmp_path / "land.png",
                             trajectory=np.array([[0.8, 0.6], [0.3, 0.2], [0.0, 0.0]]))
    assert _is_png(tmp_path / "land.png")
    assert any(ax.name == "3d" for ax in fig.axes)
    viz.plot_landscape((a, b, losses), tmp_path / "c.png", kind="contour", log_scale=True)
    assert not any(ax.name == "3d" for ax in viz.plot_landscape((a, b, losses),
                                                                 kind="contour").axes)
    viz.plot_landscape((a, a ** 2), tmp_path / "line.png")
    assert _is_png(tmp_path / "line.png")
    with pytest.raises(ValueError, match="kind"):
        viz.plot_landscape((a, b, losses), kind="wire")


def test_plot_trajectories_png_and_animated_gif(tmp_path):
    pytest.importorskip("chainrule.optim")
    from PIL import Image

    paths = optimizer_trajectories(rosenbrock, None, {
        "SGD": lambda p: cr.optim.SGD(p, lr=1e-3),
        "Adam": lambda p: cr.optim.Adam(p, lr=0.05)}, steps=60)
    fig = viz.plot_trajectories(rosenbrock, paths, tmp_path / "paths.png")
    assert _is_png(tmp_path / "paths.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["SGD", "Adam"]
    viz.plot_trajectories(rosenbrock, paths, tmp_path / "race.gif", frames=8, fps=4)
    with Image.open(tmp_path / "race.gif") as im:
        assert im.format == "GIF" and im.n_frames > 1
    # a plain callable on arrays works too; bounds then come from the paths
    fig = viz.plot_trajectories(lambda w: (w ** 2).sum(-1), {"p": paths["SGD"]})
    assert fig.axes[0].get_xlim()[0] < paths["SGD"][:, 0].min()


def test_plot_spectrum_density_and_histogram(tmp_path):
    spec = SpectralDensity(np.array([[-1.0, 0.0, 3.0], [0.5, 1.0, np.nan]]),
                           np.array([[0.2, 0.5, 0.3], [0.5, 0.5, 0.0]]), 10)
    fig = viz.plot_spectrum({"small": spec, "eigs": np.array([0.1, 0.2, 2.0])},
                            tmp_path / "spec.png")
    assert _is_png(tmp_path / "spec.png")
    assert fig.axes[0].get_yscale() == "log"
    viz.plot_spectrum(spec, log_scale=False)


def test_plot_gradient_flow_bars_and_history(tmp_path):
    flow = GradientFlow(["0.weight", "0.bias", "2.weight"], np.array([1e-3, 1e-4, 1e-1]),
                        np.ones(3), np.array([1e-4, 1e-5, 1e-2]), np.array([1e-2, 1e-3, 1.0]))
    viz.plot_gradient_flow(flow, tmp_path / "bars.png")
    assert _is_png(tmp_path / "bars.png")
    fig = viz.plot_gradient_flow([flow, flow._replace(grad_norm=flow.grad_norm * 2)],
                                 tmp_path / "lines.png")
    assert len(fig.axes[0].lines) == 3
    with pytest.raises(ValueError):
        viz.plot_gradient_flow([])


def test_image_grid_shapes(tmp_path):
    rng = np.random.default_rng(0)
    fig = viz.image_grid(rng.random((10, 1, 8, 8)), tmp_path / "g.png", nrow=5,
                         titles=list(range(10)))
    assert _is_png(tmp_path / "g.png")
    [picture] = fig.axes[0].images  # one picture: 2 rows of 5 tiles, gaps of 2 for the titles
    assert picture.get_array().shape == (2 * 10 + 2, 5 * 10 + 2)
    assert [t.get_text() for t in fig.axes[0].texts] == [str(i) for i in range(10)]
    rgb = viz.image_grid(cr.tensor(rng.random((4, 3, 6, 6))))
    assert rgb.axes[0].images[0].get_array().shape == (2 * 7 + 1, 2 * 7 + 1, 3)
    filters = rng.standard_normal((4, 2, 3, 3))  # every channel of each filter: 8 tiles
    assert viz.image_grid(filters).axes[0].images[0].get_array().shape == (13, 13)
    assert viz.make_grid(filters, channel=1).shape == (9, 9)  # one channel: 4 tiles
    viz.image_grid(rng.random((5, 5)))
    with pytest.raises(ValueError):
        viz.image_grid(np.zeros((1, 1, 1, 1, 1)))
    with pytest.raises(ValueError):
        viz.image_grid(np.zeros((0, 4, 4)))


def test_missing_matplotlib_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"chainrule\[plot\]"):
        viz.require_matplotlib()
    with pytest.raises(ImportError, match="matplotlib"):
        viz.plot_history({"loss": [1.0]})
