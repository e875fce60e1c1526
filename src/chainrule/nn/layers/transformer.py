"""The Transformer of "Attention Is All You Need": encoder and decoder layers, their stacks,
and the full encoder-decoder model, with PyTorch's names so ``state_dict``s transfer.

An encoder layer is x -> x + SelfAttention(x) -> x + FFN(x), FFN(x) = W_2 act(W_1 x + b_1) + b_2,
each sub-block followed by LayerNorm (post-norm, the paper's) or preceded by it
(``norm_first=True``, pre-norm). A decoder layer adds cross-attention to the encoder's output
(``memory``) between its self-attention and its feed-forward block.
"""

from __future__ import annotations

import copy

import numpy as np

from chainrule import backend, creation
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.containers import ModuleList
from chainrule.nn.layers.attention import MultiheadAttention
from chainrule.nn.layers.dropout import Dropout
from chainrule.nn.layers.linear import Linear
from chainrule.nn.layers.normalization import LayerNorm
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


def _activation(activation):
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


class _Layer(Module):
    """What encoder and decoder layers share: the feed-forward block and the norms."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                 batch_first, norm_first, bias, device, dtype, norms):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, device=device, dtype=dtype)
        if norms == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, device=device,
                                                     dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)
        if device is not None:
            self.to(device)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x, drop):
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward network, each with a residual connection and LayerNorm.

    Post-norm (default): x = norm1(x + SA(x)); x = norm2(x + FF(x)).
    Pre-norm (``norm_first``): x = x + SA(norm1(x)); x = x + FF(norm2(x)).
    SA(x) = dropout1(MultiheadAttention(x, x, x)), FF(x) = dropout2(W_2 dropout(act(W_1 x + b_1))
    + b_2).

    Args:
        d_model: E, the size of each position's vector.
        nhead: the number of attention heads (a divisor of E).
        dim_feedforward: the hidden size of the feed-forward network.
        dropout: the dropout probability everywhere (attention weights included).
        activation: ``"relu"``, ``"gelu"`` or a callable (a function or a Module).
        layer_norm_eps: the eps of the LayerNorms.
        batch_first: (N, L, E) inputs and outputs rather than (L, N, E).
        norm_first: pre-norm (LayerNorm before each sub-block) rather than post-norm.
        bias: learn the biases of the linear layers and LayerNorms.
        device: where the parameters live.
        dtype: parameter dtype.

    Example:
        >>> layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32,
        ...                                    batch_first=True)
        >>> layer(cr.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, device, dtype, norms=2)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """Encode ``src``; the masks are MultiheadAttention's ``attn_mask`` and
        ``key_padding_mask`` (True or -inf excludes), ``is_causal`` its hint."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """Self-attention, cross-attention to ``memory`` and a feed-forward network.

    Post-norm: x = norm1(x + SA(x)); x = norm2(x + CA(x, m)); x = norm3(x + FF(x)).
    Pre-norm: x = x + SA(norm1(x)); x = x + CA(norm2(x), m); x = x + FF(norm3(x)).
    CA(x, m) = dropout2(MultiheadAttention(x, m, m)) (``multihead_attn``); FF ends in dropout3.
    The arguments are :class:`TransformerEncoderLayer`'s.

    Example:
        >>> layer = nn.TransformerDecoderLayer(16, 4, 32, batch_first=True)
        >>> layer(cr.randn(2, 5, 16), cr.randn(2, 7, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, device, dtype, norms=3)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """Decode ``tgt`` attending to ``memory``; ``tgt_*`` masks go to the self-attention,
        ``memory_*`` masks to the cross-attention."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x, self.dropout3))

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)


def _clones(layer, num_layers):
    """``num_layers`` independent deep copies of ``layer``."""
    def clone():
        # NOTE: the parameters are copied here, dtype and device kept, rather than by
        # deepcopy's pickling path, which rebuilds a Parameter from a bare array.
        memo = {id(p): Parameter(p.detach().clone(), p.requires_grad)
                for p in layer.parameters()}
        return copy.deepcopy(layer, memo)

    return ModuleList([clone() for _ in range(num_layers)])


def _is_causal(mask, is_causal, size):
    """PyTorch's detection: ``is_causal`` if given, else whether ``mask`` is the causal mask."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    raw = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    causal = Transformer.generate_square_subsequent_mask(size).data
    return raw.shape == causal.shape and bool((raw == causal).all())


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of an encoder layer, then an optional final ``norm``.

    Args:
        encoder_layer: a :class:`TransformerEncoderLayer` (deep-copied into ``layers``).
        num_layers: the number of layers.
        norm: a final normalisation module (a LayerNorm for pre-norm stacks), or None.
        enable_nested_tensor: accepted for compatibility; chainrule has no nested tensors and
            always computes padded positions (PyTorch's inference fast path returns 0 there).
        mask_check: accepted for compatibility.

    Example:
        >>> enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32), num_layers=2)
        >>> enc(cr.randn(5, 2, 16)).shape
        (5, 2, 16)
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Run every layer with ``src_mask=mask`` and the same key padding mask."""
        first = self.layers[0] if len(self.layers) else None
        if first is not None:
            seq_axis = 1 if first.self_attn.batch_first and src.ndim == 3 else 0
            is_causal = _is_causal(mask, is_causal, src.shape[seq_axis])
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        return self.norm(output) if self.norm is not None else output


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of a decoder layer, then an optional final ``norm``.

    Example:
        >>> dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(16, 4, 32), num_layers=2)
        >>> dec(cr.randn(5, 2, 16), cr.randn(7, 2, 16)).shape
        (5, 2, 16)
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """Run every layer on ``tgt`` with the same ``memory`` and masks."""
        if len(self.layers):
            seq_axis = 1 if self.layers[0].self_attn.batch_first and tgt.ndim == 3 else 0
            tgt_is_causal = _is_causal(tgt_mask, tgt_is_causal, tgt.shape[seq_axis])
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self.norm(output) if self.norm is not None else output


class Transformer(Module):
    """The encoder-decoder Transformer: memory = encoder(src); output = decoder(tgt, memory).

    Every parameter with more than one dimension is re-initialised ``xavier_uniform_``, as in
    PyTorch. The arguments are :class:`TransformerEncoderLayer`'s, plus the numbers of encoder
    and decoder layers and ``custom_encoder`` / ``custom_decoder`` modules to use instead.
    The output has no final projection: add one (to a vocabulary, say) after it.

    Shape:
        src (S, N, E), tgt (T, N, E) (batch first: (N, S, E), (N, T, E)) -> output like tgt.

    Example:
        >>> model = nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2,
        ...                        num_decoder_layers=2, dim_feedforward=32)
        >>> tgt_mask = nn.Transformer.generate_square_subsequent_mask(5)
        >>> model(cr.randn(7, 2, 16), cr.randn(5, 2, 16), tgt_mask=tgt_mask).shape
        (5, 2, 16)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias, device, dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*args), num_encoder_layers,
                                              self._norm(d_model, layer_norm_eps, bias, device,
                                                         dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*args), num_decoder_layers,
                                              self._norm(d_model, layer_norm_eps, bias, device,
                                                         dtype))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    @staticmethod
    def _norm(d_model, eps, bias, device, dtype):
        norm = LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
        return norm.to(device) if device is not None else norm

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        """Encode ``src`` and decode ``tgt``; the masks go to the matching attention layers."""
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, "
                               f"got src {src.shape} and tgt {tgt.shape} "
                               f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal "
                               f"to d_model={self.d_model}, got src {src.shape} and tgt "
                               f"{tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) causal mask: 0 on and below the diagonal, -inf above it.

        Added to the scores, it keeps position i from attending to positions j > i.

        Example:
            >>> nn.Transformer.generate_square_subsequent_mask(3)
            tensor([[  0., -inf, -inf],
                    [  0.,   0., -inf],
                    [  0.,   0.,   0.]])
        """
        dtype = np.dtype(dtype if dtype is not None else backend.DEFAULT_FLOAT)
        mask = np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)
        out = creation.from_numpy(mask)
        return out.to(device) if device is not None else out
