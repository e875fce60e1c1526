"""The ``chainrule`` command on text: ``train --data text --model gpt``, ``evaluate``,
``predict --generate`` and ``train --resume`` (subprocesses, a tiny model on a little text)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
TINY = ["--data", "text", "--model", "gpt", "--data-arg", "max_chars=20000", "--data-arg",
        "block_size=32", "--model-arg", "n_layer=1", "--model-arg", "n_embd=32", "--model-arg",
        "n_head=2", "--optimizer", "adamw", "--lr", "0.003", "--batch-size", "16"]


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)],
                            capture_output=True, text=True, env=ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "text-gpt"
    result = run("train", *TINY, "--epochs", 2, "--verbose", 2, "--out", out)
    return out, result


def test_train_writes_samples_attention_and_the_baseline(gpt_run):
    out, result = gpt_run
    assert "Epoch 2/2" in result.stderr
    line = next(x for x in result.stdout.splitlines() if "unigram baseline" in x)
    loss, baseline = float(line.split()[2]), float(line.split("baseline ")[1].split()[0])
    assert 0 < loss and 2.5 < baseline < 4.5
    samples = (out / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("--- epoch ") == 2 and "--- epoch 2, val_loss " in samples
    picture = out / "attention.png"
    assert picture.read_bytes()[:4] == b"\x89PNG" and picture.stat().st_size > 5_000
    state = cr.load(out / "checkpoint.safetensors")
    vocabulary = state["config"]["vocabulary"]
    assert "d" in vocabulary and list(vocabulary) == sorted(vocabulary)
    assert tuple(state["config"]["model_args"]["in_shape"]) == (32,)
    assert "wrote" in result.stdout and "attention.png" in result.stdout


def test_predict_generates_from_a_prompt_repeatably(gpt_run):
    out, _ = gpt_run
    ckpt = out / "checkpoint.safetensors"
    args = ("predict", ckpt, "--generate", 40, "--prompt", "def ", "--temperature", 0.8,
            "--top-k", 5)
    first, again = run(*args).stdout, run(*args).stdout
    assert first == again and first.startswith("def ") and len(first.rstrip("\n")) >= 44
    other = run(*args, "--seed", 1).stdout
    assert other != first
    greedy = run("predict", ckpt, "--generate", 10, "--temperature", 0).stdout
    assert len(greedy) >= 11


def test_evaluate_reports_the_baseline(gpt_run):
    out, _ = gpt_run
    result = run("evaluate", out / "checkpoint.safetensors")
    assert "test loss: " in result.stdout and "unigram baseline" in result.stdout


def test_a_users_text_file(tmp_path):
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(60))
    (tmp_path / "fox.txt").write_text(text, encoding="utf-8")
    run("train", *TINY, "--data-arg", f"path={tmp_path / 'fox.txt'}", "--epochs", 1,
        "--verbose", 0, "--out", tmp_path / "run")
    state = cr.load(tmp_path / "run" / "checkpoint.safetensors")
    assert state["config"]["vocabulary"] == "".join(sorted(set(text)))
    out = run("predict", tmp_path / "run" / "checkpoint.safetensors", "--generate", 20,
              "--prompt", "the ").stdout
    assert out.startswith("the ") and set(out) <= set(text)


def test_resume_equals_the_straight_run(tmp_path):
    run("train", *TINY, "--epochs", 2, "--verbose", 0, "--out", tmp_path / "straight")
    run("train", *TINY, "--epochs", 1, "--verbose", 0, "--out", tmp_path / "resumed")
    run("train", "--resume", tmp_path / "resumed" / "checkpoint.safetensors", "--epochs", 2,
        "--verbose", 0)
    a = cr.load(tmp_path / "straight" / "checkpoint.safetensors")
    b = cr.load(tmp_path / "resumed" / "checkpoint.safetensors")
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    samples = [(tmp_path / d / "samples.txt").read_text(encoding="utf-8")
               for d in ("straight", "resumed")]
    assert samples[0] == samples[1]


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "moons", "--model", "gpt"], "use --data text"),
    (["train", "--data", "text", "--model", "mlp"], "use --model gpt"),
    (["predict", "x.safetensors"], "one of the arguments --input --samples is required"),
])
def test_mismatched_data_and_model_give_one_line_and_exit_2(argv, message):
    result = run(*argv, check=False)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_prompts_and_generate_on_other_models(gpt_run, tmp_path):
    out, _ = gpt_run
    result = run("predict", out / "checkpoint.safetensors", "--generate", 5, "--prompt",
                 "\u263a", check=False)
    assert result.returncode == 2 and "never saw" in result.stderr
    result = run("predict", out / "checkpoint.safetensors", "--input", "x.npy", check=False)
    assert result.returncode == 2 and "use --generate N" in result.stderr
    run("train", "--data", "moons", "--data-arg", "n_samples=100", "--epochs", 1, "--verbose",
        0, "--out", tmp_path)
    result = run("predict", tmp_path / "checkpoint.safetensors", "--generate", 5, check=False)
    assert result.returncode == 2 and "language model" in result.stderr
