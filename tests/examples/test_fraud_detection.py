"""examples/fraud_detection.py in its fast mode: a positive weight trades precision for recall."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud_detection.py"


def test_positive_weight_raises_recall_and_lowers_precision(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_fraud_detection", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.main(["--fast", "--out", str(tmp_path)])
    plain, some, full = results["plain"], results["pw=sqrt(r)"], results["pw=r"]
    # 2% frauds: accuracy alone barely beats calling everything legitimate
    assert plain["accuracy"] < results["baseline_accuracy"] + 0.01
    assert plain["recall"] < some["recall"] <= full["recall"]
    assert full["recall"] > 0.8 and full["precision"] < some["precision"]
    assert full["accuracy"] < plain["accuracy"]
    assert some["f1"] > plain["f1"]
    assert (tmp_path / "scores.png").stat().st_size > 5_000
    assert "pos_weight = " in capsys.readouterr().out


def test_transactions_are_rare_positives_and_reproducible():
    spec = importlib.util.spec_from_file_location("example_fraud_detection_data", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    X, y = example.make_transactions(5000, seed=1)
    assert X.dtype.name == "float32" and X.shape == (5000, 8) and y.shape == (5000, 1)
    assert 0.01 < y.mean() < 0.03
    X2, y2 = example.make_transactions(5000, seed=1)
    assert (X == X2).all() and (y == y2).all()
