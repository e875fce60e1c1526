"""Matrix products: ``matmul`` (1-D, 2-D, batched, broadcast batch) and the fused ``linear``."""

from __future__ import annotations

from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.promotion import promoted
from chainrule.tensor import Tensor


class MatMul(Primitive):
    """Z = A @ B ; dL/dA = G @ B^T, dL/dB = A^T @ G (broadcast batch axes summed back).

    A 1-D operand is a vector: it is treated as a row (left) or a column (right) and the added
    axis is removed again, as in NumPy and PyTorch.
    """

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"both arguments must be at least 1-D, got shapes {a.shape} and "
                             f"{b.shape}")
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if a.shape[-1] != inner_b:
            raise ValueError(f"shapes {a.shape} and {b.shape} do not align")
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g, a, b):
        na, nb = ctx.needs_input_grad
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        a2 = fm.reshape(a, (1, a.shape[0])) if a_vec else a
        b2 = fm.reshape(b, (b.shape[0], 1)) if b_vec else b
        if a_vec and b_vec:
            g2 = fm.reshape(g, (1, 1))
        elif a_vec:
            g2 = fm.reshape(g, tuple(g.shape[:-1]) + (1, g.shape[-1]))
        elif b_vec:
            g2 = fm.reshape(g, tuple(g.shape) + (1,))
        else:
            g2 = g
        ga = gb = None
        if na:
            ga = g2 @ fm.transpose(b2, -2, -1)
            ga = fm.sum_to(ga, a2.shape)
            ga = fm.reshape(ga, a.shape) if a_vec else ga
        if nb:
            gb = fm.transpose(a2, -2, -1) @ g2
            gb = fm.sum_to(gb, b2.shape)
            gb = fm.reshape(gb, b.shape) if b_vec else gb
        return ga, gb


class Linear(Primitive):
    """y = x W^T + b over the last axis of x (one node instead of three).

    dL/dx = G W ;  dL/dW = G^T x ;  dL/db = sum of G over all but the last axis.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"input of shape {x.shape} does not match weight of shape "
                             f"{weight.shape} (in_features={weight.shape[1]})")
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, g, x, w):
        nx, nw, nb = ctx.needs_input_grad
        gx = g @ w if nx else None
        gw = gb = None
        if nw or nb:
            g2 = fm.reshape(g, (-1, g.shape[-1])) if g.ndim != 2 else g
            if nw:
                x2 = fm.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
                gw = fm.transpose(g2, -2, -1) @ x2
            if nb:
                gb = fm.sum(g2, 0)
        return gx, gw, gb


def matmul(a, b):
    """Matrix product with NumPy's rules for 1-D and batched operands.

    Both tensors must have the same dtype, as in PyTorch; a NumPy constant takes the tensor's.
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.data.dtype != b.data.dtype:
            raise RuntimeError(f"matmul: expected both operands to have the same dtype, got "
                               f"{a.data.dtype} and {b.data.dtype} (shapes {a.shape} and "
                               f"{b.shape}); convert one with .to()")
        return MatMul.apply(a, b)
    return MatMul.apply(*promoted(a, b))


def linear(x, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features)."""
    return Linear.apply(x, weight, bias)


# The ops that chainrule exports as ``cr.<name>``.
__all__ = [
    "linear", "matmul",
]
