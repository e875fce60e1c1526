"""Every basic, spatial and normalisation layer: exported, checked, run in onnxruntime with
another batch size, equal to chainrule to 1e-5."""

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402


def randn(*shape):
    return lambda n: cr.randn(n, *shape)


def trained_batch_norm(bn):
    """A BatchNorm with running statistics and affine parameters away from their defaults."""
    c = bn.num_features
    bn.running_mean.data[:] = np.linspace(-1, 1, c)
    bn.running_var.data[:] = np.linspace(0.5, 2, c)
    if bn.weight is not None:
        bn.weight.data[:] = np.linspace(0.5, 1.5, c)
        bn.bias.data[:] = np.linspace(-0.2, 0.2, c)
    return bn


LAYERS = {
    "Linear 2-D": (lambda: nn.Linear(6, 3), randn(6)),
    "Linear 3-D, no bias": (lambda: nn.Linear(6, 3, bias=False), randn(4, 6)),
    "Identity": (lambda: nn.Identity(), randn(3)),
    "Dropout": (lambda: nn.Dropout(0.5), randn(7)),
    "Flatten": (lambda: nn.Flatten(), randn(2, 3, 4)),
    "Flatten middle axes": (lambda: nn.Flatten(1, 2), randn(2, 3, 4)),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), randn(6)),
    "Unflatten middle axis": (lambda: nn.Unflatten(1, (2, -1)), randn(6, 5)),
    "Conv1d": (lambda: nn.Conv1d(2, 4, 3, stride=2, padding=1), randn(2, 9)),
    "Conv1d same, dilation": (lambda: nn.Conv1d(2, 4, 4, padding="same", dilation=2),
                              randn(2, 10)),
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3), randn(3, 6, 5)),
    "Conv2d strided, groups, no bias": (
        lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), groups=2, bias=False),
        randn(4, 7, 6)),
    "Conv2d same": (lambda: nn.Conv2d(2, 3, 4, padding="same"), randn(2, 5, 5)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                   output_padding=1), randn(3, 4, 4)),
    "ConvTranspose2d groups, dilation": (
        lambda: nn.ConvTranspose2d(4, 2, 2, groups=2, dilation=2, bias=False), randn(4, 3, 3)),
    "MaxPool1d": (lambda: nn.MaxPool1d(3, stride=2, padding=1), randn(3, 10)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), randn(3, 6, 6)),
    "MaxPool2d ceil": (lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), randn(2, 7, 8)),
    "MaxPool2d dilation": (lambda: nn.MaxPool2d(3, 2, padding=1, dilation=2), randn(1, 9, 9)),
    "AvgPool1d": (lambda: nn.AvgPool1d(2), randn(3, 9)),
    "AvgPool2d padding": (lambda: nn.AvgPool2d(3, 2, padding=1), randn(2, 7, 7)),
    "AvgPool2d ceil": (lambda: nn.AvgPool2d(3, 2, padding=1, ceil_mode=True), randn(2, 6, 6)),
    "AvgPool2d without the padding": (lambda: nn.AvgPool2d(3, 2, padding=1,
                                                           count_include_pad=False),
                                      randn(2, 7, 7)),
    "AdaptiveAvgPool2d(1)": (lambda: nn.AdaptiveAvgPool2d(1), randn(3, 5, 4)),
    "AdaptiveAvgPool2d((3, None))": (lambda: nn.AdaptiveAvgPool2d((3, None)), randn(3, 7, 5)),
    "AdaptiveAvgPool1d": (lambda: nn.AdaptiveAvgPool1d(4), randn(3, 10)),
    "BatchNorm1d (N, C)": (lambda: trained_batch_norm(nn.BatchNorm1d(5)), randn(5)),
    "BatchNorm1d (N, C, L)": (lambda: trained_batch_norm(nn.BatchNorm1d(3)), randn(3, 4)),
    "BatchNorm1d no affine": (lambda: trained_batch_norm(nn.BatchNorm1d(3, affine=False)),
                              randn(3)),
    "BatchNorm2d": (lambda: trained_batch_norm(nn.BatchNorm2d(3)), randn(3, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(6), randn(4, 6)),
    "LayerNorm two axes, no affine": (lambda: nn.LayerNorm((3, 4), elementwise_affine=False),
                                      randn(3, 4)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), randn(4, 3, 3)),
    "LearnedPositionalEmbedding": (lambda: nn.LearnedPositionalEmbedding(10, 6), randn(5, 6)),
    "PositionalEncoding": (lambda: nn.PositionalEncoding(6, max_len=10), randn(5, 6)),
    "Upsample nearest": (lambda: nn.Upsample(scale_factor=2), randn(2, 3, 4)),
    "Upsample bilinear": (lambda: nn.Upsample(size=(5, 7), mode="bilinear"), randn(2, 3, 4)),
    "UpsamplingBilinear2d": (lambda: nn.UpsamplingBilinear2d(scale_factor=2), randn(2, 3, 3)),
    "UpsamplingNearest2d": (lambda: nn.UpsamplingNearest2d(size=(5, 9)), randn(2, 3, 4)),
    "Upsample nearest-exact": (lambda: nn.Upsample(size=7, mode="nearest-exact"), randn(2, 5)),
    "Upsample area": (lambda: nn.Upsample(size=(2, 3), mode="area"), randn(2, 5, 7)),
    "Upsample nearest by 1.5": (lambda: nn.Upsample(scale_factor=1.5), randn(2, 4, 5)),
    "Upsample linear 1-D": (lambda: nn.Upsample(scale_factor=3, mode="linear"), randn(2, 4)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer(name, check):
    cr.manual_seed(0)
    make, inputs = LAYERS[name]
    check(make(), inputs)


def test_batch_norm_without_running_statistics_uses_the_batch(check):
    cr.manual_seed(0)
    check(nn.BatchNorm2d(3, track_running_stats=False), randn(3, 4, 4))


def test_embedding_takes_int64_indices(check):
    cr.manual_seed(0)
    check(nn.Embedding(10, 4, padding_idx=0), lambda n: cr.randint(0, 10, (n, 7)))


def test_unbatched_convolution_and_pooling(check):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.MaxPool2d(2))
    check(model, lambda n: cr.randn(2, n + 2, 6), in_axes=1, out_axes=1)


def test_adaptive_pooling_of_a_size_that_does_not_divide(check):
    cr.manual_seed(0)
    check(nn.AdaptiveAvgPool2d((3, 4)), randn(2, 7, 5))


def test_float64_layers(check):
    # (onnxruntime has no float64 Conv nor Erf on the CPU: they export but do not run there)
    cr.manual_seed(0)
    f64 = cr.float64
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3, dtype=f64), nn.BatchNorm1d(3, dtype=f64),
                          nn.Tanh(), nn.Linear(3, 2, dtype=f64), nn.LayerNorm(2, dtype=f64),
                          nn.Softplus(beta=2.0))
    check(model, lambda n: cr.randn(n, 2, 6, dtype=f64), atol=1e-10)


def test_layer_norm_before_opset_17_is_written_out(check):
    cr.manual_seed(0)
    check(nn.LayerNorm(6), randn(4, 6), opset=14)
