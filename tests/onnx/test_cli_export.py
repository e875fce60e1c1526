"""``chainrule export CKPT --onnx FILE``: train a tiny model with the command, export it, run the
file in onnxruntime and compare with the checkpoint's model."""

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.cli.checkpoints import rebuild  # noqa: E402

RUNS = {
    "mlp": ["--data", "moons", "--data-arg", "n_samples=100", "--model-arg", "hidden=8"],
    "lstm": ["--data", "sine-seq", "--data-arg", "n_samples=40", "--data-arg", "length=12",
             "--model", "lstm", "--model-arg", "hidden_size=4"],
    "gan": ["--data", "mixture", "--data-arg", "n_samples=64", "--model", "gan",
            "--model-arg", "hidden=8", "--model-arg", "latent_dim=3"],
    "gpt": ["--data", "text", "--data-arg", "max_chars=2000", "--data-arg", "block_size=8",
            "--model", "gpt", "--model-arg", "n_layer=1", "--model-arg", "n_embd=8",
            "--model-arg", "n_head=2"],
}


@pytest.fixture(scope="module")
def train(tmp_path_factory):
    """``train(name)``: the checkpoint of one epoch of the run ``name`` (trained once)."""
    done = {}

    def run(name):
        if name not in done:
            out = tmp_path_factory.mktemp("runs") / name
            assert main(["train", *RUNS[name], "--epochs", "1", "--verbose", "0", "--out",
                         str(out)]) == 0
            done[name] = out / "checkpoint.safetensors"
        return done[name]

    return run


def inputs(config, model, batch):
    if config["task"] == "generation":
        return cr.randn(batch, model.latent_dim)
    shape = tuple(config["model_args"]["in_shape"])
    if config["task"] == "language":
        return cr.randint(0, model.vocab_size, (batch, shape[0] - 3))  # a shorter window
    return cr.randn(batch, *shape)


@pytest.mark.parametrize("name", RUNS)
def test_export_a_trained_checkpoint_and_run_it(name, train, tmp_path, capsys, ort_session):
    checkpoint = train(name)
    capsys.readouterr()
    path = tmp_path / f"{name}.onnx"
    assert main(["export", str(checkpoint), "--onnx", str(path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {path}: {name} model, input ") and line.endswith("(opset 17)")
    assert "[batch, " in line
    model, config = rebuild(str(checkpoint))
    x = inputs(config, model, 5)
    got = ort_session(path).run(None, {"input": x.numpy()})[0]
    with cr.no_grad():
        assert np.abs(got - model(x).numpy()).max() < 1e-5


def test_static_batch_and_another_opset(train, tmp_path, capsys, ort_session):
    checkpoint = train("mlp")
    path = tmp_path / "static.onnx"
    assert main(["export", str(checkpoint), "--onnx", str(path), "--static-batch",
                 "--opset", "20"]) == 0
    assert "input float32[1, 2] -> output float32[1, 2] (opset 20)" in capsys.readouterr().out
    session = ort_session(path)
    assert [d for d in session.get_inputs()[0].shape] == [1, 2]


@pytest.mark.parametrize("argv, message", [
    (["missing.safetensors", "--onnx", "m.onnx"], "does not exist"),
    (["CKPT", "--onnx", "m.onnx", "--opset", "9"], "--opset must be in [14, "),
    (["CKPT", "--onnx", "no/such/folder/m.onnx"], "folder of --onnx"),
])
def test_bad_arguments_give_one_line_and_status_2(argv, message, train, tmp_path, capsys,
                                                  monkeypatch):
    checkpoint = train("mlp")
    monkeypatch.chdir(tmp_path)
    argv = [str(checkpoint) if a == "CKPT" else a for a in argv]
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule export: error: ") and message in err
    assert len(err.splitlines()) == 1
