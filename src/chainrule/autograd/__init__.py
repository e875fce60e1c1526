"""Automatic differentiation: the graph node, the engine, grad modes and gradient checks."""

from chainrule.autograd.anomaly import detect_anomaly, set_detect_anomaly  # noqa: F401
from chainrule.autograd.engine import backward, grad  # noqa: F401
from chainrule.autograd.function import Function  # noqa: F401
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from chainrule.autograd.mode import (  # noqa: F401
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
