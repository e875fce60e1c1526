"""Linear algebra: ``matmul`` (1-D, 2-D, batched, broadcast batch), the fused ``linear``, the
solution of A X = B, the inverse and the determinant, and the compositions ``diag``, ``trace``,
``outer`` and ``cdist``."""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.ops.movement import getitem, index_put, reshape, unsqueeze
from chainrule.ops.promotion import promoted
from chainrule.tensor import Tensor, tensor_method, wrap


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
        out = _rows_matmul(x, weight.T)
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, g, x, w):
        nx, nw, nb = ctx.needs_input_grad
        gx = _rows_matmul(g, w) if nx else None
        gw = gb = None
        if nw or nb:
            g2 = fm.reshape(g, (-1, g.shape[-1])) if g.ndim != 2 else g
            if nw:
                x2 = fm.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
                gw = _matrix_product(g2.T, x2)
            if nb:
                gb = g2.sum(0)
        return gx, gw, gb


def _rows_matmul(x, w):
    """x @ w for x of shape (..., n) and a matrix w, as ONE matrix product of the rows of x.

    NOTE: NumPy runs a stacked (B, T, n) @ (n, m) as B separate products, which a second BLAS
    thread barely speeds up; (B*T, n) @ (n, m) is one product, 1.5 times faster on 2 threads.
    """
    if x.ndim <= 2:
        return _matrix_product(x, w)
    rows = fm.reshape(x, (-1, x.shape[-1])) @ w
    return fm.reshape(rows, tuple(x.shape[:-1]) + (w.shape[-1],))


def _matrix_product(a, b):
    """a @ b for matrices (or a vector a): ``np.dot`` on two NumPy arrays, whose call costs
    about 0.4 us less than ``@`` on small operands; ``@`` otherwise (Tensors, CuPy)."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return np.dot(a, b)
    return a @ b


@tensor_method
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


def _checked_matmul(op, a, b, ndims):
    if (a.ndim, b.ndim) != ndims:
        raise ValueError(f"{op}: expected operands with {ndims[0]} and {ndims[1]} dims, got "
                         f"shapes {a.shape} and {b.shape}")
    return matmul(a, b)


@tensor_method
def mm(a, b):
    """The matrix product of two 2-D tensors (``matmul`` restricted to matrices)."""
    return _checked_matmul("mm", a, b, (2, 2))


@tensor_method
def bmm(a, b):
    """The batched matrix product of two 3-D tensors (B, n, m) @ (B, m, p)."""
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ, shapes {a.shape} and {b.shape}")
    return _checked_matmul("bmm", a, b, (3, 3))


@tensor_method
def mv(a, v):
    """The product of a matrix (n, m) and a vector (m,)."""
    return _checked_matmul("mv", a, v, (2, 1))


@tensor_method
def dot(a, b):
    """The inner product sum_i a_i b_i of two vectors."""
    return _checked_matmul("dot", a, b, (1, 1))


def linear(x, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features)."""
    return Linear.apply(x, weight, bias)


def _as_matrix(b):
    """A right-hand side of one vector (n,) as a column (n, 1): torch.linalg.solve's rule."""
    return b[..., None] if b.ndim == 1 else b


def _solve_array(a, b):
    if b.ndim == 1:
        return np.linalg.solve(a, b[:, None])[:, 0]
    return np.linalg.solve(a, b)


class Solve(Primitive):
    """X = A^{-1} B (A square and invertible) ; dB = A^{-T} G, dA = -dB X^T."""

    @staticmethod
    def forward(ctx, a, b):
        out = _solve_array(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g, a, x):
        gb = fm.solve(fm.transpose(a, -2, -1), g)
        ga = None
        if ctx.needs_input_grad[0]:
            gb2 = fm.reshape(gb, tuple(gb.shape) + (1,)) if x.ndim == 1 else gb
            x2 = fm.reshape(x, tuple(x.shape) + (1,)) if x.ndim == 1 else x
            ga = -(gb2 @ fm.transpose(x2, -2, -1))
            ga = fm.sum_to(ga, a.shape)
        return ga, (gb if ctx.needs_input_grad[1] else None)


@formula(_solve_array)
def solve(a, b):
    """X with A X = B (``torch.linalg.solve``); B is (n,), (n, k) or batched like A."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"solve: A must be a square matrix (or a batch of them), got shape "
                         f"{a.shape}")
    if b.shape[0 if b.ndim == 1 else -2] != a.shape[-1]:
        raise ValueError(f"solve: A of shape {a.shape} and B of shape {b.shape} do not align")
    return Solve.apply(*promoted(a, b))


class Inverse(Primitive):
    """Y = A^{-1} ; dA = -Y^T G Y^T."""

    @staticmethod
    def forward(ctx, a):
        out = np.linalg.inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, y):
        yt = fm.transpose(y, -2, -1)
        return -(yt @ g @ yt)


@formula(np.linalg.inv)
def inv(a):
    """A^{-1} (``torch.linalg.inv``) of a square matrix or a batch of them."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"inv: expected a square matrix (or a batch), got shape {a.shape}")
    return Inverse.apply(a)


class Determinant(Primitive):
    """d = det A ; dA = g d A^{-T} (Jacobi's formula)."""

    @staticmethod
    def forward(ctx, a):
        out = np.asarray(np.linalg.det(a), dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g, a, d):
        scale = fm.reshape(g * d, tuple(d.shape) + (1, 1))
        return scale * fm.transpose(fm.inv(a), -2, -1)


@tensor_method
def det(a):
    """The determinant (``torch.linalg.det``) of a square matrix or a batch of them."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"det: expected a square matrix (or a batch), got shape {a.shape}")
    return Determinant.apply(a)


@tensor_method
def diag(x, diagonal=0):
    """A 1-D ``x`` as the diagonal of a square matrix; the diagonal of a 2-D ``x``."""
    if x.ndim == 1:
        n = x.shape[0] + abs(diagonal)
        rows = np.arange(x.shape[0]) + max(-diagonal, 0)
        cols = np.arange(x.shape[0]) + max(diagonal, 0)
        zeros = wrap(backend.namespace(x.data).zeros((n, n), dtype=x.dtype))
        return index_put(zeros, (rows, cols), x)
    if x.ndim != 2:
        raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")
    k = np.arange(max(0, min(x.shape[0] + min(diagonal, 0), x.shape[1] - max(diagonal, 0))))
    return getitem(x, (k + max(-diagonal, 0), k + max(diagonal, 0)))


@tensor_method
def trace(x):
    """The sum of the diagonal of a 2-D tensor."""
    if x.ndim != 2:
        raise ValueError(f"trace: expected a 2-D tensor, got shape {x.shape}")
    return diag(x).sum()


@tensor_method
def outer(a, b):
    """The outer product a b^T of two vectors: out[i, j] = a[i] b[j]."""
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return unsqueeze(a, 1) * reshape(b, (1, -1))


_COMPUTE_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


def _differences(x1, x2):
    """x1_i - x2_j for every pair of rows: (*, P, R, M) (arrays or Tensors)."""
    lead1, lead2 = tuple(x1.shape[:-2]), tuple(x2.shape[:-2])
    rows1 = fm.reshape(x1, lead1 + (x1.shape[-2], 1, x1.shape[-1]))
    rows2 = fm.reshape(x2, lead2 + (1,) + tuple(x2.shape[-2:]))
    return rows1 - rows2


def _distances_array(d, p):
    """|d|_p over the last axis of the differences d (p = 0 counts the non-zero entries)."""
    a = abs(d)
    if p == 0:
        return (a != 0).sum(-1).astype(d.dtype)
    if p == 1:
        return a.sum(-1)
    if p == 2:
        return backend.namespace(d).sqrt((a * a).sum(-1))
    if p == np.inf:
        return a.max(-1)
    return ((a ** p).sum(-1)) ** (1.0 / p)


def _cdist_composed(x1, x2, p):
    """The distances on Tensors from ``norm``: the derivative of the double backward."""
    d = _differences(x1, x2)
    return (d * 0).sum(-1) if p == 0 else d.norm(p, dim=-1)


def _cdist_backward_arrays(g, x1, x2, dist, p, needs):
    """(dx1, dx2): g times the slope s = d|d|_p / dd, summed over the other rows.

    s = sign(d) (p = 1), d / D (p = 2), sign(d) [|d| = D] (p = inf, every tied coordinate),
    sign(d) |d|^(p-1) / D^(p-1) otherwise; 0 where d = 0 or D = 0, and for p = 0.
    """
    xp = backend.namespace(dist)
    d = _differences(x1, x2)
    D = dist[..., None]
    a = abs(d)
    if p == 0:
        slope = xp.zeros_like(d)
    elif p == 1:
        slope = xp.sign(d)
    elif p == 2:
        slope = d / xp.where(D == 0, 1, D)
    elif p == np.inf:
        slope = xp.sign(d) * (a == D)
    else:
        slope = xp.sign(d) * xp.where(a == 0, 1, a) ** (p - 1) / xp.where(D == 0, 1, D) ** (p - 1)
    slope *= g[..., None]
    d_x1 = fm.sum_to_array(slope.sum(-2), x1.shape) if needs[0] else None
    d_x2 = fm.sum_to_array(-slope.sum(-3), x2.shape) if needs[1] else None
    return d_x1, d_x2


@formula(_cdist_backward_arrays)
def cdist_backward(g, x1, x2, dist, p, needs):
    """(dx1, dx2) of :class:`CDist` on Tensors: derived from ``norm`` of the differences."""
    return fm.derived_vjp(lambda a, b: _cdist_composed(a, b, p), g, (x1, x2), needs)


class CDist(Primitive):
    """D[..., i, j] = |x1_i - x2_j|_p ; dD/dx1_i = sum_j s_ij, dD/dx2_j = -sum_i s_ij with the
    slopes s of :func:`_cdist_backward_arrays` (PyTorch's, finite where rows coincide)."""

    @staticmethod
    def forward(ctx, x1, x2, p):
        ctx.p = p
        out = _distances_array(_differences(x1, x2), p)
        ctx.save_for_backward(x1, x2, out)
        return out

    @staticmethod
    def backward(ctx, g, x1, x2, dist):
        return fm.cdist_backward(g, x1, x2, dist, ctx.p, ctx.needs_input_grad) + (None,)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise distances between the rows of x1 and x2: out[..., i, j] = |x1_i - x2_j|_p.

    x1 (*, P, M) and x2 (*, R, M) of one floating dtype, batch axes broadcast, give (*, P, R):
    the p-norm of each difference (p = inf: the largest |difference|; p = 0: how many
    coordinates differ, with gradient 0), with PyTorch's gradients: 0 where two rows coincide,
    and for p = inf the whole gradient to every coordinate tied for the largest. The
    differences are formed directly, (*, P, R, M) values; ``compute_mode`` (PyTorch's choice of
    a matrix-product algorithm for p = 2) is checked and changes nothing. The second derivative
    comes from ``norm`` of the differences (PyTorch has none).

    Example:
        >>> cr.cdist(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor([[5., 1.]])
    """
    if x1.ndim < 2 or x2.ndim < 2:
        raise ValueError(f"cdist: expected tensors of at least 2 dims (*, rows, features), got "
                         f"shapes {x1.shape} and {x2.shape}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: x1 and x2 must have the same number of columns, got shapes "
                         f"{x1.shape} and {x2.shape}")
    if x1.dtype.kind != "f" or x1.dtype != x2.dtype:
        raise TypeError(f"cdist: expected x1 and x2 of the same floating dtype, got {x1.dtype} "
                        f"and {x2.dtype}")
    if not p >= 0:
        raise ValueError(f"cdist: p must be non-negative, got {p}")
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"cdist: {compute_mode!r} is not a valid value for compute_mode")
    return CDist.apply(x1, x2, float(p))


# The ops that chainrule exports as ``cr.<name>``.
__all__ = ["bmm", "cdist", "det", "diag", "dot", "inv", "linear", "matmul", "mm", "mv", "outer",
           "solve", "trace"]
