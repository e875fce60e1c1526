"""The ``chainrule`` command end to end, through subprocesses (few epochs, small data)."""

import csv
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)],
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("runs") / "digits-mlp"
    result = run("train", "--data", "digits", "--model", "mlp", "--epochs", 30, "--out", out)
    return out, result


def test_train_digits_prints_accuracy_and_confusion_matrix_and_writes_files(digits_run):
    out, result = digits_run
    accuracy = float(re.search(r"test loss: [\d.]+ - accuracy: ([\d.]+)", result.stdout)[1])
    assert accuracy >= 0.97
    assert "confusion matrix (rows: true class, columns: predicted class)" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if re.match(r"^\s+\d\s", line)]
    matrix = np.array([[int(v) for v in row[1:]] for row in rows[-10:]])
    assert matrix.shape == (10, 10) and matrix.trace() / matrix.sum() == pytest.approx(accuracy,
                                                                                    abs=1e-4)
    assert len(result.stderr.strip().splitlines()) == 30  # one progress line per epoch (no tty)
    assert (out / "checkpoint.safetensors").exists()
    log = list(csv.reader((out / "log.csv").open()))
    assert log[0][0] == "epoch" and len(log) == 31
    if pytest.importorskip("matplotlib"):
        assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    state = cr.load(out / "checkpoint.safetensors")
    assert state["config"]["model"] == "mlp" and state["epoch"] == 30
    assert state["config"]["model_args"]["in_shape"] == (64,)


def test_evaluate_a_checkpoint(digits_run):
    out, train_result = digits_run
    result = run("evaluate", out / "checkpoint.safetensors", "--data", "digits")
    report = train_result.stdout[train_result.stdout.index("test loss"):].strip().splitlines()
    assert result.stdout.strip().splitlines() == report[:-1]  # all but the "wrote ..." line


def test_predict_from_a_npy_file(digits_run, tmp_path):
    out, _ = digits_run
    X, y = cr.datasets.load_digits()
    np.save(tmp_path / "batch.npy", X.numpy()[:20])
    np.save(tmp_path / "image.npy", X.numpy()[3].reshape(8, 8))
    result = run("predict", out / "checkpoint.safetensors", "--input", tmp_path / "batch.npy")
    labels = [int(v) for v in result.stdout.split()]
    assert len(labels) == 20 and np.mean(np.array(labels) == y.numpy()[:20]) >= 0.9
    single = run("predict", out / "checkpoint.safetensors", "--input", tmp_path / "image.npy")
    assert single.stdout.split() == [str(labels[3])]
    run("predict", out / "checkpoint.safetensors", "--input", tmp_path / "batch.npy",
        "--probabilities", "--output", tmp_path / "p.npy")
    p = np.load(tmp_path / "p.npy")
    assert p.shape == (20, 10) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert p.argmax(1).tolist() == labels


def test_resume_equals_the_straight_run_bit_for_bit(tmp_path):
    common = ["--data", "moons", "--data-arg", "n_samples=300", "--model-arg", "dropout=0.1",
              "--verbose", 0]
    run("train", *common, "--epochs", 4, "--out", tmp_path / "straight")
    run("train", *common, "--epochs", 2, "--out", tmp_path / "resumed")
    resumed = run("train", "--resume", tmp_path / "resumed" / "checkpoint.safetensors",
                  "--epochs", 4, "--verbose", 2)
    assert resumed.stderr.startswith("Epoch 3/4")
    a = cr.load(tmp_path / "straight" / "checkpoint.safetensors")
    b = cr.load(tmp_path / "resumed" / "checkpoint.safetensors")
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    assert a["history"] == b["history"] and a["epoch"] == b["epoch"] == 4
    logs = [list(csv.reader((tmp_path / d / "log.csv").open())) for d in ("straight", "resumed")]
    assert logs[0] == logs[1]


def test_regression_and_other_models(tmp_path):
    result = run("train", "--data", "sine", "--model", "linear", "--epochs", 2, "--verbose", 0,
                 "--optimizer", "sgd", "--lr", 0.05, "--momentum", 0.9, "--scheduler", "cosine",
                 "--out", tmp_path)
    assert re.search(r"test loss: [\d.]+ - mae: [\d.]+ - r2: -?[\d.]+ \(200 samples\)",
                     result.stdout)
    assert "confusion" not in result.stdout
    np.save(tmp_path / "x.npy", np.array([0.0, 1.0, 2.0], dtype=np.float32))
    values = run("predict", tmp_path / "checkpoint.safetensors", "--input", tmp_path / "x.npy")
    assert len(values.stdout.split()) == 3


BAD = [
    (["train", "--data", "digts"], "unknown dataset 'digts'", "digits"),
    (["train", "--data", "moons", "--model", "cnnn"], "invalid choice: 'cnnn'", "mlp"),
    (["train", "--data", "moons", "--epochs", "0"], "--epochs: must be >= 1", None),
    (["train", "--data", "moons", "--lr", "abc"], "--lr: expected a float", None),
    (["train"], "--data is required", "moons"),
    (["train", "--data", "moons", "--model-arg", "hiden=3"], "no option 'hiden'", "hidden"),
    (["train", "--data", "moons", "--model-arg", "hidden"], "expects KEY=VALUE", None),
    (["train", "--data", "moons", "--momentum", "0.9"], "--momentum applies to sgd", None),
    (["train", "--data", "moons", "--clip-grad-norm", "0"], "--clip-grad-norm: must be > 0",
     None),
    (["train", "--data", "mixture", "--model", "gan", "--clip-grad-norm", "1"],
     "leave out --clip-grad-norm", None),
    (["evaluate", "missing.safetensors"], "checkpoint 'missing.safetensors' does not exist",
     None),
    (["predict", "missing.safetensors"], "one of the arguments --input --samples is required",
     None),
]


@pytest.mark.parametrize("argv, message, allowed", BAD, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_bad_arguments_give_one_line_and_exit_2(argv, message, allowed):
    result = run(*argv, check=False)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and message in lines[0], result.stderr
    if allowed:
        assert allowed in lines[0]


def test_bad_inputs_to_predict_and_evaluate(digits_run, tmp_path):
    out, _ = digits_run
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), np.float32))
    result = run("predict", out / "checkpoint.safetensors", "--input", tmp_path / "wrong.npy",
                 check=False)
    assert result.returncode == 2 and "expects samples of shape (64,)" in result.stderr
    result = run("evaluate", out / "checkpoint.safetensors", "--data", "moons", check=False)
    assert result.returncode == 2 and "shape (2,)" in result.stderr
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes((out / "checkpoint.safetensors").read_bytes()[:1000])
    result = run("evaluate", broken, check=False)
    assert result.returncode == 1 and "truncated or corrupted" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_resume_refuses_to_change_the_run(digits_run):
    out, _ = digits_run
    result = run("train", "--resume", out / "checkpoint.safetensors", "--lr", "0.1", check=False)
    assert result.returncode == 2 and "leave out --lr" in result.stderr


def test_inspect_a_checkpoint(tmp_path):
    pytest.importorskip("scipy")
    run("train", "--data", "moons", "--data-arg", "n_samples=200", "--epochs", 2,
        "--verbose", 0, "--model-arg", "hidden=8", "--out", tmp_path)
    result = run("inspect", tmp_path / "checkpoint.safetensors", "--fast", "--top", 2,
                 "--out", tmp_path / "inspect")
    assert "top Hessian eigenvalues" in result.stdout and "trace" in result.stdout
    assert "||grad||" in result.stdout and "0.weight" in result.stdout     # gradient flow
    assert (tmp_path / "inspect" / "summary.json").exists()
    for picture in ("spectrum.png", "gradient_flow.png", "landscape.png"):
        assert (tmp_path / "inspect" / picture).stat().st_size > 5_000, picture


def test_list_and_the_console_script():
    result = run("list")
    assert "digits" in result.stdout and "mlp" in result.stdout and "adam" in result.stdout
    script = shutil.which("chainrule")
    if script is None:
        pytest.skip("the chainrule console script is not on PATH")
    version = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("chainrule ")


def test_train_writes_tensorboard_logs(tmp_path):
    pytest.importorskip("tensorboardX")
    pytest.importorskip("sklearn")
    logs = tmp_path / "tb"
    run("train", "--data", "digits", "--model", "mlp", "--epochs", "1", "--out",
        str(tmp_path / "run"), "--tensorboard", str(logs))
    assert any((logs / "train").iterdir()) and any((logs / "validation").iterdir())


def test_compiled_training_logs_what_eager_training_logs(tmp_path):
    pytest.importorskip("sklearn")
    logs = []
    for name, extra in (("eager", ()), ("compiled", ("--compile",))):
        out = tmp_path / name
        run("train", "--data", "digits", "--model", "mlp", "--epochs", "2", "--out", str(out),
            *extra)
        logs.append((out / "log.csv").read_text().splitlines())
    assert [line.split(",")[1:] for line in logs[0]] == [line.split(",")[1:] for line in logs[1]]


def test_gradient_clipping_is_saved_with_the_run_and_changes_the_training(tmp_path):
    common = ["--data", "moons", "--data-arg", "n_samples=200", "--epochs", 2, "--verbose", 0,
              "--lr", 0.05]
    run("train", *common, "--out", tmp_path / "plain")
    run("train", *common, "--clip-grad-norm", 0.01, "--out", tmp_path / "clipped")
    plain = cr.load(tmp_path / "plain" / "checkpoint.safetensors")
    clipped = cr.load(tmp_path / "clipped" / "checkpoint.safetensors")
    assert clipped["config"]["clip_grad_norm"] == 0.01 and plain["config"]["clip_grad_norm"] is None
    assert any(not np.array_equal(plain["model"][k].numpy(), clipped["model"][k].numpy())
               for k in plain["model"])
    result = run("train", "--resume", tmp_path / "clipped" / "checkpoint.safetensors",
                 "--clip-grad-norm", 1.0, check=False)
    assert result.returncode == 2 and "leave out --clip-grad-norm" in result.stderr
