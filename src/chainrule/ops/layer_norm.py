"""Layer normalisation as one graph node, and the composition it is checked against.

Over the last D = prod(normalized_shape) values of each row x (sums over those D values):

    mu = sum(x) / D ;  var = sum((x - mu)^2) / D ;  r = 1 / sqrt(var + eps)
    x_hat = (x - mu) r ;  y = gamma x_hat + beta

and one backward pass, with G = dL/dy and G_hat = gamma G:

    dbeta = sum over rows of G ;  dgamma = sum over rows of G x_hat
    dx = r (G_hat - sum(G_hat) / D - x_hat sum(G_hat x_hat) / D)

:class:`LayerNorm` computes this on arrays in a few passes and keeps x_hat and r for backward;
the composition (:func:`layer_norm_composed`: a mean, a subtraction, a square, a mean, a power,
a product and a sum, one node each) keeps several arrays of x's size instead. With
``create_graph=True`` the backward is derived from the composition, so second derivatives come
from its ops and no derivative is written twice.
"""

from __future__ import annotations

import math

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula


def layer_norm_composed(x, size, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta over the last ``size`` axes, on Tensors,
    one node per operation (mean and biased variance of each row).

    Example:
        >>> layer_norm_composed(cr.randn(4, 3), 1).mean(-1)   # about 0 in every row
    """
    axes = tuple(range(x.ndim - size, x.ndim))
    mean = x.mean(axes, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(axes, keepdim=True)
    out = centered * (var + eps) ** -0.5
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _rows(x, size):
    """x as a matrix (rows, D) of its last ``size`` axes (a view when x is contiguous)."""
    return x.reshape((-1, math.prod(x.shape[x.ndim - size:])))


def _normalize(x, size, eps):
    """(x_hat, r) of the module docstring; r has shape (rows, 1)."""
    xp = backend.namespace(x)
    rows = _rows(x, size)
    width = rows.shape[1]
    x_hat = rows - rows.mean(-1, keepdims=True)
    rstd = xp.einsum("ij,ij->i", x_hat, x_hat)[:, None]
    rstd /= width
    rstd += eps
    xp.sqrt(rstd, out=rstd)
    xp.divide(1, rstd, out=rstd)
    x_hat *= rstd
    return x_hat.reshape(x.shape), rstd


def _backward_arrays(grad_output, x, weight, bias, x_hat, rstd, size, eps, needs):
    """(dx, dgamma, dbeta) from the saved x_hat and r, on arrays (see the module docstring)."""
    xp = backend.namespace(x_hat)
    g, rows = _rows(grad_output, size), _rows(x_hat, size)
    d_weight = (g * rows).sum(0).reshape(weight.shape) if needs[1] else None
    d_bias = g.sum(0).reshape(bias.shape) if needs[2] else None
    d_x = None
    if needs[0]:
        width = rows.shape[1]
        g_hat = g * weight.reshape(-1) if weight is not None else g.copy()
        inner = xp.einsum("ij,ij->i", g_hat, rows)[:, None]
        inner /= width
        g_hat -= g_hat.mean(-1, keepdims=True)
        g_hat -= rows * inner
        g_hat *= rstd
        d_x = g_hat.reshape(x.shape)
    return d_x, d_weight, d_bias


@formula(_backward_arrays)
def layer_norm_backward(grad_output, x, weight, bias, x_hat, rstd, size, eps, needs):
    """(dx, dgamma, dbeta) of :class:`LayerNorm` on Tensors: derived from the composition."""
    def normalized(x, weight, bias):
        return layer_norm_composed(x, size, weight, bias, eps)

    return fm.derived_vjp(normalized, grad_output, (x, weight, bias), needs)


class LayerNorm(Primitive):
    """y = gamma (x - mu) / sqrt(var + eps) + beta over the last ``size`` axes, one node.

    Forward arguments: x, weight and bias (of the normalised shape, or None), size (how many
    trailing axes are normalised), eps.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, size, eps):
        x_hat, rstd = _normalize(x, size, eps)
        ctx.args = size, eps
        ctx.save_for_backward(x, weight, bias, x_hat, rstd)
        if weight is None:
            return x_hat + bias if bias is not None else x_hat.copy()
        out = x_hat * weight
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad_output, x, weight, bias, x_hat, rstd):
        grads = fm.layer_norm_backward(grad_output, x, weight, bias, x_hat, rstd, *ctx.args,
                                       ctx.needs_input_grad)
        return grads + (None, None)


def layer_norm(x, size, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the last ``size`` axes as one graph node (no argument checks):
    y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and biased variance of each row.

    Example:
        >>> layer_norm(cr.randn(4, 3), 1).std(-1, unbiased=False)   # about 1 in every row
    """
    return LayerNorm.apply(x, weight, bias, size, eps)
