"""Test-suite settings: one BLAS thread.

Small matrix products are 10-20 times slower with several OpenBLAS threads on a busy 2-core
machine, and one thread makes timings of the whole suite predictable. Subprocesses (the command
line tests) inherit the limit through the environment.
"""

import os

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield
