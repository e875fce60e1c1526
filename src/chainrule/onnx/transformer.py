"""Converters of the Transformer layers and stacks (without masks), composed of the converters
of their parts in the order of their ``forward``.

Encoder layer, post-norm: x = norm1(x + SA(x)); x = norm2(x + FF(x)); pre-norm
(``norm_first``): x = x + SA(norm1(x)); x = x + FF(norm2(x)). A decoder layer adds
cross-attention CA(x, memory) between the two. FF(x) = W_2 act(W_1 x + b_1) + b_2; the dropouts
are the identity in evaluation.
"""

from __future__ import annotations

from chainrule import nn
from chainrule.nn import functional as F
from chainrule.onnx.activations import gelu
from chainrule.onnx.attention import multihead_attention
from chainrule.onnx.registry import UnsupportedModuleError, register
from chainrule.onnx.value import Value


def _add(g, a: Value, b: Value) -> Value:
    return Value(g.op("Add", a, b), a.tensor + b.tensor)


def _attend(g, attention, x: Value, memory: Value) -> Value:
    """attention(x, memory, memory)'s output, without weights."""
    name, _ = multihead_attention(g, attention, x, memory, memory, need_weights=False)
    return Value(name, attention(x.tensor, memory.tensor, memory.tensor, need_weights=False)[0])


def _activation(g, layer, h: Value) -> Value:
    act = layer.activation
    if act is F.relu:
        return Value(g.op("Relu", h), F.relu(h.tensor))
    if act is F.gelu:
        return Value(gelu(g, h), F.gelu(h.tensor))
    if isinstance(act, nn.Module):
        return g.call(act, h)
    raise UnsupportedModuleError(f"onnx.export: {type(layer).__name__} with the activation "
                                 f"function {act!r} has no ONNX conversion (use F.relu, F.gelu "
                                 "or a module)")


def _feed_forward(g, layer, x: Value) -> Value:
    return g.call(layer.linear2, _activation(g, layer, g.call(layer.linear1, x)))


def _layer(g, layer, x: Value, memory: Value | None) -> str:
    """The sub-blocks of an encoder (memory None) or decoder layer, with their norms."""
    blocks = [lambda v: _attend(g, layer.self_attn, v, v)]
    if memory is not None:
        blocks.append(lambda v: _attend(g, layer.multihead_attn, v, memory))
    blocks.append(lambda v: _feed_forward(g, layer, v))
    for i, block in enumerate(blocks, 1):
        norm = getattr(layer, f"norm{i}")
        if layer.norm_first:
            x = _add(g, x, block(g.call(norm, x)))
        else:
            x = g.call(norm, _add(g, x, block(x)))
    return x.name


@register(nn.TransformerEncoderLayer)
def encoder_layer(g, module, src):
    """Self-attention and feed-forward blocks, each with its residual and LayerNorm."""
    return _layer(g, module, src, None)


@register(nn.TransformerDecoderLayer)
def decoder_layer(g, module, tgt, memory):
    """Self-attention, cross-attention to ``memory`` and feed-forward blocks."""
    return _layer(g, module, tgt, memory)


def _stack(g, module, x: Value, memory: Value | None) -> str:
    for layer in module.layers:
        x = g.call(layer, x) if memory is None else g.call(layer, x, memory)
    return g.call(module.norm, x).name if module.norm is not None else x.name


@register(nn.TransformerEncoder)
def encoder(g, module, src):
    """The encoder layers in turn, then the final norm if any."""
    return _stack(g, module, src, None)


@register(nn.TransformerDecoder)
def decoder(g, module, tgt, memory):
    """The decoder layers in turn on ``tgt`` with the same ``memory``, then the final norm."""
    return _stack(g, module, tgt, memory)


@register(nn.Transformer)
def transformer(g, module, src, tgt):
    """memory = encoder(src); output = decoder(tgt, memory)."""
    return g.call(module.decoder, tgt, g.call(module.encoder, src)).name
