"""F.interpolate and nn.Upsample: worked values per mode, gradients, errors, the layers."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def t(array, requires_grad=False):
    return cr.tensor(np.asarray(array, dtype=np.float64), dtype=np.float64,
                     requires_grad=requires_grad)


def test_nearest_repeats_pixels():
    x = RNG.standard_normal((2, 3, 2, 3))
    out = F.interpolate(t(x), scale_factor=2).numpy()
    np.testing.assert_array_equal(out, x.repeat(2, axis=2).repeat(2, axis=3))
    out = F.interpolate(t(x), size=(4, 9)).numpy()                   # per-axis factors
    np.testing.assert_array_equal(out, x.repeat(2, axis=2).repeat(3, axis=3))
    seq = t([[[0.0, 1.0, 2.0]]])
    np.testing.assert_array_equal(F.interpolate(seq, size=2).numpy(), [[[0.0, 1.0]]])
    np.testing.assert_array_equal(F.interpolate(seq, size=2, mode="nearest-exact").numpy(),
                                  [[[0.0, 2.0]]])                    # centres: 0.75, 2.25


def test_linear_worked_values_for_both_corner_conventions():
    seq = t([[[0.0, 1.0]]])
    out = F.interpolate(seq, size=3, mode="linear", align_corners=True).numpy()
    np.testing.assert_allclose(out, [[[0.0, 0.5, 1.0]]])           # u = i (in-1)/(out-1)
    out = F.interpolate(seq, size=4, mode="linear").numpy()          # u = (i+1/2)/2 - 1/2
    np.testing.assert_allclose(out, [[[0.0, 0.25, 0.75, 1.0]]])
    img = t(np.arange(4.0).reshape(1, 1, 2, 2))
    out = F.interpolate(img, size=3, mode="bilinear", align_corners=True).numpy()
    np.testing.assert_allclose(out[0, 0], [[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]])
    same = F.interpolate(img, size=2, mode="bilinear").numpy()
    np.testing.assert_array_equal(same, img.numpy())


def test_area_is_adaptive_average_pooling():
    x = t(RNG.standard_normal((1, 2, 6, 4)))
    np.testing.assert_allclose(F.interpolate(x, size=(3, 2), mode="area").numpy(),
                               F.adaptive_avg_pool2d(x, (3, 2)).numpy())
    out = F.interpolate(x, scale_factor=0.5, mode="area").numpy()
    np.testing.assert_allclose(out, x.numpy().reshape(1, 2, 3, 2, 2, 2).mean((3, 5)))


def test_nearest_gradient_counts_the_copies():
    x = t(np.zeros((1, 1, 2, 3)), requires_grad=True)
    F.interpolate(x, size=(4, 4)).sum().backward()
    # columns 0,1,2 are read by output columns {0,1}, {2}, {3}; each row twice
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[4.0, 2.0, 2.0], [4.0, 2.0, 2.0]])


@pytest.mark.parametrize("shape,kwargs", [
    ((1, 2, 3), dict(size=5)),
    ((1, 2, 3), dict(scale_factor=1.5, mode="nearest-exact")),
    ((1, 2, 4), dict(size=7, mode="linear")),
    ((1, 2, 4), dict(size=3, mode="linear", align_corners=True)),
    ((1, 1, 2, 3), dict(scale_factor=2)),
    ((1, 1, 3, 2), dict(size=(4, 5), mode="bilinear")),
    ((2, 1, 3, 3), dict(scale_factor=1.7, mode="bilinear", align_corners=True)),
    ((1, 1, 4, 4), dict(size=(2, 3), mode="bilinear")),
    ((1, 1, 4, 6), dict(size=(2, 3), mode="area")),
])
def test_gradcheck_and_gradgradcheck(shape, kwargs):
    x = t(RNG.standard_normal(shape), requires_grad=True)

    def fn(a):
        return F.interpolate(a, **kwargs) ** 2   # squared: a second derivative that is not 0

    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,), n_directions=3)


def test_dtype_and_integer_inputs():
    x = cr.randn(1, 2, 3, 3)
    assert F.interpolate(x, scale_factor=2, mode="bilinear").dtype == np.float32
    labels = cr.tensor([[[[0, 1], [2, 3]]]])
    assert F.interpolate(labels, scale_factor=2).dtype == np.int64     # nearest keeps labels
    with pytest.raises(RuntimeError, match="floating-point"):
        F.interpolate(labels, scale_factor=2, mode="bilinear")


def test_errors():
    x = cr.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, size=2, align_corners=True)
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, scale_factor=(2.0,))
    with pytest.raises(ValueError, match="recompute_scale_factor is not meaningful"):
        F.interpolate(x, size=2, recompute_scale_factor=True)
    with pytest.raises(NotImplementedError, match="Got 4D input, but linear mode needs 3D"):
        F.interpolate(x, size=2, mode="linear")
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        F.interpolate(cr.randn(1, 1, 4), size=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="not supported"):
        F.interpolate(x, size=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="3-D"):
        F.interpolate(cr.randn(1, 1, 2, 2, 2), size=2)
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(TypeError, match="size"):
        F.interpolate(x, size=2.5)


def test_layers():
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert up.scale_factor == 2.0 and repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"
    assert list(up.parameters()) == []
    x = cr.randn(2, 3, 4, 5)
    np.testing.assert_array_equal(up(x).numpy(),
                                  F.interpolate(x, scale_factor=2.0, mode="bilinear").numpy())
    near = nn.UpsamplingNearest2d(scale_factor=3)
    assert near.mode == "nearest" and near(x).shape == (2, 3, 12, 15)
    bil = nn.UpsamplingBilinear2d(size=(7, 9))
    np.testing.assert_array_equal(
        bil(x).numpy(), F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True).numpy())
    assert nn.Upsample(scale_factor=(2, 3)).scale_factor == (2.0, 3.0)


def test_layer_calls_functional(monkeypatch):
    calls = []
    original = F.interpolate
    monkeypatch.setattr(F, "interpolate", lambda *a, **k: calls.append(1) or original(*a, **k))
    nn.Upsample(scale_factor=2)(cr.randn(1, 1, 3))
    assert calls == [1]
