"""DistributedDataParallel across real MPI launches: N ranks on shards of each batch equal one
process on the whole batch, and the wrapper's other behaviours."""

import numpy as np
import pytest

from .conftest import SCRIPTS, mpi_environment

TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    """One process on whole batches (no launcher): {(optimizer, dtype, sync_bn): state}."""
    import subprocess
    import sys

    folder, cache = tmp_path_factory.mktemp("baselines"), {}

    def get(*key):
        if key not in cache:
            optimizer, dtype, sync_bn = key
            out = folder / f"{optimizer}-{dtype}-{sync_bn}.npz"
            args = ["--optimizer", optimizer, "--dtype", dtype] + ["--sync-bn"] * sync_bn
            subprocess.run([sys.executable, str(SCRIPTS / "ddp_parity.py"), str(out), *args],
                           check=True, env=mpi_environment(), timeout=60)
            cache[key] = dict(np.load(out))
        return cache[key]

    return get


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a if k != "identical")


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_n_ranks_equal_one_process_on_the_full_batch(launch, baselines, tmp_path, ranks,
                                                     optimizer, dtype):
    """20 steps of SGD with momentum (or Adam) on an MLP, each rank on its third (or half) of
    every batch of 24: the averaged gradients are the full batch's, so the weights agree."""
    out = tmp_path / "state.npz"
    launch(ranks, "ddp_parity.py", out, "--optimizer", optimizer, "--dtype", dtype)
    state = dict(np.load(out))
    assert state["identical"] == 1                 # every rank holds the same weights
    assert max_difference(state, baselines(optimizer, dtype, False)) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_with_sync_batchnorm_too(launch, baselines, tmp_path, dtype):
    out = tmp_path / "state.npz"
    launch(3, "ddp_parity.py", out, "--optimizer", "adam", "--dtype", dtype, "--sync-bn")
    state = dict(np.load(out))
    assert state["identical"] == 1
    assert max_difference(state, baselines("adam", dtype, True)) < TOLERANCE[dtype]


def test_broadcast_unused_parameters_no_sync_and_errors(launch):
    assert "ddp ok" in launch(3, "ddp_features.py").stdout


def test_collectives_on_three_ranks(launch):
    assert "collectives ok" in launch(3, "collectives.py").stdout


@pytest.mark.parametrize("where", ["collective", "fit"])
def test_a_rank_that_raises_ends_the_job(launch, where):
    """Rank 1 raises while rank 0 waits in a collective: the job ends with rank 1's error."""
    done = launch(2, "failure.py", where, timeout=60, check=False)
    assert done.returncode != 0
    assert "RuntimeError: rank 1 failed on purpose" in done.stderr
    assert "not reached" not in done.stdout
