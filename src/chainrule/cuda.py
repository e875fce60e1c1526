"""``cr.cuda``: whether a GPU is at hand, in PyTorch's words.

chainrule runs on a GPU through CuPy (the ``gpu`` extra); these functions let PyTorch code such as
``device = "cuda" if cr.cuda.is_available() else "cpu"`` run unchanged.
"""

from __future__ import annotations

from chainrule import backend


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return backend.gpu_available()


def device_count() -> int:
    """The number of CUDA devices CuPy sees (0 without CuPy or a GPU)."""
    if not backend.gpu_available():
        return 0
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


def manual_seed(seed: int) -> None:
    """Accepted for PyTorch code; a no-op, as chainrule draws every random number from the one
    generator seeded by ``cr.manual_seed`` (on the CPU, then moved to the device)."""


def manual_seed_all(seed: int) -> None:
    """Like :func:`manual_seed` (a no-op)."""
