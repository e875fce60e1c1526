"""nn.checks: one dtype message for every layer, and layers that are thin shells over F."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn.checks import check_dtype

# (layer, a valid float32 input shape): every layer kind with parameters.
LAYERS = [
    (lambda: nn.Linear(3, 2), (4, 3)),
    (lambda: nn.Conv1d(2, 3, 3), (1, 2, 8)),
    (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    (lambda: nn.Conv2d(2, 3, 3, padding="same"), (1, 2, 5, 5)),
    (lambda: nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4)),
    (lambda: nn.BatchNorm1d(3), (4, 3)),
    (lambda: nn.BatchNorm2d(3), (2, 3, 2, 2)),
    (lambda: nn.LayerNorm(3), (4, 3)),
    (lambda: nn.LayerNorm((2, 3)), (4, 2, 3)),
]
IDS = ["Linear", "Conv1d", "Conv2d", "Conv2d-same", "ConvTranspose2d", "BatchNorm1d",
       "BatchNorm2d", "LayerNorm", "LayerNorm-2d"]


@pytest.mark.parametrize("make,shape", LAYERS, ids=IDS)
def test_float64_input_to_float32_layer_raises_the_one_message(make, shape):
    layer = make()
    name = type(layer).__name__
    message = (f"{name}: input dtype float64 does not match weight dtype float32; convert the "
               "input with x.float() (or the model with model.double())")
    with pytest.raises(TypeError, match=re.escape(message)):
        layer(cr.randn(*shape).double())
    assert layer(cr.randn(*shape)).dtype == np.float32
    assert layer.double()(cr.randn(*shape).double()).dtype == np.float64


@pytest.mark.parametrize("make,shape", LAYERS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_or_bool_input_raises_the_one_message(make, shape, dtype):
    layer = make()
    name = type(layer).__name__
    x = cr.from_numpy(np.ones(shape, dtype=dtype))
    message = (f"{name}: input dtype {np.dtype(dtype)} does not match weight dtype float32; "
               "convert the input with x.float()")
    with pytest.raises(TypeError, match=re.escape(message) + "$"):
        layer(x)


def test_float32_input_to_float64_layer_suggests_double():
    layer = nn.Linear(3, 2).double()
    with pytest.raises(TypeError, match=re.escape(
            "Linear: input dtype float32 does not match weight dtype float64; convert the input "
            "with x.double() (or the model with model.float())")):
        layer(cr.randn(4, 3))


def test_batch_norm_without_affine_checks_its_running_statistics():
    bn = nn.BatchNorm1d(3, affine=False)
    with pytest.raises(TypeError, match=re.escape(
            "BatchNorm1d: input dtype float64 does not match running_mean dtype float32")):
        bn(cr.randn(4, 3).double())
    free = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert free(cr.randn(4, 3).double()).dtype == np.float64  # nothing to match


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_])
def test_embedding_wants_integer_indices(dtype):
    emb = nn.Embedding(5, 2)
    x = cr.from_numpy(np.zeros(3, dtype=dtype))
    message = (f"Embedding: input dtype {np.dtype(dtype)} is not an index dtype; indices must "
               "be integers, convert the input with x.long()")
    with pytest.raises(TypeError, match=re.escape(message)):
        emb(x)
    with pytest.raises(TypeError, match=r"^embedding: input dtype .* is not an index dtype"):
        F.embedding(x, emb.weight)
    for index_dtype in (np.int64, np.int32, np.uint8):
        assert emb(cr.from_numpy(np.zeros(3, dtype=index_dtype))).shape == (3, 2)


def test_check_dtype_accepts_names_and_other_inputs():
    weight = cr.zeros(2, dtype=np.float16)
    check_dtype("anything", cr.zeros(3, dtype=np.float16), weight)  # equal dtypes pass
    with pytest.raises(TypeError, match=re.escape(
            "GRU(input_size=2, hidden_size=2): h_0 dtype float32 does not match weight dtype "
            "float16; convert the h_0 with h_0.to(cr.float16) (or the model with "
            "model.float())")):
        check_dtype("GRU(input_size=2, hidden_size=2)", cr.zeros(3), weight, input_name="h_0")
    check_dtype("embedding", np.array([1, 2]), None, indices=True)
    with pytest.raises(TypeError, match="not an index dtype"):
        check_dtype("embedding", [0.5], None, indices=True)


# ---- thin layers: forward is one call into nn.functional -------------------------------------
@pytest.mark.parametrize("make,shape,fn", [
    (lambda: nn.Linear(3, 2), (4, 3), "linear"),
    (lambda: nn.Conv1d(2, 3, 3), (1, 2, 8), "conv1d"),
    (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5), "conv2d"),
    (lambda: nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4), "conv_transpose2d"),
    (lambda: nn.MaxPool1d(2), (1, 2, 8), "max_pool1d"),
    (lambda: nn.MaxPool2d(2), (1, 2, 4, 4), "max_pool2d"),
    (lambda: nn.AvgPool1d(2), (1, 2, 8), "avg_pool1d"),
    (lambda: nn.AvgPool2d(2), (1, 2, 4, 4), "avg_pool2d"),
    (lambda: nn.AdaptiveAvgPool1d(2), (1, 2, 8), "adaptive_avg_pool1d"),
    (lambda: nn.AdaptiveAvgPool2d(2), (1, 2, 4, 4), "adaptive_avg_pool2d"),
    (lambda: nn.BatchNorm1d(3), (4, 3), "batch_norm"),
    (lambda: nn.LayerNorm(3), (4, 3), "layer_norm"),
    (lambda: nn.Dropout(0.5), (4, 3), "dropout"),
    (lambda: nn.ReLU(), (4, 3), "relu"),
])
def test_layer_forward_calls_functional(monkeypatch, make, shape, fn):
    layer, calls = make(), []
    original = getattr(F, fn)

    def spy(*args, **kwargs):
        calls.append(fn)
        return original(*args, **kwargs)

    monkeypatch.setattr(F, fn, spy)
    layer(cr.randn(*shape))
    assert calls == [fn]


def test_embedding_forward_calls_functional(monkeypatch):
    calls = []
    original = F.embedding
    monkeypatch.setattr(F, "embedding", lambda *a, **k: calls.append(1) or original(*a, **k))
    nn.Embedding(4, 2)(cr.tensor([0, 3]))
    assert calls == [1]
