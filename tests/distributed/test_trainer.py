"""Trainer.fit and ``chainrule train --nproc N``: data-parallel under mpiexec, the same training
as one process, rank 0 alone writing, and checkpoints that resume with another N."""

import csv
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.train.distributed import _merged, _metric_state
from chainrule.train.metrics import get_metric

from .conftest import SCRIPTS, mpi_environment


def test_three_ranks_train_as_one_process(launch, tmp_path):
    """Uneven shards (batches of 10 on 3 ranks), SyncBatchNorm, SGD with momentum: the weights
    and the epoch logs (merged over ranks, F1 from merged confusion matrices) agree."""
    subprocess.run([sys.executable, str(SCRIPTS / "trainer_parity.py"), tmp_path / "one.npz"],
                   check=True, env=mpi_environment(), timeout=60)
    launch(3, "trainer_parity.py", tmp_path / "three.npz")
    one, three = dict(np.load(tmp_path / "one.npz")), dict(np.load(tmp_path / "three.npz"))
    assert three["ran"].tolist() == [True, False, False]   # a rank_zero_only callback
    for key in one:
        if key.startswith("log_"):
            assert np.allclose(one[key], three[key], rtol=0, atol=1e-6), key
        elif key != "ran":
            assert np.abs(one[key] - three[key]).max() < 1e-5, key


def test_each_rank_draws_its_own_random_numbers(launch):
    assert "random ok" in launch(3, "trainer_random.py").stdout


def test_metric_states_merge_over_ranks():
    y_pred = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2]])
    y_true = np.array([0, 1, 1, 1, 0])
    for name in ("accuracy", "f1", "precision", "mae", "r2"):
        whole, parts = get_metric(name), [get_metric(name), get_metric(name)]
        pred = y_pred if name not in ("mae", "r2") else y_pred[:, 1]
        whole.update(pred, y_true)
        parts[0].update(pred[:2], y_true[:2])
        parts[1].update(pred[2:], y_true[2:])
        merged = _merged(parts[0], [_metric_state(p) for p in parts])
        assert merged == pytest.approx(whole.compute()), name


NEW_RUN = ("--data", "moons", "--batch-size", 20, "--seed", 3)


def chainrule_train(*args, nproc=None, cwd):
    command = [sys.executable, "-m", "chainrule", "train", "--verbose", "0", *map(str, args)]
    if nproc:
        command += ["--nproc", str(nproc)]
    done = subprocess.run(command, capture_output=True, text=True, env=mpi_environment(),
                          timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def weights(path):
    return {k: np.asarray(v) for k, v in cr.load(path)["model"].items()}


def test_a_checkpoint_of_two_ranks_resumes_in_one(launch, tmp_path):
    """2 ranks for 2 epochs, then: resumed by 2 ranks to epoch 4 it equals 4 uninterrupted
    epochs bit for bit; resumed by 1 process it takes the same batches and optimiser state, so
    it ends within rounding of them (the sums over ranks differ only in order)."""
    chainrule_train(*NEW_RUN, "--epochs", 4, "--out", tmp_path / "straight", nproc=2,
                    cwd=tmp_path)
    done = chainrule_train(*NEW_RUN, "--epochs", 2, "--out", tmp_path / "half", nproc=2,
                           cwd=tmp_path)
    assert "test loss" in done.stdout and done.stdout.count("test loss") == 1   # rank 0 only
    for copy in ("two", "one"):
        shutil.copytree(tmp_path / "half", tmp_path / copy)
        chainrule_train("--resume", tmp_path / copy / "checkpoint.safetensors", "--epochs", 4,
                        nproc=2 if copy == "two" else None, cwd=tmp_path)
    straight = cr.load(tmp_path / "straight" / "checkpoint.safetensors")
    two = cr.load(tmp_path / "two" / "checkpoint.safetensors")
    one = cr.load(tmp_path / "one" / "checkpoint.safetensors")
    for key, value in weights(tmp_path / "straight" / "checkpoint.safetensors").items():
        assert np.array_equal(value, np.asarray(two["model"][key])), key
        assert np.abs(value - np.asarray(one["model"][key])).max() < 1e-5, key
    # the loader's generator and the step counts do not depend on N: bit for bit
    assert one["train_loader"] == two["train_loader"] == straight["train_loader"]
    assert one["epoch"] == two["epoch"] == 4
    with open(tmp_path / "one" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "half" / "log.csv") as f:
        half = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"] and rows[:2] == half


def test_nproc_without_mpiexec_is_a_clear_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(cr.distributed, "is_available", lambda: True)
    status = main(["train", "--data", "moons", "--nproc", "2", "--out", str(tmp_path)])
    assert status == 2
    assert "--nproc needs the mpiexec command" in capsys.readouterr().err
    monkeypatch.setattr(cr.distributed, "is_available", lambda: False)
    assert main(["train", "--data", "moons", "--nproc", "2"]) == 2
    assert "pip install 'chainrule[distributed]'" in capsys.readouterr().err


def test_nproc_refuses_the_gan(capsys):
    assert main(["train", "--data", "moons", "--model", "gan", "--nproc", "2"]) == 2
    assert "trains in one process" in capsys.readouterr().err


def test_partial_batches_buffers_clipping_eval_mode_and_a_sampler_loader(launch):
    """A last batch smaller than the world with SyncBatchNorm (and with clipping) neither hangs
    nor lets the replicas drift; DDP averages in eval(); a DistributedSampler loader is refused."""
    assert "edges ok" in launch(3, "trainer_edges.py", timeout=60).stdout
