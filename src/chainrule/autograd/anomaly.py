"""Anomaly detection: name the operation that first produced NaN or Inf, forward or backward."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.mode import state


def _bad(array) -> bool:
    return array.dtype.kind in "fc" and not bool(np.isfinite(array).all())


def check_forward(op: str, out) -> None:
    if _bad(out):
        raise FloatingPointError(
            f"anomaly: {op} produced NaN/Inf in its forward output (shape {out.shape})"
        )


def check_backward(op: str, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        if hasattr(g, "dtype") and _bad(g):
            raise FloatingPointError(
                f"anomaly: {op}Backward returned NaN/Inf in its gradient for input {i} "
                f"(shape {g.shape})"
            )


class set_detect_anomaly:
    """Turn anomaly detection on or off inside a ``with`` block."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = state.anomaly
        state.anomaly = self.mode
        return self

    def __exit__(self, *exc):
        state.anomaly = self.prev
        return False


def detect_anomaly():
    """Context manager: raise ``FloatingPointError`` naming the first op that makes NaN/Inf.

    Every forward output and every backward gradient is checked (slower; for debugging).

    Example:
        >>> with cr.autograd.detect_anomaly():
        ...     cr.log(cr.zeros(1, requires_grad=True))   # raises: Log produced NaN/Inf
    """
    return set_detect_anomaly(True)
