"""Automatic differentiation: the graph node, the engine, grad modes and gradient checks."""

from chainrule.autograd.anomaly import detect_anomaly, set_detect_anomaly  # noqa: F401
from chainrule.autograd.engine import backward, grad  # noqa: F401
from chainrule.autograd.function import Function  # noqa: F401
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from chainrule.autograd.mode import (  # noqa: F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)


def __getattr__(name):
    # NOTE: ``cr.autograd.functional`` loads on first use: it is built on the ops, which import
    # this package while chainrule itself is still loading.
    if name == "functional":
        import importlib

        return importlib.import_module("chainrule.autograd.functional")
    raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")
