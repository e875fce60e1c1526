"""Converters of the basic layers: containers, Linear, reshapes, Dropout, embeddings.

Shapes never hold the batch size: Reshape copies leading axes with 0 and takes the others from
the input's run-time shape, so a graph exported with one batch size runs with any other.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.nn.layers.positional import LearnedPositionalEmbedding, PositionalEncoding
from chainrule.onnx.registry import UnsupportedModuleError, register


@register(nn.Sequential)
def sequential(g, module, x):
    """Sequential(f_1, ..., f_k)(x) = f_k(... f_1(x)): each child converted in turn."""
    for child in module:
        x = g.call(child, x)
    return x.name


@register(nn.Identity, nn.Dropout)
def identity(g, module, x):
    """Identity, and Dropout in evaluation mode: y = x (no node)."""
    return x.name


@register(nn.Linear)
def linear(g, module, x):
    """y = x W^T + b: Gemm (transB=1) for (N, in) inputs, else MatMul by W^T then Add b."""
    bias = None if module.bias is None else g.param(module.bias)
    if x.ndim == 2:
        return g.op("Gemm", x, g.param(module.weight), bias, transB=1)
    y = g.op("MatMul", x, g.param(module.weight, np.transpose, "T"))
    return y if bias is None else g.op("Add", y, bias)


def shape_slice(g, x, start: int, end: int | None = None) -> str:
    """Shape(x)[start:end] at run time (1-D int64)."""
    end = x.ndim if end is None else end
    return g.op("Slice", g.op("Shape", x), g.ints([start]), g.ints([end]), g.ints([0]))


def reshape_axes(g, x, start: int, end: int, sizes) -> str:
    """Reshape axes start..end (inclusive) of ``x`` to ``sizes``, the others kept as they are."""
    if end == x.ndim - 1:
        target = g.ints([0] * start + list(sizes))  # 0: copy the input's size on that axis
    else:
        parts = [g.ints([0] * start + list(sizes)), shape_slice(g, x, end + 1)]
        target = g.op("Concat", *parts, axis=0)
    return g.op("Reshape", x, target)


@register(nn.Flatten)
def flatten(g, module, x):
    """Merge axes start_dim..end_dim into one: Reshape with -1 in their place."""
    if x.ndim == 0:
        return g.op("Reshape", x, g.ints([1]))
    start, end = module.start_dim % x.ndim, module.end_dim % x.ndim
    if start >= end:
        return x.name
    return reshape_axes(g, x, start, end, [-1])


@register(nn.Unflatten)
def unflatten(g, module, x):
    """Split axis ``dim`` into ``unflattened_size``: Reshape."""
    dim = module.dim % x.ndim
    return reshape_axes(g, x, dim, dim, module.unflattened_size)


@register(nn.Embedding)
def embedding(g, module, x):
    """y[..., :] = W[x[...], :]: Gather of the rows of W (``padding_idx`` changes nothing at
    inference)."""
    if module.max_norm is not None:
        raise UnsupportedModuleError("onnx.export: Embedding with max_norm (the rows are "
                                     "renormalised in place at lookup) has no ONNX conversion")
    return g.op("Gather", g.param(module.weight), x, axis=0)


def _add_positions(g, x, table: str, batch_first: bool):
    """x + P[0 : L], L the length of the sequence axis of x at run time."""
    axis = 1 if x.ndim == 3 and batch_first else 0
    rows = g.op("Slice", table, g.ints([0]), g.dim(x, axis), g.ints([0]))
    if x.ndim == 3 and axis == 0:
        rows = g.op("Unsqueeze", rows, g.ints([1]))
    return g.op("Add", x, rows)


@register(LearnedPositionalEmbedding)
def learned_positional_embedding(g, module, x):
    """y = x + W[0 : L] (a Slice of W as long as the input, so L may vary at run time)."""
    return _add_positions(g, x, g.param(module.weight), module.batch_first)


@register(PositionalEncoding)
def positional_encoding(g, module, x):
    """y = x + PE[0 : L] with the fixed sinusoidal table (its dropout is the identity)."""
    table = g.param(module.pe, lambda a: a.astype(x.dtype), str(x.dtype))
    return _add_positions(g, x, table, module.batch_first)
