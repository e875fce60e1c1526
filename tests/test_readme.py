"""The README's Python example runs as written and learns the digits."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    pytest.importorskip("sklearn")
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    scope = {}
    exec(compile(code, str(README), "exec"), scope)
    assert scope["a"].grad.item() == pytest.approx(8.0)
    assert scope["history"].history["val_accuracy"][-1] > 0.95


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert 'pip install -e ".[test]" && pytest' in text
    assert "chainrule train --data digits --model mlp" in text
