"""Scaled dot-product attention as one graph node, and the composition it is checked against.

    S = scale Q K^T + B (masked: -inf where a query may not attend) ;  W = softmax(S) ;  O = W V

with the gradients of one backward pass (G = dL/dO, sums over the key axis):

    dV = W^T G ;  dW = G V^T ;  dS = W * (dW - sum(dW * W)) ;  dQ = scale dS K ;  dK = scale dS^T Q

:class:`Attention` computes this on arrays: the scores are made and turned into the weights in
one buffer, and only W is kept for backward (the composition keeps the scores, the masked scores
and the weights). With ``create_graph=True`` its backward is derived instead from
:func:`attention_weights` times V, the same formula written with ``matmul``, ``masked_fill``
and ``softmax``, so second derivatives come from those ops and no derivative is written twice.
A row whose keys are all masked ("dead") outputs 0 and passes no gradient, in both (PyTorch's
"safe softmax").
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.autograd.function import Primitive
from chainrule.ops import formula as fm
from chainrule.ops.formula import formula
from chainrule.ops.indexing import masked_fill
from chainrule.ops.reduce import softmax
from chainrule.tensor import wrap


def attention_weights(query, key, drop=None, bias=None, dead=None, scale=1.0):
    """W = softmax(scale Q K^T + B, masked) on Tensors, one node per operation.

    Args:
        query, key: (..., L, E) and (..., S, E) Tensors.
        drop: boolean array broadcasting to (..., L, S), True where a query may NOT attend,
            or None.
        bias: an additive mask (array or Tensor) broadcasting to (..., L, S), or None.
        dead: boolean array (..., L, 1), True for the rows whose keys are all masked, or None.
        scale: the factor of the scores.

    Returns:
        The weights W, (..., L, S); a dead row is 0.

    Example:
        >>> q = cr.randn(2, 5, 4)
        >>> attention_weights(q, q, scale=0.5).sum(-1)   # each row sums to 1
    """
    scores = (query * scale).matmul(key.transpose(-2, -1))
    if bias is not None:
        scores = scores + bias
    if drop is not None:
        scores = masked_fill(scores, wrap(drop), -np.inf)
    if dead is not None:
        scores = masked_fill(scores, wrap(dead), 0.0)
    weights = softmax(scores, -1)
    if dead is not None:
        weights = masked_fill(weights, wrap(dead), 0.0)
    return weights


def _weights(query, key, drop, bias, dead, scale):
    """W = softmax(scale Q K^T + B, masked) on arrays, computed in one buffer."""
    xp = backend.namespace(query)
    w = xp.matmul(query * scale, xp.swapaxes(key, -1, -2))
    if bias is not None:
        w += bias
    if drop is not None:
        xp.copyto(w, -np.inf, where=drop)
    top = w.max(-1, keepdims=True)
    if dead is not None:
        top[xp.broadcast_to(dead, top.shape)] = 0  # a dead row is all -inf: no shift
    w -= top
    xp.exp(w, out=w)
    total = w.sum(-1, keepdims=True)
    if dead is not None:
        total[xp.broadcast_to(dead, total.shape)] = 1  # its weights stay 0 (0 / 1)
    w /= total
    return w


def _backward_arrays(grad_output, query, key, value, weights, drop, bias, dead, scale, needs):
    """(dQ, dK, dV) from the saved weights, on arrays (see the module docstring)."""
    xp = backend.namespace(weights)
    d_value = xp.matmul(xp.swapaxes(weights, -1, -2), grad_output) if needs[2] else None
    d_query = d_key = None
    if needs[0] or needs[1]:
        d_scores = xp.matmul(grad_output, xp.swapaxes(value, -1, -2))
        d_scores -= xp.einsum("...ij,...ij->...i", d_scores, weights)[..., None]
        d_scores *= weights
        if needs[0]:
            d_query = xp.matmul(d_scores, key)
            d_query *= scale
        if needs[1]:
            d_key = xp.matmul(xp.swapaxes(d_scores, -1, -2), query)
            d_key *= scale
    return d_query, d_key, d_value


@formula(_backward_arrays)
def attention_backward(grad_output, query, key, value, weights, drop, bias, dead, scale, needs):
    """(dQ, dK, dV) of :class:`Attention` on Tensors: derived from :func:`attention_weights`."""
    def output(q, k, v):
        return attention_weights(q, k, drop, bias, dead, scale).matmul(v)

    return fm.derived_vjp(output, grad_output, (query, key, value), needs)


class Attention(Primitive):
    """O = softmax(scale Q K^T + B, masked) V as one node (see the module docstring).

    Forward arguments: query (..., L, E), key (..., S, E), value (..., S, E_v), all with the
    same leading axes; drop, bias, dead and scale as in :func:`attention_weights` (constants
    here).
    """

    @staticmethod
    def forward(ctx, query, key, value, drop, bias, dead, scale):
        weights = _weights(query, key, drop, bias, dead, scale)
        ctx.masks = drop, bias, dead, scale
        ctx.save_for_backward(query, key, value, weights)
        return backend.namespace(weights).matmul(weights, value)

    @staticmethod
    def backward(ctx, grad_output, query, key, value, weights):
        grads = fm.attention_backward(grad_output, query, key, value, weights, *ctx.masks,
                                      ctx.needs_input_grad)
        return grads + (None, None, None, None)


def attention(query, key, value, drop=None, bias=None, dead=None, scale=1.0):
    """softmax(scale Q K^T + B, masked) V as one graph node (no argument checks).

    Args: value (..., S, E_v) with the leading axes of query and key; the others as in
    :func:`attention_weights`, except that ``bias`` must be a constant here (an array).

    Example:
        >>> q = cr.randn(2, 5, 4)
        >>> attention(q, q, q, scale=0.5).shape
        (2, 5, 4)
    """
    return Attention.apply(query, key, value, drop, bias, dead, scale)
