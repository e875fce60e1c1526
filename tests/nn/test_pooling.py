"""Pooling layers: the worked values of SPEC 9, shapes, no parameters, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.layers.conv import Conv2d
from chainrule.nn.layers.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)

STRIDE1_MAP = np.array([[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]],
                       dtype=np.float32)


def test_spec9_max_pooling_of_the_worked_map():
    out = MaxPool2d(2)(cr.tensor(STRIDE1_MAP[None, None]))
    np.testing.assert_array_equal(out.numpy()[0, 0], [[3, 0], [3, 1]])


def test_spec9_average_pooling_and_padding_then_3x3_pooling():
    x = cr.tensor(STRIDE1_MAP[None, None])
    np.testing.assert_allclose(AvgPool2d(2)(x).numpy()[0, 0],
                               STRIDE1_MAP.reshape(2, 2, 2, 2).mean(axis=(1, 3)))
    # padding 1 then 3x3 pooling with stride 1 keeps the size
    assert MaxPool2d(3, stride=1, padding=1)(x).shape == (1, 1, 4, 4)
    assert AvgPool2d(3, stride=1, padding=1)(x).shape == (1, 1, 4, 4)


def test_spec9_the_whole_cnn():
    """Convolution, pooling, flatten, then a fully connected classifier."""
    model = nn.Sequential(Conv2d(3, 8, 3, padding=1), nn.ReLU(), MaxPool2d(2),
                          Conv2d(8, 16, 3, padding=1), nn.ReLU(), AvgPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    out = model(cr.randn(5, 3, 16, 16))
    assert out.shape == (5, 10)
    s = model.summary((1, 3, 16, 16), print_fn=None)
    pools = [r for r in s.rows if r.type in ("MaxPool2d", "AvgPool2d")]
    assert [r.num_params for r in pools] == [0, 0]
    assert [r.output_shape for r in pools] == [(1, 8, 8, 8), (1, 16, 4, 4)]


def test_shapes():
    x = cr.randn(2, 3, 9, 8)
    assert MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert MaxPool2d(2, ceil_mode=True)(x).shape == (2, 3, 5, 4)
    assert MaxPool2d((3, 2), stride=(2, 1), padding=1)(x).shape == (2, 3, 5, 9)
    assert AvgPool2d(3, stride=2)(x).shape == (2, 3, 4, 3)
    assert AdaptiveAvgPool2d((5, 7))(cr.randn(1, 64, 8, 9)).shape == (1, 64, 5, 7)
    assert AdaptiveAvgPool2d((None, 2))(x).shape == (2, 3, 9, 2)
    seq = cr.randn(2, 4, 9)
    assert MaxPool1d(3)(seq).shape == (2, 4, 3)
    assert AvgPool1d(2)(seq).shape == (2, 4, 4)
    assert AdaptiveAvgPool1d(4)(seq).shape == (2, 4, 4)
    assert MaxPool2d(2)(cr.randn(3, 8, 8)).shape == (3, 4, 4)  # unbatched


def test_return_indices():
    values, indices = MaxPool2d(2, return_indices=True)(cr.tensor(STRIDE1_MAP[None, None]))
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[0, 6], [12, 11]])
    np.testing.assert_array_equal(values.numpy()[0, 0], [[3, 0], [3, 1]])


def test_max_pool_gradient_goes_to_the_maxima():
    x = cr.tensor(STRIDE1_MAP[None, None], requires_grad=True)
    MaxPool2d(2)(x).sum().backward()
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[1, 2] = expected[3, 0] = expected[2, 3] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


def test_avg_pool_gradient_is_spread_evenly():
    x = cr.randn(1, 1, 4, 4, requires_grad=True)
    AvgPool2d(2)(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.25)


def test_pooling_has_no_parameters_and_keeps_dtype():
    for layer in (MaxPool2d(2), AvgPool2d(2), AdaptiveAvgPool2d(1)):
        assert list(layer.parameters()) == []
        assert layer(cr.randn(1, 1, 4, 4).double()).dtype == np.float64
        assert layer(cr.randn(1, 1, 4, 4)).dtype == np.float32


@pytest.mark.parametrize("layer,x,message", [
    (MaxPool2d(3), cr.randn(1, 1, 2, 2),
     r"MaxPool2d\(kernel_size=3.*\): max_pool2d: input of spatial size \(2, 2\).*input shape "
     r"\(1, 1, 2, 2\)"),
    (MaxPool2d(2), cr.randn(4, 4), r"MaxPool2d\(.*\): expected a 4-D input .* shape \(4, 4\)"),
    (AvgPool2d(2, padding=2), cr.randn(1, 1, 8, 8), "at most half of kernel_size"),
    (MaxPool1d(2), cr.randn(1, 1, 2, 2, 2), r"MaxPool1d\(.*\): expected a 3-D input"),
    (AdaptiveAvgPool2d(0), cr.randn(1, 1, 4, 4), "must be positive"),
])
def test_errors_name_the_layer_and_shape(layer, x, message):
    with pytest.raises(ValueError, match=message):
        layer(x)


def test_repr():
    assert repr(MaxPool2d(2)).startswith("MaxPool2d(kernel_size=2, stride=2")
    assert repr(AdaptiveAvgPool2d((2, 3))) == "AdaptiveAvgPool2d(output_size=(2, 3))"
