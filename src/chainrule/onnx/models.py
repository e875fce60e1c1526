"""Converters of the ready-made models of :mod:`chainrule.models`, in the order of their forward.

Models that are a Sequential (``MLP``) need nothing here; the others compose the converters of
their layers as their ``forward`` composes the layers:

- ``LeNet``: classifier(features(x));
- ``Autoencoder``, ``ConvAutoencoder``: decoder(encoder(x));
- ``GAN``: generator(z) (its discriminator is an MLP, exported on its own);
- ``RNNClassifier``, ``RNNRegressor``: [embedding], recurrent layer, head on the last hidden
  state of the top layer (both directions side by side), or on every step (many-to-many);
- ``GPT``: token and position embeddings, the blocks, final LayerNorm, head; each ``Block``
  is x + Attn(LN_1(x)) with the causal mask, then x + MLP(LN_2(x));
- ``Perceptron`` (not a Module): o = 1 if w . x + b >= 0 else -1 (or 0), in float64 as it
  computes.
"""

from __future__ import annotations

import numpy as np

from chainrule.models.autoencoder import Autoencoder, ConvAutoencoder
from chainrule.models.gan import GAN
from chainrule.models.gpt import GPT, Block, causal_mask
from chainrule.models.lenet import LeNet
from chainrule.models.perceptron import Perceptron
from chainrule.models.rnn import RNNClassifier, RNNRegressor
from chainrule.onnx.attention import multihead_attention
from chainrule.onnx.registry import register
from chainrule.onnx.value import Value


@register(LeNet)
def lenet(g, module, x):
    """LeNet(x) = classifier(features(x))."""
    return g.call(module.classifier, g.call(module.features, x)).name


@register(Autoencoder, ConvAutoencoder)
def autoencoder(g, module, x):
    """x_hat = decoder(encoder(x))."""
    return g.call(module.decoder, g.call(module.encoder, x)).name


@register(GAN)
def gan(g, module, z):
    """G(z): the generator applied to noise z (N, latent_dim)."""
    return g.call(module.generator, z).name


@register(RNNClassifier, RNNRegressor)
def sequence_model(g, module, x):
    """head(h_T) from the top layer's final states (forward h_T beside backward h_1), or
    head(h_t) at every step for a many-to-many regressor (without ``lengths``: padded batches
    are not exported)."""
    embedded = g.call(module.embedding, x) if module.embedding is not None else x
    output, states = g.call(module.rnn, embedded)
    h_n = states[0] if isinstance(states, tuple) else states
    if getattr(module, "many_to_many", False):
        return g.call(module.head, output).name
    if module.rnn.bidirectional:  # h_n[-2:] (2, N, H) -> (N, 2, H) -> (N, 2H)
        top = g.op("Slice", h_n, g.ints([-2]), g.ints([np.iinfo(np.int64).max]), g.ints([0]))
        last = g.op("Reshape", g.op("Transpose", top, perm=[1, 0, 2]), g.ints([0, -1]))
    else:
        last = g.op("Gather", h_n, g.const(np.array(-1, dtype=np.int64), "last"), axis=0)
    _, reference = module._encode(x.tensor, None)
    return g.call(module.head, Value(last, reference)).name


def _causal_mask(g, x) -> str:
    """The (T, T) additive mask of future positions, -inf above the diagonal and 0 elsewhere,
    for the run-time length T of the sequences x (N, T, d)."""
    length = g.dim(x, 1)
    full = g.fill(g.op("Concat", length, length, axis=0), -np.inf, x.dtype)
    return g.op("Trilu", full, g.const(np.array(1, dtype=np.int64), "one"), upper=1)


@register(Block)
def block(g, module, x):
    """x + Attn(LN_1(x)) with the causal mask, then x + MLP(LN_2(x)); no attention weights."""
    h = g.call(module.ln_1, x)
    attended, _ = multihead_attention(g, module.attn, h, h, h, mask=_causal_mask(g, x),
                                      need_weights=False)
    mask = causal_mask(x.shape[1])
    reference, _ = module.attn(h.tensor, h.tensor, h.tensor, need_weights=False,
                               attn_mask=mask, is_causal=True)
    stream = Value(g.op("Add", x, attended), x.tensor + reference)
    return g.op("Add", stream, g.call(module.mlp, g.call(module.ln_2, stream))), None


@register(GPT)
def gpt(g, module, idx):
    """logits = LN_f(blocks(E[idx] + P[0:T])) E^T (the head), for (N, T) int64 tokens."""
    x = g.call(module.drop, g.call(module.wpe, g.call(module.wte, idx)))
    for layer in module.blocks:
        x, _ = g.call(layer, x)
    return g.call(module.lm_head, g.call(module.ln_f, x)).name


def _perceptron_output(perceptron, x):
    return perceptron.predict(x)


@register(Perceptron, reference=_perceptron_output)
def perceptron(g, model, x):
    """o = 1 if w . x + b >= 0 else -1 ("sign") or 0 ("step"), int64, computed in float64."""
    if not hasattr(model, "weight_"):
        raise ValueError("onnx.export: fit the Perceptron before exporting it")
    x64 = g.cast(x, np.float64)
    net = g.op("Add", g.op("MatMul", x64, g.const(model.weight_, "weight")),
               g.const(np.array(model.bias_, dtype=np.float64), "bias"))
    fires = g.op("GreaterOrEqual", net, g.const(np.array(0.0), "zero"))
    low = -1 if model.activation == "sign" else 0
    return g.op("Where", fires, g.const(np.array(1, dtype=np.int64), "one"),
                g.const(np.array(low, dtype=np.int64), "low"))
