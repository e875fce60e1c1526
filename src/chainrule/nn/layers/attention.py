"""`MultiheadAttention`: h attention heads over learned projections of queries, keys, values.

MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, with
head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V) = softmax(Q W_i^Q (K W_i^K)^T / sqrt(d_k) + M) V W_i^V
and d_k = embed_dim / h. The layer is PyTorch's ``torch.nn.MultiheadAttention``: the same
arguments, parameter names and layouts (a PyTorch ``state_dict`` loads into it), and the same
mask conventions.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend, creation
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.checks import check_dtype
from chainrule.nn.functional_attention import attention_with_weights, mask_array
from chainrule.nn.layers.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.movement import cat, pad
from chainrule.tensor import Tensor


class MultiheadAttention(Module):
    """Multi-head attention: MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O.

    head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(d_k) + M) V W_i^V with d_k = embed_dim / h.
    The h projections W_i^Q (and likewise W_i^K, W_i^V) are the row blocks of one
    (embed_dim, embed_dim) matrix, stacked as ``in_proj_weight`` = [W^Q; W^K; W^V].

    Masks use PyTorch's conventions for this layer, the opposite of
    ``F.scaled_dot_product_attention``'s for booleans: in ``key_padding_mask`` and
    ``attn_mask`` a True entry is *excluded* (M = -inf); a float mask is added to the scores.
    When both are given they are combined (a key excluded by either is excluded). A query
    whose keys are all excluded gets output ``out_proj.bias`` and weights 0 (PyTorch gives
    the same output with ``need_weights=False`` but NaN with ``need_weights=True``).

    Args:
        embed_dim: E, the size of queries and outputs; a multiple of ``num_heads``.
        num_heads: h, the number of heads, each of size E / h.
        dropout: the probability of dropping an attention weight (training mode only).
        bias: learn ``in_proj_bias`` and ``out_proj.bias`` (initialised to 0).
        add_bias_kv: learn ``bias_k`` and ``bias_v``, (1, 1, E) each, appended to the projected
            keys and values as one more key every query may attend to.
        add_zero_attn: append a key and a value of zeros (per head) after the projections.
        kdim: the size of keys (default E); with ``vdim``, when not E the projections are the
            separate ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight``
            (E, vdim), and ``in_proj_weight`` is None.
        vdim: the size of values (default E).
        batch_first: inputs and outputs are (N, L, E) rather than (L, N, E).
        device: where the parameters live.
        dtype: parameter dtype.

    Shape:
        query (L, N, E) or (N, L, E) with ``batch_first``, or (L, E) unbatched; key (S, N, kdim);
        value (S, N, vdim); key_padding_mask (N, S) or (S,); attn_mask (L, S) or
        (N * h, L, S). Output (L, N, E) (or (N, L, E), or (L, E)); weights (N, L, S) averaged
        over heads, (N, h, L, S) per head, (L, S) or (h, L, S) unbatched.

    Attributes:
        in_proj_weight: (3E, E), ``xavier_uniform_``; in_proj_bias: (3E,), zeros.
        out_proj: a :class:`Linear` (E, E) holding W^O and its bias (zeros).

    Example:
        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = cr.randn(2, 5, 16)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        ((2, 5, 16), (2, 5, 5))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                             f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible "
                             f"by num_heads ({num_heads})")
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = self.embed_dim // self.num_heads

        def empty(*shape):
            return Parameter(creation.empty(*shape, dtype=dtype, device=device))

        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * e, e)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(e, e)
            self.k_proj_weight = empty(e, self.kdim)
            self.v_proj_weight = empty(e, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * e)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dtype)
        if device is not None:
            self.out_proj.to(device)
        if add_bias_kv:
            self.bias_k, self.bias_v = empty(1, 1, e), empty(1, 1, e)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's initialisation: Xavier-uniform projections, zero biases, N(0, 2/(1+E))
        for ``bias_k`` and ``bias_v`` (``xavier_normal_``)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``; returns (output, weights or None).

        Args:
            query, key, value: see Shape in the class docstring.
            key_padding_mask: (N, S) (or (S,)); True (or -inf) marks a key to ignore.
            need_weights: also return the attention weights.
            attn_mask: (L, S) or (N * num_heads, L, S); True (or -inf) excludes a pair.
            average_attn_weights: average the returned weights over the heads.
            is_causal: a hint that ``attn_mask`` is the causal mask (it must be given); when
                there is no ``key_padding_mask`` and ``need_weights`` is False the causal
                mask is applied in its place, as PyTorch does.

        Returns:
            ``(attn_output, attn_output_weights)``, the weights None unless ``need_weights``.
        """
        same_qk, same_kv = query is key, key is value
        batched = self._check(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: need attn_mask if specifying the is_causal "
                               "hint; nn.Transformer.generate_square_subsequent_mask(L) makes "
                               "the causal one")
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, length = query.shape[0], query.shape[1]
        q, k, v = self._project(query, key, value, same_qk, same_kv)
        causal = is_causal and key_padding_mask is None and not need_weights
        mask = None if causal else _merge_masks(attn_mask, key_padding_mask, n,
                                                self.num_heads, q)
        extra = []
        if self.bias_k is not None:
            extra.append((self.bias_k.broadcast_to((n, 1, self.embed_dim)),
                          self.bias_v.broadcast_to((n, 1, self.embed_dim))))
        if self.add_zero_attn:
            zeros = creation.zeros(n, 1, self.embed_dim, dtype=q.dtype, device=q.device)
            extra.append((zeros, zeros))
        if extra:
            k = cat([k] + [pair[0] for pair in extra], dim=1)
            v = cat([v] + [pair[1] for pair in extra], dim=1)
            mask = _pad_mask(mask, len(extra))
        q, k, v = (self._heads(t) for t in (q, k, v))
        p = self.dropout if self.training else 0.0
        out, weights = attention_with_weights(q, k, v, mask, p, causal,
                                              name=type(self).__name__,
                                              need_weights=need_weights)
        out = out.transpose(1, 2).reshape(n, length, self.embed_dim)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias)
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        return out, (weights if batched else weights.squeeze(0))

    def _heads(self, t):
        """(N, S, E) -> (N, h, S, E / h)."""
        n, s = t.shape[0], t.shape[1]
        return t.reshape(n, s, self.num_heads, self.head_dim).transpose(1, 2)

    def _project(self, query, key, value, same_qk, same_kv):
        """Q W^Q + b^Q, K W^K + b^K, V W^V + b^V (one product when query is key is value)."""
        e, b = self.embed_dim, self.in_proj_bias
        biases = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if not self._qkv_same_embed_dim:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
            return tuple(F.linear(x, w, bias) for x, w, bias in
                         zip((query, key, value), weights, biases))
        w = self.in_proj_weight
        if same_qk and same_kv:
            return F.linear(query, w, b).chunk(3, dim=-1)
        q = F.linear(query, w[:e], biases[0])
        if same_kv:
            kv_bias = None if b is None else b[e:]
            return (q,) + tuple(F.linear(key, w[e:], kv_bias).chunk(2, dim=-1))
        return (q, F.linear(key, w[e:2 * e], biases[1]), F.linear(value, w[2 * e:], biases[2]))

    def _check(self, query, key, value, key_padding_mask, attn_mask) -> bool:
        """Check the shapes against the layer (naming it); True when the input is batched."""
        name = (f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}"
                + ("" if self._qkv_same_embed_dim else f", kdim={self.kdim}, vdim={self.vdim}")
                + ")")
        shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: expected 3-D (batched) or 2-D (unbatched) query, key "
                             f"and value of the same rank, got {shapes}")
        batched = query.ndim == 3
        for label, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                               ("value", value, self.vdim)):
            if t.shape[-1] != size:
                raise ValueError(f"{name}: {label} has {t.shape[-1]} features, expected {size}; "
                                 f"{shapes}")
            check_dtype(name, t, self.out_proj.weight, input_name=label)
        batch_axis = (0 if self.batch_first else 1) if batched else None
        seq_axis = 0 if not batched else (1 if self.batch_first else 0)
        n = query.shape[batch_axis] if batched else 1
        if batched and not n == key.shape[batch_axis] == value.shape[batch_axis]:
            raise ValueError(f"{name}: query, key and value must have the same batch size "
                             f"(batch_first={self.batch_first}), got {shapes}")
        length, source = query.shape[seq_axis], key.shape[seq_axis]
        if value.shape[seq_axis] != source:
            raise ValueError(f"{name}: key and value must have the same length, got {shapes}")
        if key_padding_mask is not None:
            want = (n, source) if batched else (source,)
            if tuple(key_padding_mask.shape) != want:
                raise ValueError(f"{name}: key_padding_mask must have shape {want} (N, S), got "
                                 f"{tuple(key_padding_mask.shape)} for {shapes}")
        if attn_mask is not None:
            wants = [(length, source), (n * self.num_heads, length, source)]
            if tuple(attn_mask.shape) not in wants:
                raise ValueError(f"{name}: attn_mask must have shape {wants[0]} (L, S) or "
                                 f"{wants[1]} (N * num_heads, L, S), got "
                                 f"{tuple(attn_mask.shape)} for {shapes}")
        return batched

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
        if not self._qkv_same_embed_dim:
            s += f", kdim={self.kdim}, vdim={self.vdim}"
        return s + f", batch_first={self.batch_first}"


def _merge_masks(attn_mask, key_padding_mask, n, heads, like):
    """One mask in ``scaled_dot_product_attention``'s convention, broadcastable to (N, h, L, S),
    on the device and (when float) of the dtype of the tensor ``like``.

    Both boolean: a boolean "may attend" mask, the AND of the two negated masks. Otherwise the
    sum of the float masks, a boolean one becoming 0 (attend) / -inf (excluded).
    """
    masks = []
    if attn_mask is not None:
        if attn_mask.ndim == 3:
            attn_mask = attn_mask.reshape(n, heads, *attn_mask.shape[1:])
        masks.append(attn_mask)
    if key_padding_mask is not None:
        masks.append(key_padding_mask.reshape(n, 1, 1, key_padding_mask.shape[-1]))
    if not masks:
        return None
    raws = [mask_array(m, like.data) for m in masks]
    if all(raw.dtype == np.bool_ for raw in raws):
        keep = ~raws[0]
        for raw in raws[1:]:
            keep = keep & ~raw
        return keep
    total = None
    for m, raw in zip(masks, raws):
        if raw.dtype == np.bool_:
            m = creation.from_numpy(backend.namespace(raw).where(raw, -math.inf, 0.0))
        elif not isinstance(m, Tensor):
            m = creation.from_numpy(raw)
        m = m if m.dtype == like.dtype else m.to(like.dtype)
        total = m if total is None else total + m
    return total


def _pad_mask(mask, columns):
    """Let every query attend to ``columns`` keys appended after the others."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        return pad(mask, (0, columns))
    xp = backend.namespace(mask)
    return xp.concatenate([mask, xp.ones(mask.shape[:-1] + (columns,), dtype=bool)], axis=-1)
