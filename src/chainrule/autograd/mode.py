"""Grad modes: whether operations record the graph, and whether anomaly detection is on."""

from __future__ import annotations

import functools


class _State:
    """Global switches read by every operation (one attribute lookup on the hot path)."""

    grad_enabled = True
    anomaly = False
    tracer = None  # the Tracer of ``cr.compile`` while it traces a function (see autograd.trace)


state = _State()


def is_grad_enabled() -> bool:
    """True when operations record the computational graph."""
    return state.grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off.

    Example:
        >>> with set_grad_enabled(False):
        ...     y = x * 2          # y.requires_grad is False
    """

    def __init__(self, mode: bool):
        self.prev = state.grad_enabled
        self.mode = bool(mode)
        state.grad_enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self.prev
        return False


class _GradSwitch:
    """Base of ``no_grad`` and ``enable_grad``: a context manager and a function decorator."""

    enabled = True

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        if fn is not None:  # used as a bare decorator: @cr.no_grad
            return self(fn)
        return self

    def __init__(self, fn=None):
        pass

    def __enter__(self):
        self.prev = state.grad_enabled
        state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradSwitch):
    """Operations inside record nothing: results have ``requires_grad=False``.

    Use it for evaluation and for parameter updates. Works as ``with cr.no_grad():`` and as a
    decorator ``@cr.no_grad()``.
    """

    enabled = False


class enable_grad(_GradSwitch):
    """Re-enables graph recording inside a ``no_grad`` block."""

    enabled = True


class inference_mode(_GradSwitch):  # noqa: N801 - PyTorch's name
    """``no_grad`` for inference: operations inside record no graph (PyTorch's
    ``torch.inference_mode``). ``inference_mode(False)`` changes nothing.

    Works as ``with cr.inference_mode():``, ``@cr.inference_mode()`` and ``@cr.inference_mode``.
    Unlike PyTorch, tensors made inside are ordinary tensors: they may enter a graph later.
    """

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        if callable(mode):  # used as a bare decorator: @cr.inference_mode
            self.mode = True
            return self(mode)
        self.mode = bool(mode)
        return self

    def __init__(self, mode=True):
        pass

    @property
    def enabled(self):
        return is_grad_enabled() if not self.mode else False

    def clone(self):
        return type(self)(self.mode)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper
