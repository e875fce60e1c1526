"""PyTorch programs, written as PyTorch users write them, run unchanged under chainrule.

Each program of tests/real_world/programs runs in a fresh interpreter through launch.py, once
with chainrule standing in for ``torch`` and, where PyTorch imports, once with PyTorch itself,
from the same random numbers and initial weights. The chainrule run must finish and reach the
program's CONVERGED_BELOW / CONVERGED_ABOVE thresholds; every RESULT float of the two runs must
agree within the program's TOLERANCE and every dtype must be the same.

Run ``python tests/real_world/harness.py [name ...]`` for a table with timings.
"""

import functools
import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

# Programs that stop at a feature chainrule lacks or treats differently from PyTorch. The test
# is expected to fail (strict: once the gap is closed, the entry must go).
# Programs that fail under chainrule because of a known gap (strict: a fixed gap fails the
# test until its line is removed here).
KNOWN_GAPS: dict = {}

PROGRAMS = harness.programs()


def _params():
    for path in PROGRAMS:
        marks = []
        if path.stem in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[path.stem], strict=True))
        yield pytest.param(path, id=path.stem, marks=marks)


FRAMEWORKS = ("chainrule", "torch") if importlib.util.find_spec("torch") else ("chainrule",)


@functools.cache
def _runs(path: Path) -> dict:
    """The chainrule run and, where PyTorch imports, the PyTorch run, made side by side."""
    return harness.run_programs(path, FRAMEWORKS)


def _finished(path: Path, framework: str) -> harness.Run:
    run = _runs(path)[framework]
    assert run.returncode == 0, f"{path.name}: {run.failure()}"
    return run


def test_programs_are_there():
    assert len(PROGRAMS) >= 10
    for path in PROGRAMS:
        settings = harness.constants(path)
        assert "TOLERANCE" in settings, f"{path.name} states no TOLERANCE"
        assert settings.get("CONVERGED_BELOW") or settings.get("CONVERGED_ABOVE"), (
            f"{path.name} states no convergence threshold")


@pytest.mark.parametrize("path", list(_params()))
def test_runs_and_converges_under_chainrule(path):
    run = _finished(path, "chainrule")
    assert run.results, f"{path.name} printed no RESULT line"
    problems = harness.convergence_problems(run.results, harness.constants(path))
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="PyTorch is not installed")
@pytest.mark.parametrize("path", list(_params()))
def test_matches_pytorch(path):
    theirs = _finished(path, "torch")
    ours = _finished(path, "chainrule")
    tolerance = harness.constants(path)["TOLERANCE"]
    problems = harness.mismatches(ours.results, theirs.results, tolerance)
    assert not problems, f"{path.name}: " + "; ".join(problems)
