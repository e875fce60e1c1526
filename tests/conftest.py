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


@pytest.fixture
def guide_pictures():
    """Check that an example wrote every picture its tutorial page shows.

    A tutorial page under docs/tutorials/ names the pictures of ``examples/<name>.py`` as
    ``examples/output/<name>/<file>.png`` and shows the committed copy from docs/images/<name>/.
    ``guide_pictures(name, folder)`` asserts that the page names at least one picture, that the
    example wrote each named picture into ``folder`` (a real plot, over 5 kB), and that docs/images
    holds a copy of each; it returns the set of names.
    """
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def check(name, folder):
        named = set()
        for page in (root / "docs" / "tutorials").glob("*.md"):
            named.update(re.findall(rf"examples/output/{name}/([\w.-]+\.png)", page.read_text()))
        assert named, f"no tutorial page shows a picture of examples/{name}.py"
        for picture in sorted(named):
            written = Path(folder) / picture
            assert written.is_file(), f"examples/{name}.py did not write {picture}"
            assert written.stat().st_size > 5_000, f"{picture} is not a real plot"
            copy = root / "docs" / "images" / name / picture
            assert copy.is_file(), f"docs/images/{name}/{picture} is missing"
        return named

    return check
