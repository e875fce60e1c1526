"""MultiheadAttention composed of MatMul, Softmax, Reshape and Transpose nodes.

The default ONNX domain has no attention node at opset 17, so the layer is written out:

    Q = query W_Q^T + b_Q, K = key W_K^T + b_K, V = value W_V^T + b_V      (N, L, E)
    Q_h, K_h, V_h = the h heads: Reshape (N, L, h, E/h), Transpose (N, h, L, E/h)
    A = softmax((Q_h / sqrt(E/h)) K_h^T + M)                                (N, h, L, S)
    out = Concat_h(A V_h) W_O^T + b_O                                       (N, L, E)

with M an optional additive mask (0 or -inf). The attention weights the layer returns are A
averaged over the heads.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import nn
from chainrule.onnx.registry import UnsupportedModuleError, register


def _projections(g, module) -> list:
    """(W^T initializer, bias initializer or None) of the query, key and value projections."""
    e, pairs = module.embed_dim, []
    for k, what in enumerate("qkv"):
        if module.in_proj_weight is not None:
            w = g.param(module.in_proj_weight, lambda a, k=k: a[k * e:(k + 1) * e].T, f"{what}.T")
        else:
            w = g.param(getattr(module, f"{what}_proj_weight"), np.transpose, "T")
        b = None if module.in_proj_bias is None else \
            g.param(module.in_proj_bias, lambda a, k=k: a[k * e:(k + 1) * e], what)
        pairs.append((w, b))
    return pairs


def multihead_attention(g, module, query, key, value, mask=None, need_weights=True,
                        average_attn_weights=True):
    """The nodes of ``module(query, key, value)``; returns (output, weights or None) names.

    Args:
        query, key, value: Values in the layer's layout ((L, N, E), (N, L, E) with
            ``batch_first``, or unbatched (L, E)).
        mask: the name of an additive float mask broadcastable to (N, h, L, S), or None.
    """
    if module.bias_k is not None or module.add_zero_attn:
        raise UnsupportedModuleError("onnx.export: MultiheadAttention with add_bias_kv or "
                                     "add_zero_attn has no ONNX conversion")
    batched = query.ndim == 3
    layout = {}

    def batch_major(x):  # (N, L, E), converted once per distinct input
        if x.name not in layout:
            if not batched:
                layout[x.name] = g.op("Unsqueeze", x, g.ints([0]))
            elif not module.batch_first:
                layout[x.name] = g.op("Transpose", x, perm=[1, 0, 2])
            else:
                layout[x.name] = x.name
        return layout[x.name]

    heads, size = module.num_heads, module.head_dim
    projected = []
    for x, (w, b), perm in zip((query, key, value), _projections(g, module),
                               ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3])):
        y = g.op("MatMul", batch_major(x), w)
        y = y if b is None else g.op("Add", y, b)
        y = g.op("Reshape", y, g.ints([0, 0, heads, size]))
        projected.append(g.op("Transpose", y, perm=perm))  # K as (N, h, E/h, S)
    q, k_t, v = projected
    scores = g.op("MatMul", g.op("Mul", q, g.scalar(1.0 / math.sqrt(size), query)), k_t)
    if mask is not None:
        scores = g.op("Add", scores, mask)
    weights = g.op("Softmax", scores, axis=-1)
    out = g.op("Transpose", g.op("MatMul", weights, v), perm=[0, 2, 1, 3])
    out = g.op("Reshape", out, g.ints([0, 0, module.embed_dim]))
    out = g.op("MatMul", out, g.param(module.out_proj.weight, np.transpose, "T"))
    if module.out_proj.bias is not None:
        out = g.op("Add", out, g.param(module.out_proj.bias))
    if not batched:
        out = g.op("Squeeze", out, g.ints([0]))
    elif not module.batch_first:
        out = g.op("Transpose", out, perm=[1, 0, 2])
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = g.reduce_mean(weights, [1], keepdims=0)
    if not batched:
        weights = g.op("Squeeze", weights, g.ints([0]))
    return out, weights


@register(nn.MultiheadAttention)
def multihead_attention_module(g, module, query, key, value):
    """``mha(query, key, value)`` without masks: (output, weights averaged over the heads)."""
    return multihead_attention(g, module, query, key, value)
