"""The guide's code runs as written.

Every fenced block marked ``python`` in docs/ is executed; the blocks of one page run in order in
one namespace, in a temporary working directory. Blocks marked ``py`` are excerpts of examples
(they use names defined elsewhere in the script) and are not run here: the examples themselves
are run by tests/examples/. Where a page states what a block prints, the output is compared.
"""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = [p for p in sorted(DOCS.rglob("*.md")) if "```python\n" in p.read_text()]


def python_blocks(page):
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def run_page(page, tmp_path):
    """Execute the page's python blocks; return what they printed."""
    code = python_blocks(page)
    if any("load_digits" in block for block in code):
        pytest.importorskip("sklearn")
    scope = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out):
            for i, block in enumerate(code):
                exec(compile(block, f"{page.name}[block {i + 1}]", "exec"), scope)
    finally:
        os.chdir(cwd)
    return out.getvalue()


def test_there_are_runnable_pages():
    assert len(PAGES) >= 6


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs(page, tmp_path):
    run_page(page, tmp_path)


def test_printed_values_are_the_ones_the_pages_state(tmp_path):
    tutorials = DOCS / "tutorials"
    out = run_page(tutorials / "01-neuron.md", tmp_path).split("\n")
    assert out[0] == "0.7047 4"
    assert out[1] == "True [14, 5, 0]" and out[2] == "False 4"
    out = run_page(tutorials / "02-gradient-descent.md", tmp_path).split("\n")
    assert out[:3] == ["1 -0.4", "2 0.08", "3 0.464"]
    out = run_page(tutorials / "03-backpropagation.md", tmp_path).split("\n")
    assert out[:4] == ["8.0 8.0 8.0 16.0 -4.0", "16.0 20.0", "True", "True"]
    out = run_page(tutorials / "05-learning-rates.md", tmp_path)
    assert out.strip() == "2.0 1.0 0.5"
    out = run_page(DOCS / "coming_from_pytorch.md", tmp_path)
    assert "float32\nfloat64\nfloat64\nint64\n" in out and "tensor([0.5, 0.5])" in out
    assert "ndarray ndarray" in out and "mse_loss: target shape (4,)" in out
