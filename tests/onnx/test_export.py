"""cr.onnx.export itself: names, dynamic axes, modes, files, errors and the registry."""

import io
import subprocess
import sys

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
import chainrule.onnx  # noqa: E402, F401
import onnx  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.onnx import registry  # noqa: E402


class Square(nn.Module):
    def forward(self, x):
        return x * x


class Doubled(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


class Renamed(nn.Linear):
    """A subclass that keeps Linear's forward, so Linear's converter applies."""


def mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.ReLU(), nn.Linear(4, 2))


def test_an_unsupported_layer_is_named_with_the_supported_ones(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), Square())
    with pytest.raises(chainrule.onnx.UnsupportedModuleError) as err:
        cr.onnx.export(model, cr.randn(2, 3), tmp_path / "m.onnx")
    message = str(err.value)
    assert "Square (at '1') has no ONNX conversion" in message
    assert "supported modules: " in message and "Linear" in message and "LSTM" in message
    assert isinstance(err.value, NotImplementedError) and isinstance(err.value, ValueError)
    assert not (tmp_path / "m.onnx").exists()


def test_a_subclass_with_its_own_forward_is_refused_and_one_without_is_converted(tmp_path,
                                                                                 check):
    with pytest.raises(chainrule.onnx.UnsupportedModuleError, match="Doubled"):
        cr.onnx.export(Doubled(3, 2), cr.randn(2, 3), tmp_path / "m.onnx")
    check(Renamed(3, 2), lambda n: cr.randn(n, 3))


class ShiftedNorm(nn.BatchNorm1d):
    """Keeps BatchNorm's forward but changes a helper it calls: not BatchNorm any more."""

    def _normalize(self, input, *args):
        return super()._normalize(input, *args) + 1.0


def test_a_subclass_that_overrides_a_helper_is_refused_and_sync_batchnorm_converts(tmp_path,
                                                                                    check):
    with pytest.raises(chainrule.onnx.UnsupportedModuleError, match="ShiftedNorm"):
        cr.onnx.export(nn.Sequential(nn.Linear(3, 4), ShiftedNorm(4)), cr.randn(2, 3),
                       tmp_path / "m.onnx")
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.SyncBatchNorm(4))
    model(cr.randn(8, 3))  # running statistics away from 0 and 1
    check(model, lambda n: cr.randn(n, 3))


def test_containers_without_forward_are_refused(tmp_path):
    with pytest.raises(chainrule.onnx.UnsupportedModuleError, match="ModuleList"):
        cr.onnx.export(nn.ModuleList([nn.ReLU()]), cr.randn(2, 3), tmp_path / "m.onnx")


def test_registering_a_converter_adds_a_layer(monkeypatch, check):
    registry.supported_modules()  # the built-in converters, loaded before the copy
    monkeypatch.setattr(registry, "CONVERTERS", dict(registry.CONVERTERS))

    @cr.onnx.register(Square)
    def square(g, module, x):
        return g.op("Mul", x, x)

    assert "Square" in cr.onnx.supported_modules()
    check(nn.Sequential(nn.Linear(3, 4), Square()), lambda n: cr.randn(n, 3))


def test_export_runs_in_eval_mode_and_gives_every_mode_back(tmp_path, check):
    model = mlp().train()
    model[2].eval()
    before = [m.training for m in model.modules()]
    x = cr.randn(2, 3)
    state = cr.get_rng_state()
    cr.onnx.export(model, x, tmp_path / "m.onnx")
    assert [m.training for m in model.modules()] == before
    assert cr.get_rng_state() == state  # no random number drawn (no dropout mask)
    check(model, lambda n: cr.randn(n, 3))  # equal to the eval-mode output


def test_names_of_inputs_outputs_and_initializers(tmp_path):
    proto = cr.onnx.export(mlp(), cr.randn(2, 3), tmp_path / "m.onnx", input_names=["x"],
                           output_names=["logits"], dynamic_axes={"x": [0], "logits": [0]})
    assert [i.name for i in proto.graph.input] == ["x"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert {i.name for i in proto.graph.initializer} >= {"0.weight", "0.bias", "3.weight"}
    dim = proto.graph.input[0].type.tensor_type.shape.dim
    assert dim[0].dim_param == "x_dynamic_axes_1" and dim[1].dim_value == 3
    assert proto.opset_import[0].version == 17 and proto.producer_name == "chainrule"


def test_default_names_for_several_outputs_and_unknown_sizes_of_undeclared_outputs(tmp_path):
    lstm = nn.LSTM(3, 4, batch_first=True)
    proto = cr.onnx.export(lstm, cr.randn(2, 5, 3), tmp_path / "m.onnx",
                           dynamic_axes={"input": {0: "batch"}})
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1", "output_2"]
    for output in proto.graph.output:
        dims = output.type.tensor_type.shape.dim
        assert len(dims) == 3 and not any(d.HasField("dim_value") for d in dims)


def test_tied_weights_are_stored_once(tmp_path):
    gpt = cr.models.GPT(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4)
    proto = cr.onnx.export(gpt, cr.randint(0, 7, (1, 4)), tmp_path / "gpt.onnx")
    names = [i.name for i in proto.graph.initializer]
    assert names.count("wte.weight") == 1 and "lm_head.weight" not in names


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_names=["a", "b"]), "input_names must be 1 distinct names"),
    (dict(output_names=["y", "z"]), "output_names must be 1 distinct names"),
    (dict(output_names=["input"]), "'input' is given twice in input_names and output_names"),
    (dict(dynamic_axes={"x": {0: "batch"}}), "dynamic_axes names 'x'"),
    (dict(dynamic_axes={"input": {2: "batch"}}), "dynamic axis 2 of 'input' is out of range"),
    (dict(opset_version=13), "opset_version must be in [14, "),
])
def test_bad_arguments(kwargs, message, tmp_path):
    with pytest.raises(ValueError) as err:
        cr.onnx.export(mlp(), cr.randn(2, 3), tmp_path / "m.onnx", **kwargs)
    assert message in str(err.value)


def test_example_input_must_be_tensors(tmp_path):
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        cr.onnx.export(mlp(), [[1.0, 2.0, 3.0]], tmp_path / "m.onnx")


def test_the_file_is_replaced_atomically_and_a_failure_keeps_the_old_one(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    cr.onnx.export(mlp(), cr.randn(2, 3), path)
    onnx.checker.check_model(onnx.load(str(path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    good = path.read_bytes()
    with pytest.raises(chainrule.onnx.UnsupportedModuleError):
        cr.onnx.export(Square(), cr.randn(2, 3), path)
    assert path.read_bytes() == good and len(list(tmp_path.iterdir())) == 1


def test_a_binary_file_object(tmp_path):
    buffer = io.BytesIO()
    proto = cr.onnx.export(mlp(), cr.randn(2, 3), buffer)
    assert onnx.load_from_string(buffer.getvalue()) == proto


def test_without_onnx_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[onnx\]'"):
        cr.onnx.export(mlp(), cr.randn(2, 3), tmp_path / "m.onnx")


def test_importing_chainrule_and_its_onnx_package_does_not_import_onnx():
    code = ("import sys, chainrule, chainrule.onnx; chainrule.onnx.supported_modules(); "
            "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_converter_registered_before_the_built_in_ones_load_replaces_theirs():
    code = ("import io, chainrule as cr, chainrule.onnx\n"
            "from chainrule import nn\n"
            "@cr.onnx.register(nn.ReLU)\n"
            "def relu(g, module, x):\n"
            "    return g.op('Abs', x)\n"
            "proto = cr.onnx.export(nn.ReLU(), cr.randn(1, 2), io.BytesIO())\n"
            "assert proto.graph.node[0].op_type == 'Abs', proto.graph.node\n")
    subprocess.run([sys.executable, "-c", code], check=True)
