"""``cr.linalg``: PyTorch's ``torch.linalg`` names for chainrule's linear algebra.

Every function is differentiable to second order (the ops live in :mod:`chainrule.ops.linalg`
and :mod:`chainrule.ops.reduce`).
"""

from __future__ import annotations

from chainrule.ops.linalg import det, inv, solve
from chainrule.ops.reduce import norm

__all__ = ["det", "inv", "matrix_norm", "norm", "solve", "vector_norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False):  # noqa: A002 - PyTorch's name
    """(sum |x_i|^ord)^(1/ord) over ``dim`` (all elements when None); ord=inf is max |x_i|."""
    return norm(x, ord, dim, keepdim)


def matrix_norm(x, ord="fro", dim=(-2, -1), keepdim=False):  # noqa: A002
    """The Frobenius norm sqrt(sum_ij x_ij^2) over the last two axes (``ord="fro"`` only)."""
    if ord != "fro":
        raise ValueError(f"matrix_norm: only ord='fro' is supported, got {ord!r}")
    return norm(x, 2, dim, keepdim)
