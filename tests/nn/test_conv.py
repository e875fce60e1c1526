"""Convolution layers: shapes (SPEC 9), parameters and their initialisation, errors, summary."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.layers.conv import Conv1d, Conv2d, ConvTranspose2d


def test_spec9_output_size_12x12_with_3x3():
    assert Conv2d(1, 1, 3)(cr.randn(1, 1, 12, 12)).shape == (1, 1, 10, 10)


def test_spec9_worked_stack_and_its_summary():
    model = nn.Sequential(Conv2d(3, 10, 3), Conv2d(10, 20, 5, stride=2),
                          Conv2d(20, 40, 5, stride=2), nn.Flatten())
    assert model(cr.randn(2, 3, 39, 39)).shape == (2, 1960)
    s = model.summary((1, 3, 39, 39), print_fn=None)
    assert [r.output_shape for r in s.rows] == [(1, 10, 37, 37), (1, 20, 17, 17),
                                                (1, 40, 7, 7), (1, 1960)]
    # each filter has in_channels * k * k weights and one bias
    assert [r.num_params for r in s.rows] == [10 * (3 * 9 + 1), 20 * (10 * 25 + 1),
                                              40 * (20 * 25 + 1), 0]


def test_conv_has_fewer_parameters_than_a_dense_layer_with_the_same_shapes():
    conv = Conv2d(3, 10, 3)
    dense = nn.Linear(3 * 39 * 39, 10 * 37 * 37)
    assert conv.num_parameters() == 280
    assert dense.num_parameters() > 10_000 * conv.num_parameters()


def test_parameter_shapes_and_names():
    conv = Conv2d(4, 6, (3, 2), groups=2)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert Conv1d(4, 6, 5).weight.shape == (6, 4, 5)
    up = ConvTranspose2d(4, 6, 3, groups=2)
    assert up.weight.shape == (4, 3, 3, 3) and up.bias.shape == (6,)
    assert Conv2d(2, 3, 3, bias=False).bias is None
    assert set(Conv2d(2, 3, 3, bias=False).state_dict()) == {"weight"}


def test_initialisation_is_seeded_and_bounded():
    cr.manual_seed(7)
    a = Conv2d(3, 8, 5)
    cr.manual_seed(7)
    b = Conv2d(3, 8, 5)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / np.sqrt(3 * 25)
    assert np.abs(a.weight.numpy()).max() <= bound
    assert np.abs(a.bias.numpy()).max() <= bound
    up = ConvTranspose2d(8, 4, 3)  # fan_in of the weight (8, 4, 3, 3) is 4 * 9
    assert np.abs(up.weight.numpy()).max() <= 1 / np.sqrt(4 * 9)
    assert a.weight.dtype == np.float32
    assert Conv2d(1, 1, 3, dtype=cr.float64).weight.dtype == np.float64


def test_output_shapes():
    x = cr.randn(2, 3, 16, 15)
    assert Conv2d(3, 5, 3, padding="same")(x).shape == (2, 5, 16, 15)
    assert Conv2d(3, 5, 3, stride=2, padding=1)(x).shape == (2, 5, 8, 8)
    assert Conv2d(3, 6, 3, dilation=2, groups=3)(x).shape == (2, 6, 12, 11)
    assert Conv2d(3, 5, 3)(cr.randn(3, 8, 8)).shape == (5, 6, 6)  # unbatched
    assert Conv1d(2, 4, 5, padding="same")(cr.randn(8, 2, 100)).shape == (8, 4, 100)
    assert Conv1d(2, 4, 5, stride=3)(cr.randn(8, 2, 100)).shape == (8, 4, 32)
    assert ConvTranspose2d(16, 8, 4, stride=2, padding=1)(cr.randn(1, 16, 7, 7)).shape == \
        (1, 8, 14, 14)
    assert ConvTranspose2d(3, 2, 3, stride=2, output_padding=1)(cr.randn(1, 3, 5, 5)).shape == \
        (1, 2, 12, 12)


def test_transposed_convolution_undoes_the_size_change():
    down = Conv2d(3, 8, 4, stride=2, padding=1)
    up = ConvTranspose2d(8, 3, 4, stride=2, padding=1)
    x = cr.randn(2, 3, 16, 16)
    assert up(down(x)).shape == x.shape


def test_gradients_reach_every_parameter():
    model = nn.Sequential(Conv2d(1, 4, 3, padding=1), nn.ReLU(), Conv2d(4, 2, 3, stride=2),
                          nn.Flatten(), nn.Linear(2 * 3 * 3, 1))
    model(cr.randn(4, 1, 8, 8)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.isfinite(p.grad.numpy()).all()


def test_float64_model():
    conv = Conv2d(2, 3, 3).double()
    out = conv(cr.randn(1, 2, 5, 5).double())
    assert out.dtype == np.float64


@pytest.mark.parametrize("layer,x,message", [
    (Conv2d(3, 6, 5), cr.randn(2, 1, 28, 28),
     r"Conv2d\(3, 6, kernel_size=\(5, 5\).*\): input has 1 channels, shape \(2, 1, 28, 28\), "
     r"expected in_channels=3"),
    (Conv2d(1, 6, 5), cr.randn(2, 1, 3, 3),
     r"Conv2d\(1, 6.*\): input of spatial size \(3, 3\) \(shape \(2, 1, 3, 3\)\) is too small"),
    (Conv2d(1, 6, 5, padding="valid"), cr.randn(2, 1, 3, 3),
     r"Conv2d\(1, 6.*\): input of spatial size \(3, 3\) \(shape \(2, 1, 3, 3\)\) is too small"),
    (ConvTranspose2d(1, 2, 3, padding=3), cr.randn(1, 1, 2, 2),
     r"ConvTranspose2d\(1, 2.*\): input of spatial size \(2, 2\) .* is too small"),
    (Conv2d(1, 6, 5), cr.randn(28, 28), r"Conv2d\(1, 6.*\): expected a 4-D input"),
    (Conv1d(2, 4, 3), cr.randn(1, 3, 10), r"Conv1d\(2, 4.*\): input has 3 channels"),
    (ConvTranspose2d(4, 2, 3), cr.randn(1, 3, 5, 5),
     r"ConvTranspose2d\(4, 2.*\): input has 3 channels"),
])
def test_input_errors_name_the_layer_and_shapes(layer, x, message):
    with pytest.raises(ValueError, match=message):
        layer(x)


@pytest.mark.parametrize("make,message", [
    (lambda: Conv2d(4, 6, 3, groups=3), "divisible by groups=3"),
    (lambda: Conv2d(3, 6, 3, padding="same", stride=2), "'same' needs stride 1"),
    (lambda: Conv2d(3, 6, 3, padding="full"), "padding must be"),
    (lambda: Conv2d(3, 6, 3, padding_mode="reflect"), "only padding_mode='zeros'"),
    (lambda: ConvTranspose2d(3, 6, 3, padding="same"), "padding must be an int or a tuple"),
    (lambda: Conv2d(0, 6, 3), "must be positive"),
])
def test_constructor_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_repr():
    assert repr(Conv2d(3, 6, 5)).startswith("Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))")
    assert "padding='same'" in repr(Conv1d(1, 2, 3, padding="same"))
    text = repr(ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, bias=False))
    assert "output_padding=(1, 1)" in text and "bias=False" in text
