"""Converters of RNN, LSTM and GRU (and their cells) to ONNX's own RNN, LSTM and GRU nodes.

ONNX reads sequences time-major (T, B, F) and stacks the gates in another order than PyTorch:

    LSTM  PyTorch [i, f, g, o]  ->  ONNX [i, o, f, c]   (c is PyTorch's g)
    GRU   PyTorch [r, z, n]     ->  ONNX [z, r, h]      with linear_before_reset=1, PyTorch's
                                                        n = tanh(W_in x + b_in + r (W_hn h + b_hn))

W, R and B of one node hold both directions, (D, gates * H, F), (D, gates * H, H) and
(D, 2 gates * H) (input biases, then recurrent ones). A stack of ``num_layers`` layers is a
stack of nodes; each node's output (T, D, B, H) becomes (T, B, D * H) for the next. Batch-first
sequences are transposed in and out. Dropout between layers is off in evaluation.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx.registry import register

_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN": (0,)}


def _op_type(module) -> str:
    if isinstance(module, (nn.LSTM, nn.LSTMCell)):
        return "LSTM"
    if isinstance(module, (nn.GRU, nn.GRUCell)):
        return "GRU"
    return "RNN"


def _reorder(array, op_type: str) -> np.ndarray:
    """Gate blocks along axis 0 from PyTorch's order to ONNX's."""
    blocks = np.split(array, len(_GATE_ORDER[op_type]), axis=0)
    return np.concatenate([blocks[k] for k in _GATE_ORDER[op_type]], axis=0)


def _node_weights(g, module, suffixes, op_type, hint) -> tuple:
    """The W, R, B initializers of one node from the parameters named ``*_{suffix}``."""
    def get(kind, suffix):
        tensor = getattr(module, kind + suffix, None)
        return None if tensor is None else _reorder(tensor.numpy(), op_type)

    w = np.stack([get("weight_ih", s) for s in suffixes])
    r = np.stack([get("weight_hh", s) for s in suffixes])
    biases = [(get("bias_ih", s), get("bias_hh", s)) for s in suffixes]
    names = (g.const(w, f"{hint}.W"), g.const(r, f"{hint}.R"))
    if biases[0][0] is None:
        return names + (None,)
    b = np.stack([np.concatenate(pair) for pair in biases])
    return names + (g.const(b, f"{hint}.B"),)


def _attributes(module, op_type: str, directions: int) -> dict:
    attributes = dict(hidden_size=module.hidden_size,
                      direction="bidirectional" if directions == 2 else "forward")
    if op_type == "RNN":
        activation = "Relu" if getattr(module, "nonlinearity", "tanh") == "relu" else "Tanh"
        attributes["activations"] = [activation] * directions
    if op_type == "GRU":
        attributes["linear_before_reset"] = 1
    return attributes


@register(nn.RNN, nn.LSTM, nn.GRU)
def recurrent(g, module, x):
    """A (stacked, possibly bidirectional) recurrent layer: one ONNX node per layer.

    Returns ``(output, h_n)``, or ``(output, (h_n, c_n))`` for an LSTM, in PyTorch's shapes.
    """
    op_type = _op_type(module)
    directions = 2 if module.bidirectional else 1
    unbatched = x.ndim == 2
    if unbatched:
        seq = g.op("Unsqueeze", x, g.ints([1]))
    else:
        seq = g.op("Transpose", x, perm=[1, 0, 2]) if module.batch_first else x.name
    hint = g.name_of(module, op_type.lower())
    states = []
    for layer in range(module.num_layers):
        suffixes = [f"_l{layer}", f"_l{layer}_reverse"][:directions]
        weights = _node_weights(g, module, suffixes, op_type, f"{hint}.l{layer}")
        outputs = g.op(op_type, seq, *weights, outputs=3 if op_type == "LSTM" else 2,
                       **_attributes(module, op_type, directions))
        states.append(outputs[1:])
        if directions == 1:
            seq = g.op("Squeeze", outputs[0], g.ints([1]))
        else:  # (T, 2, B, H) -> (T, B, 2, H) -> (T, B, 2H): the directions side by side
            seq = g.op("Reshape", g.op("Transpose", outputs[0], perm=[0, 2, 1, 3]),
                       g.ints([0, 0, -1]))
    if unbatched:
        seq = g.op("Squeeze", seq, g.ints([1]))
    elif module.batch_first:
        seq = g.op("Transpose", seq, perm=[1, 0, 2])
    finals = []
    for k in range(len(states[0])):  # h_n, and c_n for an LSTM: every layer's, stacked
        final = states[0][k] if len(states) == 1 else \
            g.op("Concat", *[s[k] for s in states], axis=0)
        finals.append(g.op("Squeeze", final, g.ints([1])) if unbatched else final)
    return (seq, tuple(finals)) if op_type == "LSTM" else (seq, finals[0])


@register(nn.RNNCell, nn.LSTMCell, nn.GRUCell)
def recurrent_cell(g, module, x):
    """One time step: the layer's node on a sequence of length 1, from a zero state.

    Returns h' (and c' for an LSTMCell) in the input's batch layout.
    """
    op_type = _op_type(module)
    axes = [0] if x.ndim == 2 else [0, 1]  # (B, F) -> (1, B, F); (F,) -> (1, 1, F)
    seq = g.op("Unsqueeze", x, g.ints(axes))
    weights = _node_weights(g, module, [""], op_type, g.name_of(module, op_type.lower()))
    outputs = g.op(op_type, seq, *weights, outputs=3 if op_type == "LSTM" else 2,
                   **_attributes(module, op_type, 1))
    squeeze = [0] if x.ndim == 2 else [0, 1]
    finals = tuple(g.op("Squeeze", y, g.ints(squeeze)) for y in outputs[1:])
    return finals if op_type == "LSTM" else finals[0]
