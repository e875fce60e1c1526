"""The array namespace, dtypes and the random generator.

Everything that chooses between NumPy (the CPU) and CuPy (a GPU) lives here. Operations work on
whatever array they are given (CuPy implements NumPy's ufunc and function protocols); code that
creates a new array asks :func:`namespace` for the module of the arrays at hand.
"""

from __future__ import annotations

import numpy as np

try:  # pragma: no cover - exercised only where CuPy and a GPU exist
    import cupy as _cupy
except Exception:  # ImportError, or a CuPy that finds no CUDA driver
    _cupy = None

float32 = np.float32
float64 = np.float64
float16 = np.float16
int8 = np.int8
int16 = np.int16
int32 = np.int32
int64 = np.int64
uint8 = np.uint8
bool_ = np.bool_

DEFAULT_FLOAT = np.dtype(np.float32)


def namespace(*arrays):
    """Return the array module (``numpy`` or ``cupy``) of ``arrays``.

    Raises:
        TypeError: when NumPy and CuPy arrays are mixed; chainrule never copies between
            devices behind the user's back.
    """
    if _cupy is None:
        return np
    kinds = {isinstance(a, _cupy.ndarray) for a in arrays if hasattr(a, "shape")}
    if kinds == {True, False}:
        shapes = [getattr(a, "shape", None) for a in arrays]
        raise TypeError(
            f"arrays on different devices (NumPy and CuPy) cannot be combined: shapes {shapes}; "
            "move them with .to(device) first"
        )
    return _cupy if kinds == {True} else np


def is_gpu_array(array) -> bool:
    """True for a CuPy array."""
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def to_device(array, device):
    """Copy ``array`` to ``device`` ("cpu" or "cuda"/"gpu"); a no-op when already there."""
    device = str(device).split(":")[0].lower()
    if device == "cpu":
        return _cupy.asnumpy(array) if is_gpu_array(array) else array
    if device in ("cuda", "gpu"):
        if not gpu_available():
            raise RuntimeError(f"device {device!r} requested but CuPy with a CUDA GPU is not "
                               "available; install the 'gpu' extra (cupy) on a machine with a GPU")
        return _cupy.asarray(array)
    raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")


def device_of(array) -> str:
    """Return "cuda" for a CuPy array and "cpu" otherwise."""
    return "cuda" if is_gpu_array(array) else "cpu"


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor lives: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 0)``.

    As ``torch.device``: ``type`` is "cpu" or "cuda", ``index`` the GPU number or None; a
    device compares equal to another device or to its string ("cpu", "cuda:0").

    Example:
        >>> dev = cr.device("cuda" if cr.cuda.is_available() else "cpu")
        >>> x = cr.zeros(3, device=dev)
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        name = str(type).lower()
        if ":" in name:
            name, number = name.split(":", 1)
            index = int(number)
        if name == "gpu":
            name = "cuda"
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda' (optionally 'cuda:N'), got "
                             f"{type!r}")
        self.type, self.index = name, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{extra})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index == other.index or None in (
            self.index, other.index))

    def __hash__(self) -> int:
        return hash(self.type)


def to_numpy(array) -> np.ndarray:
    """Return ``array`` as a NumPy array (copied from the GPU if needed)."""
    return _cupy.asnumpy(array) if is_gpu_array(array) else np.asarray(array)


# --------------------------------------------------------------------------------------------
# Randomness: one generator, seeded by manual_seed, so that the same seed gives the same run.
# --------------------------------------------------------------------------------------------
_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's global random generator and return it.

    Every random operation (``rand``, ``randn``, initialisation, dropout, shuffling) draws from
    this generator unless it is given its own, so ``manual_seed(s)`` makes a run repeatable.
    """
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The global generator that ``manual_seed`` seeds."""
    return _generator


def get_rng_state() -> dict:
    """The state of the global generator as a JSON-serialisable dict."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the global generator to a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state
