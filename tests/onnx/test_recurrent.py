"""RNN, LSTM and GRU as ONNX's RNN, LSTM and GRU nodes: gate orders, stacks, both
directions, batch-first and time-major layouts, unbatched sequences and the cells."""

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402

KINDS = {"RNN": nn.RNN, "RNN relu": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k),
         "LSTM": nn.LSTM, "GRU": nn.GRU}
SHAPES = {"one layer": {}, "two layers, bidirectional": dict(num_layers=2, bidirectional=True),
          "no bias": dict(bias=False), "bidirectional": dict(bidirectional=True)}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_batch_first_layers(kind, shape, check):
    cr.manual_seed(0)
    layer = KINDS[kind](3, 4, batch_first=True, **SHAPES[shape])
    check(layer, lambda n: cr.randn(n, 6, 3), out_axes=[0, 1] + ([1] if kind == "LSTM" else []))


@pytest.mark.parametrize("kind", KINDS)
def test_time_major_layers(kind, check):
    cr.manual_seed(0)
    layer = KINDS[kind](3, 4, num_layers=2, dropout=0.3)
    check(layer, lambda n: cr.randn(6, n, 3), in_axes=1, out_axes=1)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_sequences_with_a_free_length(kind, check):
    cr.manual_seed(0)
    layer = KINDS[kind](3, 4, bidirectional=True)
    check(layer, lambda n: cr.randn(n + 3, 3),
          out_axes=[0, None] + ([None] if kind == "LSTM" else []))


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell], ids=lambda c: c.__name__)
def test_cells(cls, check):
    cr.manual_seed(0)
    check(cls(3, 5), lambda n: cr.randn(n, 3))
