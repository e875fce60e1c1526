"""examples/grid_search.py in its fast mode: the grid search prefers the larger learning rate."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn", minversion="1.6")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grid_search.py"


def test_grid_search_finds_a_good_setting_and_reports_it(capsys):
    spec = importlib.util.spec_from_file_location("example_grid_search", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.main(["--fast"])
    assert results["best_params"]["net__lr"] == 1e-2          # 6 epochs at 1e-4 barely learn
    assert results["mean_scores"].shape == (4,) and results["mean_scores"].min() < 0.5
    assert results["test_accuracy"] > 0.9
    out = capsys.readouterr().out
    assert "best parameters: lr=0.01" in out and "test accuracy" in out
