"""Window operations: convolution, transposed convolution, unfold/fold and pooling.

The worked values of SPEC 9, then one table of (op, input shapes, arguments) that drives
float64 gradient checks and second-derivative checks for every op, then the properties that
tie the ops together (adjoints, output sizes), tie-breaking, dtypes and error messages.
"""

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.ops.conv import conv1d, conv2d, conv_transpose2d
from chainrule.ops.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.ops.window import conv_output_size, fold, unfold

# ---- SPEC 9: worked values -------------------------------------------------------------------
IMAGE = np.array([[1, 0, 0, 0, 0, 1],
                  [0, 1, 0, 0, 1, 0],
                  [0, 0, 1, 1, 0, 0],
                  [1, 0, 0, 0, 1, 0],
                  [0, 1, 0, 0, 1, 0],
                  [0, 0, 1, 0, 1, 0]], dtype=np.float32)
FILTER1 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float32)
FILTER2 = np.array([[-1, 1, -1]] * 3, dtype=np.float32)


def _as_image(a):
    return cr.tensor(a.reshape((1, 1) + a.shape))


def test_spec9_output_size_formula():
    assert conv_output_size(12, 3) == 10
    assert conv_output_size(39, 3) == 37
    assert conv_output_size(37, 5, stride=2) == 17
    assert conv_output_size(17, 5, stride=2) == 7
    assert conv_output_size(28, 5, padding=2) == 28
    assert conv_output_size(7, 3, stride=2, padding=1, dilation=2) == 3
    y = conv2d(cr.randn(1, 1, 12, 12), cr.randn(1, 1, 3, 3))
    assert y.shape == (1, 1, 10, 10)


def test_spec9_worked_stack_flattens_to_1960():
    x = cr.randn(1, 3, 39, 39)
    x = conv2d(x, cr.randn(10, 3, 3, 3))
    assert x.shape == (1, 10, 37, 37)
    x = conv2d(x, cr.randn(20, 10, 5, 5), stride=2)
    assert x.shape == (1, 20, 17, 17)
    x = conv2d(x, cr.randn(40, 20, 5, 5), stride=2)
    assert x.shape == (1, 40, 7, 7)
    assert x.flatten(1).shape == (1, 1960)


def test_spec9_worked_image_filter1():
    stride1 = conv2d(_as_image(IMAGE), _as_image(FILTER1))
    np.testing.assert_array_equal(stride1.numpy()[0, 0], [[3, -1, -3, -1], [-3, 1, 0, -3],
                                                          [-3, -3, 0, 1], [3, -2, -2, -1]])
    stride2 = conv2d(_as_image(IMAGE), _as_image(FILTER1), stride=2)
    np.testing.assert_array_equal(stride2.numpy()[0, 0], [[3, -3], [-3, 0]])
    np.testing.assert_array_equal(max_pool2d(stride1, 2).numpy()[0, 0], [[3, 0], [3, 1]])


def test_spec9_worked_image_filter2():
    out = conv2d(_as_image(IMAGE), _as_image(FILTER2))
    np.testing.assert_array_equal(out.numpy()[0, 0], [[-1, -1, -1, -1], [-1, -1, -2, 1],
                                                      [-1, -1, -2, 1], [-1, 0, -4, 3]])
    np.testing.assert_array_equal(max_pool2d(out, 2).numpy()[0, 0], [[-1, 1], [0, 3]])


def test_spec9_two_filters_give_two_channels():
    filters = cr.tensor(np.stack([FILTER1, FILTER2])[:, None])
    out = conv2d(_as_image(IMAGE), filters)
    assert out.shape == (1, 2, 4, 4)
    np.testing.assert_array_equal(out.numpy()[0, 1], conv2d(_as_image(IMAGE),
                                                            _as_image(FILTER2)).numpy()[0, 0])


# ---- the op table: gradients and second derivatives in float64 -------------------------------
def distinct(rng, shape):
    """Values 0.25 apart in random order: no ties, so max pooling stays away from its kinks."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size // 2) * 0.25).reshape(shape)


def normal(rng, shape):
    return rng.standard_normal(shape)


class Row(NamedTuple):
    name: str
    fn: object
    shapes: tuple
    kwargs: dict
    domain: object = normal


ROWS = [
    Row("conv2d", conv2d, ((2, 2, 5, 5), (3, 2, 3, 3), (3,)), {}),
    Row("conv2d_stride_pad", conv2d, ((1, 2, 6, 5), (2, 2, 3, 2), (2,)),
        {"stride": (2, 1), "padding": (1, 2)}),
    Row("conv2d_dilation_groups", conv2d, ((1, 4, 6, 6), (4, 2, 2, 2), (4,)),
        {"dilation": 2, "groups": 2, "padding": 1}),
    Row("conv2d_same_even_kernel", conv2d, ((1, 1, 5, 4), (2, 1, 2, 2)), {"padding": "same"}),
    Row("conv1d", conv1d, ((2, 2, 7), (3, 2, 3), (3,)), {"stride": 2, "padding": 1}),
    Row("conv1d_groups", conv1d, ((1, 4, 6), (2, 2, 2)), {"groups": 2, "dilation": 2}),
    Row("conv_transpose2d", conv_transpose2d, ((1, 2, 3, 3), (2, 3, 3, 3), (3,)),
        {"stride": 2, "padding": 1, "output_padding": 1}),
    Row("conv_transpose2d_groups", conv_transpose2d, ((1, 4, 3, 2), (4, 1, 2, 2)),
        {"groups": 2, "dilation": (1, 2)}),
    Row("unfold", unfold, ((1, 2, 4, 5),), {"kernel_size": (2, 3), "padding": 1,
                                            "stride": (1, 2)}),
    Row("fold", fold, ((1, 8, 4),), {"output_size": (3, 4), "kernel_size": 2, "stride": (1, 2)}),
    Row("max_pool2d", max_pool2d, ((2, 2, 4, 4),), {"kernel_size": 2}, distinct),
    Row("max_pool2d_overlap", max_pool2d, ((1, 2, 5, 5),),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, distinct),
    Row("max_pool2d_dilation", max_pool2d, ((1, 1, 6, 5),),
        {"kernel_size": 2, "stride": 1, "dilation": 2}, distinct),
    Row("max_pool1d", max_pool1d, ((2, 2, 7),), {"kernel_size": 3, "stride": 2}, distinct),
    Row("avg_pool2d", avg_pool2d, ((2, 2, 4, 4),), {"kernel_size": 2}),
    Row("avg_pool2d_pad_ceil", avg_pool2d, ((1, 2, 5, 5),),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
         "count_include_pad": False}),
    Row("avg_pool1d", avg_pool1d, ((2, 2, 7),), {"kernel_size": 3, "stride": 2, "padding": 1}),
    Row("adaptive_avg_pool2d", adaptive_avg_pool2d, ((1, 2, 5, 7),), {"output_size": (3, 4)}),
    Row("adaptive_avg_pool1d", adaptive_avg_pool1d, ((2, 2, 7),), {"output_size": 3}),
]


def _inputs(row, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(cr.tensor(row.domain(rng, s), dtype=cr.float64, requires_grad=True)
                 for s in row.shapes)


def _call(row):
    return lambda *xs: row.fn(*xs, **row.kwargs)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_gradcheck(row):
    assert gradcheck(_call(row), _inputs(row))


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_gradgradcheck(row):
    assert gradgradcheck(_call(row), _inputs(row))


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_float32_stays_float32(row):
    xs = tuple(x.detach().float().requires_grad_() for x in _inputs(row))
    out = _call(row)(*xs)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(x.grad.dtype == np.float32 for x in xs)


def test_second_derivatives_through_a_small_cnn():
    """A Hessian-vector product through conv -> tanh -> max pool -> conv is symmetric."""
    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((2, 1, 6, 6)), dtype=cr.float64)
    w1 = cr.tensor(rng.standard_normal((3, 1, 3, 3)), dtype=cr.float64, requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((2, 3, 2, 2)), dtype=cr.float64, requires_grad=True)

    def loss():
        h = max_pool2d(conv2d(x, w1, padding=1).tanh(), 2)
        return (conv2d(h, w2) ** 2).sum()

    u = [cr.tensor(rng.standard_normal(w.shape), dtype=cr.float64) for w in (w1, w2)]
    v = [cr.tensor(rng.standard_normal(w.shape), dtype=cr.float64) for w in (w1, w2)]

    def hvp(vec):
        grads = cr.autograd.grad(loss(), [w1, w2], create_graph=True)
        dot = sum((g * d).sum() for g, d in zip(grads, vec))
        return cr.autograd.grad(dot, [w1, w2])

    u_hv = sum(float((a * b).sum().item()) for a, b in zip(u, hvp(v)))
    v_hu = sum(float((a * b).sum().item()) for a, b in zip(v, hvp(u)))
    assert u_hv == pytest.approx(v_hu, rel=1e-9)
    assert gradgradcheck(lambda a, b: (conv2d(max_pool2d(conv2d(x, a, padding=1).tanh(), 2),
                                              b) ** 2).sum(), (w1, w2))


# ---- properties ------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(size=st.integers(1, 9), kernel=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.integers(0, 2), dilation=st.integers(1, 2), groups=st.sampled_from([1, 2]))
def test_conv_shape_and_adjoint(size, kernel, stride, padding, dilation, groups):
    """Output size follows the formula, and <conv(x), g> = <x, conv_transpose(g)>."""
    out = conv_output_size(size, kernel, stride, padding, dilation)
    rng = np.random.default_rng(size * 100 + kernel)
    x = cr.tensor(rng.standard_normal((2, 2, size, size + 1)), dtype=cr.float64)
    w = cr.tensor(rng.standard_normal((4, 2 // groups, kernel, kernel)), dtype=cr.float64)
    if out < 1:
        with pytest.raises(ValueError, match="smaller than the kernel"):
            conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
        return
    y = conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert y.shape == (2, 4, out, conv_output_size(size + 1, kernel, stride, padding, dilation))
    g = cr.tensor(rng.standard_normal(y.shape), dtype=cr.float64)
    extra = tuple((n + 2 * padding - dilation * (kernel - 1) - 1) % stride for n in x.shape[2:])
    back = conv_transpose2d(g, w, stride=stride, padding=padding, output_padding=extra,
                            groups=groups, dilation=dilation)
    assert back.shape == x.shape
    assert float((y * g).sum().item()) == pytest.approx(float((x * back).sum().item()), rel=1e-9)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(size=st.integers(2, 8), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 1))
def test_unfold_fold_adjoint(size, kernel, stride, padding):
    rng = np.random.default_rng(size)
    x = cr.tensor(rng.standard_normal((1, 2, size, size)), dtype=cr.float64)
    cols = unfold(x, kernel, padding=padding, stride=stride)
    c = cr.tensor(rng.standard_normal(cols.shape), dtype=cr.float64)
    back = fold(c, (size, size), kernel, padding=padding, stride=stride)
    assert float((cols * c).sum().item()) == pytest.approx(float((x * back).sum().item()),
                                                           rel=1e-9)


def test_conv_equals_unfold_then_matmul():
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((2, 3, 6, 5)), dtype=cr.float64)
    w = cr.tensor(rng.standard_normal((4, 3, 3, 2)), dtype=cr.float64)
    cols = unfold(x, (3, 2), padding=1, stride=2)
    expected = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(conv2d(x, w, padding=1, stride=2).numpy(), expected.numpy(),
                               rtol=1e-12)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = cr.zeros(1, 1, 4, 4, requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)
    x = cr.tensor([[[1.0, 3.0, 3.0, 2.0]]], requires_grad=True)
    max_pool1d(x, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [0, 2, 1, 0])


def test_max_pool_propagates_nan():
    x = cr.tensor([[[[1.0, np.nan], [0.0, 2.0]]]])
    assert np.isnan(max_pool2d(x, 2).item())


def test_max_pool_return_indices():
    x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4)[..., ::-1].copy())
    values, indices = max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[4, 6], [12, 14]])
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(values.numpy().ravel(), x.numpy().ravel()[[4, 6, 12, 14]])


def test_avg_pool_window_counts():
    x = cr.ones(1, 1, 3, 3)
    np.testing.assert_allclose(avg_pool2d(x, 2, stride=2, padding=1).numpy()[0, 0],
                               [[0.25, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(avg_pool2d(x, 2, stride=2, padding=1,
                                          count_include_pad=False).numpy(), 1.0)


def test_adaptive_avg_pool_global_is_the_mean():
    x = cr.randn(2, 3, 5, 7)
    np.testing.assert_allclose(adaptive_avg_pool2d(x, 1).numpy()[..., 0, 0],
                               x.numpy().mean(axis=(2, 3)), rtol=1e-5)


def test_unbatched_inputs():
    w = cr.randn(4, 3, 3, 3)
    x = cr.randn(3, 8, 8)
    np.testing.assert_allclose(conv2d(x, w, padding=1).numpy(),
                               conv2d(x.unsqueeze(0), w, padding=1).numpy()[0], rtol=1e-6)
    assert max_pool2d(x, 2).shape == (3, 4, 4)
    assert conv1d(cr.randn(3, 10), cr.randn(2, 3, 3)).shape == (2, 8)
    assert unfold(x, 2).shape == (12, 49)


def test_padding_same_keeps_size_and_valid_is_zero():
    x = cr.randn(1, 2, 7, 6)
    for k in (1, 2, 3, 4):
        assert conv2d(x, cr.randn(3, 2, k, k), padding="same").shape == (1, 3, 7, 6)
    w = cr.randn(3, 2, 3, 3)
    np.testing.assert_array_equal(conv2d(x, w, padding="valid").numpy(), conv2d(x, w).numpy())


def test_retain_graph_backward_twice_gives_the_same_gradient():
    x = cr.randn(2, 3, 6, 6, requires_grad=True)
    w = cr.randn(4, 3, 3, 3, requires_grad=True)
    y = (conv2d(x, w, padding=1) ** 2).sum()
    y.backward(retain_graph=True)
    first = (x.grad.numpy().copy(), w.grad.numpy().copy())
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first[0], rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), 2 * first[1], rtol=1e-5)


def test_in_place_change_of_a_saved_input_is_detected():
    x = cr.randn(1, 1, 4, 4)
    w = cr.randn(1, 1, 2, 2, requires_grad=True)
    y = conv2d(x, w).sum()
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_no_grad_records_nothing():
    w = cr.randn(2, 1, 3, 3, requires_grad=True)
    with cr.no_grad():
        y = conv2d(cr.randn(1, 1, 5, 5), w)
    assert not y.requires_grad and y.grad_fn is None


# ---- errors name the operation and the shapes ------------------------------------------------
@pytest.mark.parametrize("call,message", [
    (lambda: conv2d(cr.randn(1, 5, 8, 8), cr.randn(6, 3, 3, 3)),
     r"conv2d: input has 5 channels, shape \(1, 5, 8, 8\).*\(6, 3, 3, 3\)"),
    (lambda: conv2d(cr.randn(1, 3, 2, 2), cr.randn(6, 3, 3, 3)),
     r"conv2d: input of spatial size \(2, 2\).*smaller than the kernel \(3, 3\)"),
    (lambda: conv2d(cr.randn(8, 8), cr.randn(6, 3, 3, 3)), r"conv2d: expected a 4-D input"),
    (lambda: conv2d(cr.randn(1, 4, 8, 8), cr.randn(5, 2, 3, 3), groups=2),
     "not divisible by groups=2"),
    (lambda: conv2d(cr.randn(1, 3, 8, 8), cr.randn(6, 3, 3, 3), cr.randn(5)),
     r"bias of shape \(5,\)"),
    (lambda: conv2d(cr.randn(1, 3, 8, 8), cr.randn(6, 3, 3, 3), padding="full"),
     "padding must be"),
    (lambda: conv2d(cr.randn(1, 3, 8, 8), cr.randn(6, 3, 3, 3), padding="same", stride=2),
     "'same' is not supported for strided"),
    (lambda: conv1d(cr.randn(1, 3, 8), cr.randn(6, 2, 3)), "conv1d: input has 3 channels"),
    (lambda: conv_transpose2d(cr.randn(1, 2, 3, 3), cr.randn(2, 1, 3, 3), stride=2,
                              output_padding=2), "output_padding"),
    (lambda: max_pool2d(cr.randn(1, 1, 4, 4), 2, padding=2), "at most half of kernel_size"),
    (lambda: max_pool2d(cr.randn(1, 1, 2, 2), 3), r"max_pool2d: input of spatial size \(2, 2\)"),
    (lambda: fold(cr.randn(1, 7, 4), (3, 3), 2), "fold: input of shape"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_dtype_mismatch_is_an_error():
    with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
        conv2d(cr.randn(1, 1, 4, 4), cr.randn(1, 1, 2, 2).double())
