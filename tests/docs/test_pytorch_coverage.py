"""The coverage section of docs/coming_from_pytorch.md is what tools/pytorch_coverage.py makes.

A change to chainrule that adds, removes or changes a name PyTorch also has changes the
section: regenerate it with ``python tools/pytorch_coverage.py --write``.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "pytorch_coverage.py"


@pytest.fixture(scope="module")
def coverage():
    spec = importlib.util.spec_from_file_location("pytorch_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_section_is_up_to_date(coverage, capsys):
    torch = pytest.importorskip("torch")
    section = coverage.current_section(coverage.PAGE.read_text())
    assert section is not None, "no coverage section: run python tools/pytorch_coverage.py --write"
    recorded = re.search(r"against PyTorch (\d+\.\d+)\.", section).group(1)
    installed = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    if recorded != installed:
        pytest.skip(f"the section was generated with PyTorch {recorded}, {installed} is installed")
    code = coverage.main(["--check"])
    assert code == 0, capsys.readouterr().err


def test_the_curated_names_exist_in_pytorch(coverage):
    torch = pytest.importorskip("torch")
    for tiers, owner in ((coverage.TORCH_NAMES, torch), (coverage.TENSOR_NAMES, torch.Tensor)):
        names = coverage.curated(tiers)
        assert 150 <= len(names) <= 250
        assert not [n for n in names if not hasattr(owner, n)]


def test_without_pytorch_it_says_so_and_exits_2(coverage, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch -> ImportError
    assert coverage.main([]) == 2
    assert "PyTorch is not installed" in capsys.readouterr().err


def test_signatures_are_read_from_docstrings_and_compared(coverage):
    doc = ("sum(input, *, dtype=None) -> Tensor\n\nSums.\n\n"
           ".. function:: sum(input, dim, keepdim=False, \\*, out=None) -> Tensor\n")
    theirs = coverage.from_docstring("sum", doc)
    assert [n for n, _, _ in theirs.overloads[1]] == ["input", "dim", "keepdim", "out"]

    def ours(x, dim=None, keepdim=False):
        pass

    assert coverage.compare(theirs, coverage.from_inspect(ours)) == [
        "lacks `dtype`", "renames `input` to `x`"]

    def anything(x, **kwargs):
        pass

    assert coverage.compare(theirs, coverage.from_inspect(anything)) == []


def test_the_section_replaces_only_what_lies_between_the_markers(coverage):
    page = "# Title\n\nText.\n"
    once = coverage.replace_section(page, "body 1\n")
    assert once.startswith(page.rstrip("\n")) and coverage.HEADING in once
    twice = coverage.replace_section(once + "\nAfter.\n", "body 2\n")
    assert coverage.current_section(twice) == "body 2\n" and twice.endswith("\nAfter.\n")
    assert twice.count(coverage.HEADING) == 1
