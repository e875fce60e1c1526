"""``chainrule train/evaluate/predict --data PATH`` on the user's files, through subprocesses."""

import subprocess
import sys

import numpy as np
import pytest


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)],
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_csv_with_text_labels_trains_evaluates_and_predicts_names(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["width,length,species"]
    for k, name in enumerate(["setosa", "versicolor", "virginica"]):
        lines += [f"{w:.3f},{v:.3f},{name}" for w, v in rng.normal(0, 0.2, (40, 2)) + [2 * k, -k]]
    (tmp_path / "flowers.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    result = run("train", "--data", tmp_path / "flowers.csv", "--target", "species", "--epochs",
                 5, "--lr", 0.05, "--out", out, "--verbose", 0)
    assert "accuracy: 1.0000" in result.stdout and "versicolor" in result.stdout
    assert "accuracy: 1.0000" in run("evaluate", out / "checkpoint.safetensors").stdout
    (tmp_path / "new.csv").write_text("length,width\n-2.1,4.0\n0.1,-0.1\n")  # other order
    result = run("predict", out / "checkpoint.safetensors", "--data", tmp_path / "new.csv")
    assert result.stdout.split() == ["virginica", "setosa"]


def test_npy_pair_and_image_folder(tmp_path):
    image = pytest.importorskip("PIL.Image")
    x = np.random.default_rng(0).normal(size=(100, 3))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x @ [1.0, -1.0, 0.5])
    run("train", "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--epochs", 2,
        "--out", tmp_path / "reg", "--verbose", 0)
    for label, value in (("dark", 20), ("light", 230)):
        (tmp_path / "img" / label).mkdir(parents=True)
        for i in range(6):
            image.fromarray(np.full((6, 6), value, np.uint8)).save(tmp_path / "img" / label /
                                                                    f"{i}.png")
    result = run("train", "--data", tmp_path / "img", "--image-size", 4, "--epochs", 2,
                 "--out", tmp_path / "cls", "--verbose", 0)
    assert "dark" in result.stdout and "light" in result.stdout
    result = run("predict", tmp_path / "cls" / "checkpoint.safetensors", "--data",
                 tmp_path / "img" / "dark")
    assert len(result.stdout.splitlines()) == 6 and "dark/0.png\t" in result.stdout


@pytest.mark.parametrize("argv, message", [
    (["--data", "flowers.csv"], "name the target column"),
    (["--data", "x.npy"], "a .npy file holds inputs only"),
    (["--data", "moons", "--target", "a"], "--target applies to data files"),
    (["--data", "missing.csv", "--target", "a"], "data file 'missing.csv' does not exist"),
])
def test_file_errors_are_one_line(tmp_path, argv, message):
    (tmp_path / "flowers.csv").write_text("a,b\n1,2\n")
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", *argv],
                            capture_output=True, text=True, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode in (1, 2) and len(lines) == 1 and message in lines[0], result.stderr
