"""analysis and viz are clients of chainrule's public API; ``preserved`` gives a model back."""

import ast
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import analysis, nn

SRC = Path(cr.__file__).parent
# What analysis and viz may import from the rest of chainrule: the package's top level and the
# public sub-packages; never a private name, never an implementation module (ops, tensor, ...).
PUBLIC = {"chainrule", "chainrule.autograd", "chainrule.nn", "chainrule.nn.functional",
          "chainrule.train", "chainrule.analysis", "chainrule.viz"}


@pytest.mark.parametrize("package", ["analysis", "viz"])
def test_imports_from_other_packages_are_public(package):
    for path in sorted((SRC / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("chainrule"):
                if node.module.startswith(f"chainrule.{package}"):
                    continue  # the package's own modules
                where = f"{path.name}:{node.lineno}"
                assert node.module in PUBLIC, f"{where} imports from {node.module}"
                assert not any(a.name.startswith("_") for a in node.names), where
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.name
                    assert not name.startswith("chainrule") or name in PUBLIC, f"{path}: {name}"


def test_preserved_restores_modes_parameters_and_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model[2].eval()  # a sub-module in its own mode keeps it
    weight = model[0].weight.data.copy()
    mean = model[1].running_mean.data.copy()
    with pytest.raises(RuntimeError), analysis.preserved(model, train_mode=True):
        assert model[2].training
        model(cr.randn(8, 3))  # updates the running statistics
        with cr.no_grad():
            model[0].weight.mul_(0.0)
        raise RuntimeError("the block fails; the model still comes back")
    assert model.training and model[1].training and not model[2].training
    np.testing.assert_array_equal(model[0].weight.data, weight)
    np.testing.assert_array_equal(model[1].running_mean.data, mean)
    with analysis.preserved(model, parameters=False):
        assert not any(m.training for m in model.modules())
        with cr.no_grad():
            model[0].weight.add_(1.0)
    np.testing.assert_array_equal(model[0].weight.data, weight + 1)  # parameters not restored
