"""Launching real MPI jobs from the tests: ``launch(n, script, *args)``.

Each job runs ``mpiexec -n N python -m mpi4py SCRIPT ...`` (an exception on one rank aborts the
job) with a timeout, one BLAS thread per rank, and skips cleanly where mpi4py or mpiexec are
missing. The scripts live in tests/distributed/scripts/.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent / "scripts"
ROOT = Path(__file__).resolve().parents[2]


def mpi_environment() -> dict:
    """The environment of a job: chainrule importable, one BLAS thread, no launcher state."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_LOCAL", "HYDRA_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


@pytest.fixture
def launch():
    """``launch(n, script, *args, timeout=60, check=True)`` -> CompletedProcess."""
    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("mpiexec is not on the PATH")

    def run(n, script, *args, timeout=60, check=True, cwd=None):
        command = [mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py",
                   str(SCRIPTS / script), *map(str, args)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=mpi_environment(), cwd=cwd)
        if check:
            assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
        return done

    return run
