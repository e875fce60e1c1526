"""examples/char_gpt.py runs in its fast mode and shows what tutorial 12 says; the tutorial's
code prints what the page states."""

import contextlib
import importlib.util
import io
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tutorials" / "12-attention.md"


def load_example():
    spec = importlib.util.spec_from_file_location("example_char_gpt",
                                                  ROOT / "examples" / "char_gpt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_char_gpt_beats_the_unigram_baseline_and_draws_its_attention(tmp_path, guide_pictures):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = load_example().main(["--fast", "--out", str(tmp_path)])
    assert 2.5 < result["baseline"] < 4.5
    first, last = result["val_losses"][0][1], result["val_loss"]
    assert last < first < math.log(result["model"].vocab_size)
    assert last < result["baseline"] - 0.2               # learned more than the frequencies
    maps = result["maps"]
    assert len(maps) == 2 and maps[0].shape == (2, 32, 32)
    np.testing.assert_allclose(maps[1].sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.triu(maps[0], k=1) == 0)               # nothing from the future
    assert all(s.split("\n")[1].startswith("def ") for s in result["samples"])
    assert (tmp_path / "samples.txt").read_text(encoding="utf-8").count("--- temperature") == 2
    assert guide_pictures("char_gpt", tmp_path) == {"loss.png", "attention.png"}


def run_page():
    """Execute the page's python blocks in order, in one namespace; return what they print."""
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)
    scope, out = {"__name__": "docs_12_attention"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, block in enumerate(blocks):
            exec(compile(block, f"{PAGE.name}[block {i + 1}]", "exec"), scope)
    return out.getvalue().splitlines()


def test_the_tutorial_prints_what_it_states(tmp_path):
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        out = run_page()
    finally:
        os.chdir(cwd)
    assert out[0] == "[[0.284 0.14  0.576]] [[22.92]]"
    assert out[1] == "True"
    assert out[2:5] == ["[[1.    0.    0.   ]", " [0.997 0.003 0.   ]", " [0.811 0.189 0.   ]]"]
    assert out[5] == "(1, 5, 8) (1, 2, 5, 5)" and out[6:9] == ["True"] * 3
    assert out[9:11] == ["True", "False"]
    assert out[11] == "822016 True" and out[12] == "(2, 16, 96)"
    assert out[13] == "['a', 'b', 'c', 'd', 'r'] abra brac" and out[14] == "1.4326"
    assert out[15:18] == ["0.5 [0.867 0.117 0.016]", "1.0 [0.665 0.245 0.09 ]",
                          "2.0 [0.506 0.307 0.186]"]
