"""Scaled dot-product attention, the core of the Transformer, composed of differentiable ops.

Attention(Q, K, V) = softmax(Q K^T * scale + M) V, with scale = 1 / sqrt(d_k) by default and
M the mask: 0 where a query may attend to a key and -inf where it may not. It is built from
``matmul``, ``masked_fill``, ``softmax`` and ``dropout``, so its gradient (and the gradient of
its gradient) comes from those ops' formulas. Import it from :mod:`chainrule.nn.functional`
(``F.scaled_dot_product_attention``); :class:`chainrule.nn.MultiheadAttention` calls
:func:`attention_with_weights`, which also returns the attention weights.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.creation import from_numpy
from chainrule.nn import functional as F
from chainrule.ops.attention import attention, attention_weights
from chainrule.tensor import Tensor

__all__ = ["scaled_dot_product_attention"]


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """Attention(Q, K, V) = softmax(Q K^T * scale + M) V over the last two axes.

    Each of the L query rows is compared with the S key rows; the softmax of the scores (each
    row sums to 1) weighs the S value rows. Leading axes (batch, heads, ...) broadcast.

    Masks follow PyTorch: a boolean ``attn_mask`` says which keys each query *may* attend to
    (True = take part, M = 0; False: M = -inf); a float ``attn_mask`` is added to the scores
    as M; ``is_causal`` uses the lower-triangular boolean mask ``tril(ones(L, S))`` (query i
    sees keys 0..i). A query row whose keys are all masked gets weights 0 and output 0 (and no
    gradient), as PyTorch's ``scaled_dot_product_attention`` gives, rather than the NaN of a
    plain softmax of -inf everywhere.

    Args:
        query: Q, (N, ..., L, E).
        key: K, (N, ..., S, E).
        value: V, (N, ..., S, Ev).
        attn_mask: None, or a boolean or float tensor broadcastable to (N, ..., L, S).
        dropout_p: the probability of zeroing each attention weight (after the softmax,
            rescaling the rest by 1/(1 - p)). Applied whenever it is positive: pass 0.0 in
            evaluation, as with PyTorch.
        is_causal: mask the keys after each query (top-left aligned when L != S); an error
            together with ``attn_mask``.
        scale: the factor of Q K^T; default 1 / sqrt(E).
        enable_gqa: grouped-query attention: the H_q query heads (axis -3) share the H_k key
            and value heads in groups of H_q / H_k (query head h uses key head h // (H_q / H_k)).

    Returns:
        (N, ..., L, Ev) tensor.

    Example:
        >>> q, k, v = cr.randn(2, 4, 5, 8), cr.randn(2, 4, 7, 8), cr.randn(2, 4, 7, 3)
        >>> F.scaled_dot_product_attention(q, k, v).shape
        (2, 4, 5, 3)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 5, 8)
    """
    output, _ = attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal,
                                       scale, enable_gqa, need_weights=False)
    return output


def attention_with_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                           scale=None, enable_gqa=False, name="scaled_dot_product_attention",
                           need_weights=True):
    """:func:`scaled_dot_product_attention` that returns ``(output, weights)``.

    ``weights`` = softmax(Q K^T * scale + M) (after dropout), of shape (N, ..., L, S): what
    ``MultiheadAttention`` returns with ``need_weights=True``. ``name`` prefixes the error
    messages. With ``need_weights=False`` the weights are None and, without dropout, the
    attention is one graph node (:func:`chainrule.ops.attention.attention`), which keeps only
    the weights for backward.
    """
    _check_operands(name, query, key, value)
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{name}: explicit attn_mask should not be set when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa:
        key, value = _repeat_heads(name, query, key), _repeat_heads(name, query, value)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    length, source = query.shape[-2], key.shape[-2]
    if is_causal:
        attn_mask = np.tri(length, source, dtype=bool)
    drop, bias, dead = _masks(name, attn_mask, query, key)
    leading = query.shape[:-2]
    if not need_weights and dropout_p == 0.0 and leading == key.shape[:-2] == value.shape[:-2] \
            and not (isinstance(bias, Tensor) and bias.requires_grad):
        # NOTE: the masks go in as Tensors made here, beside attn_mask: under cr.compile a mask
        # computed from an argument is then seen as such (the call runs eagerly) instead of
        # being written into the tape as a constant.
        drop = None if drop is None else from_numpy(drop)
        dead = None if dead is None else from_numpy(dead)
        return attention(query, key, value, drop, _array(bias), dead, scale), None
    weights = attention_weights(query, key, drop, bias, dead, scale)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    return weights.matmul(value), (weights if need_weights else None)


def _masks(name, attn_mask, query, key):
    """(drop, bias, dead) of :func:`chainrule.ops.attention.attention_weights` from a boolean
    (True: attend) or additive float mask, checked against the scores' shape (..., L, S)."""
    if attn_mask is None:
        return None, None, None
    mask = mask_array(attn_mask, query.data)
    scores = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + \
        (query.shape[-2], key.shape[-2])
    try:
        shape = np.broadcast_shapes(mask.shape, scores)
    except ValueError:
        shape = None
    if shape != scores:
        raise ValueError(f"{name}: attn_mask of shape {tuple(mask.shape)} does not "
                         f"broadcast to the scores' shape {scores} (N, ..., L, S) for "
                         f"query {query.shape} and key {key.shape}")
    if mask.dtype == np.bool_:
        drop, bias, dead = ~mask, None, ~mask.any(axis=-1, keepdims=True)
    elif mask.dtype.kind == "f":
        drop, dead = None, np.isneginf(mask).all(axis=-1, keepdims=True)
        bias = attn_mask if isinstance(attn_mask, Tensor) else from_numpy(mask)
        bias = bias if bias.dtype == query.dtype else bias.to(query.dtype)
    else:
        raise TypeError(f"{name}: attn_mask must be boolean or floating, got dtype "
                        f"{mask.dtype} (query dtype {query.dtype})")
    # NOTE: a row of -inf scores only would give 0/0 = NaN in the softmax, and NaN in every
    # gradient behind it; such rows output 0 and pass no gradient (PyTorch's "safe softmax").
    return drop, bias, (dead if dead.any() else None)


def _array(bias):
    """The array of an additive mask (a Tensor that needs no gradient), or None."""
    return None if bias is None else bias.data


def _check_operands(name, query, key, value):
    for label, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ValueError(f"{name}: {label} must have at least 2 dims (..., length, "
                             f"features), got shape {t.shape}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"{name}: query, key and value must have the same dtype, got "
                        f"{query.dtype}, {key.dtype} and {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"{name}: query and key must have the same last dim E, got query "
                         f"{query.shape} and key {key.shape}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{name}: key and value must have the same length S (dim -2), got "
                         f"key {key.shape} and value {value.shape}")


def mask_array(mask, like):
    """The array of ``mask`` (a Tensor or array-like) on the device of the array ``like``."""
    array = mask.data if isinstance(mask, Tensor) else mask
    if not backend.is_gpu_array(array):
        array = np.asarray(array)
    return backend.to_device(array, backend.device_of(like))


def _repeat_heads(name, query, kv):
    """(..., H_k, S, E) -> (..., H_q, S, E), each key/value head repeated H_q / H_k times."""
    if query.ndim < 3 or kv.ndim < 3:
        raise ValueError(f"{name}: enable_gqa needs (..., heads, length, features) inputs, got "
                         f"query {query.shape} and key/value {kv.shape}")
    heads, kv_heads = query.shape[-3], kv.shape[-3]
    if heads == kv_heads:
        return kv
    if heads % kv_heads:
        raise ValueError(f"{name}: with enable_gqa the query heads ({heads}) must be a "
                         f"multiple of the key/value heads ({kv_heads}); query {query.shape}, "
                         f"key/value {kv.shape}")
    lead, tail = kv.shape[:-3], kv.shape[-2:]
    grouped = kv.reshape(lead + (kv_heads, 1) + tail)
    grouped = grouped.broadcast_to(lead + (kv_heads, heads // kv_heads) + tail)
    return grouped.reshape(lead + (heads,) + tail)
