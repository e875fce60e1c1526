"""inspect_model: the report behind `chainrule inspect`."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.analysis.report import inspect_model

nn = pytest.importorskip("chainrule.nn")


def _trained(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(cr.tensor(X)), cr.tensor(y)).backward()
        opt.step()
    return model, (cr.tensor(X), cr.tensor(y))


def test_inspect_model_prints_writes_and_leaves_the_model_alone(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model, data = _trained()
    model.train()
    sentinel = cr.ones(6, 4)
    model[0].weight.grad = sentinel
    model[2].weight.grad = None
    grads = [p.grad for p in model.parameters()]
    before = [p.numpy().copy() for p in model.parameters()]
    summary = inspect_model(model, nn.CrossEntropyLoss(), data, tmp_path, k=3, n_samples=20,
                            spectrum_iter=10, spectrum_runs=2, landscape_steps=5, seed=0)
    out = capsys.readouterr().out
    assert "top Hessian eigenvalues" in out and "Hessian trace" in out and "0.weight" in out
    assert summary["n_parameters"] == 4 * 6 + 6 + 6 * 2 + 2
    top = summary["top_eigenvalues"]
    assert len(top) == 3 and top == sorted(top, reverse=True)
    assert summary["smallest_eigenvalue"] <= top[-1]
    assert set(summary["files"]) == {"spectrum.png", "gradient_flow.png", "landscape.png"}
    for name in summary["files"]:
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["top_eigenvalues"] == pytest.approx(top)
    assert saved["gradient_flow"]["0.weight"]["grad_norm"] > 0
    # the caller's model is untouched: mode, parameters and even its .grad
    assert model.training
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)
    assert model[0].weight.grad is sentinel and model[2].weight.grad is None
    assert all(p.grad is g for p, g in zip(model.parameters(), grads))


def test_inspect_model_without_plots_is_repeatable(tmp_path):
    model, data = _trained(1)
    a = inspect_model(model, nn.CrossEntropyLoss(), data, tmp_path / "a", k=2, n_samples=5,
                      spectrum_iter=5, spectrum_runs=1, plots=False, verbose=False)
    b = inspect_model(model, nn.CrossEntropyLoss(), data, tmp_path / "b", k=2, n_samples=5,
                      spectrum_iter=5, spectrum_runs=1, plots=False, verbose=False)
    assert a["trace"] == b["trace"] and a["files"] == []
    assert a["top_eigenvalues"] == pytest.approx(b["top_eigenvalues"], rel=1e-5)
