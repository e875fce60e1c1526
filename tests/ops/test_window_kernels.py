"""The window kernels: pooling against a scan of every window, adjoint pairs, memory layouts.

Max pooling is checked against a direct scan that follows PyTorch's rule (a later tap wins only
when strictly greater, or when it is NaN) on inputs full of ties, for non-overlapping windows
(the LeNet case), overlapping, dilated, padded and ceil-mode ones; average pooling against the
plain window mean. The linear pairs (sum/spread, gather/scatter, im2col/col2im) are checked as
adjoints, <A x, y> = <x, A^T y>. The kernels keep images batch-last in memory; every result must
be the same, bit for bit, whatever the layout of the input.
"""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import window_kernels as K
from chainrule.ops.pooling import avg_pool2d, max_pool2d, pool_geometry
from chainrule.ops.window import geometry

# (kernel, stride, padding, dilation, ceil_mode)
GEOMETRIES = [
    (2, None, 0, 1, False),        # LeNet: stride == kernel, sizes divisible
    (3, None, 0, 1, False),        # stride == kernel, the remainder rows and columns dropped
    ((1, 3), None, 0, 1, False),
    ((3, 1), (2, 1), 0, 1, False),
    (3, 2, 1, 1, True),            # overlapping, padded, ceil mode
    (2, 1, 0, 2, False),           # dilated
    (2, 3, 1, 1, False),           # gaps between windows
    (1, 1, 0, 1, False),
]


def _scan_max_pool(x, kernel, geom, out):
    """Values, taps (i kw + j) and the gradient of sum(g * y), window by window."""
    n, c, h, w = x.shape
    (pt, _), (pl, _) = geom.padding
    values, taps = np.zeros((n, c) + out), np.zeros((n, c) + out, dtype=np.int64)
    for b, ch, p, q in itertools.product(range(n), range(c), range(out[0]), range(out[1])):
        best, tap = -np.inf, None
        for i, j in itertools.product(range(kernel[0]), range(kernel[1])):
            r = p * geom.stride[0] + i * geom.dilation[0] - pt
            s = q * geom.stride[1] + j * geom.dilation[1] - pl
            if 0 <= r < h and 0 <= s < w:
                v = x[b, ch, r, s]
                if tap is None or v > best or np.isnan(v):
                    best, tap = v, i * kernel[1] + j
        values[b, ch, p, q], taps[b, ch, p, q] = best, tap
    return values, taps


def _layouts(a):
    """The same values stored N-major, channel-major and batch-last."""
    return [a.copy(), np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3),
            np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)]


def _ties(rng, shape):
    """Small integers: most windows hold their maximum more than once."""
    return rng.integers(-2, 3, shape).astype(np.float64)


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", GEOMETRIES)
def test_max_pool_takes_the_first_maximum_of_every_window(kernel, stride, padding, dilation,
                                                          ceil_mode):
    rng = np.random.default_rng(0)
    x = _ties(rng, (3, 2, 8, 7))
    geom, k, out = pool_geometry("t", x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    values, taps = _scan_max_pool(x, k, geom, out)
    for a in _layouts(x):
        best, idx = K.max_pool_array(a, k, geom, out)
        np.testing.assert_array_equal(best, values)
        np.testing.assert_array_equal(idx, taps)


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", GEOMETRIES)
def test_max_pool_gradient_goes_to_the_first_maximum(kernel, stride, padding, dilation,
                                                     ceil_mode):
    rng = np.random.default_rng(1)
    x = _ties(rng, (2, 3, 7, 8))
    args = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)
    y, flat = max_pool2d(cr.tensor(x, dtype=cr.float64), return_indices=True, **args)
    g = rng.standard_normal(y.shape)
    expected = np.zeros(x.shape)
    for b, ch in itertools.product(range(x.shape[0]), range(x.shape[1])):
        np.add.at(expected[b, ch].reshape(-1), flat.numpy()[b, ch].ravel(), g[b, ch].ravel())
    for a in _layouts(x):
        t = cr.tensor(a, dtype=cr.float64, requires_grad=True)
        (max_pool2d(t, **args) * cr.tensor(g, dtype=cr.float64)).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), expected)
        assert not np.signbit(t.grad.numpy()[expected == 0]).any()  # +0, never -0


def test_max_pool_nan_windows_take_their_last_nan():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 6, 6))
    x[rng.random(x.shape) < 0.15] = np.nan
    for kernel, stride in ((2, None), (3, 1)):
        geom, k, out = pool_geometry("t", x.shape[2:], kernel, stride, 0, 1, False)
        values, taps = _scan_max_pool(x, k, geom, out)
        best, idx = K.max_pool_array(x, k, geom, out)
        np.testing.assert_array_equal(best, values)  # NaN where the window holds one
        np.testing.assert_array_equal(idx, taps)


def test_max_pool_ties_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = np.maximum(_ties(rng, (4, 3, 12, 12)), 0).astype(np.float32)  # ReLU-like: zero windows
    for kernel, stride, padding in ((2, 2, 0), (3, 2, 1), (3, 1, 0)):
        t = torch.tensor(x, requires_grad=True)
        ref, ref_idx = torch.nn.functional.max_pool2d(t, kernel, stride, padding,
                                                      return_indices=True)
        ours = cr.tensor(x, requires_grad=True)
        y, idx = max_pool2d(ours, kernel, stride, padding, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
        g = rng.standard_normal(y.shape).astype(np.float32)
        (ref * torch.tensor(g)).sum().backward()
        (y * cr.tensor(g)).sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode",
                         [g for g in GEOMETRIES if g[3] == 1])
def test_avg_pool_is_the_window_mean(kernel, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 7))
    y = avg_pool2d(cr.tensor(x, dtype=cr.float64), kernel, stride, padding, ceil_mode,
                   count_include_pad=True, divisor_override=1).numpy()
    geom, k, out = pool_geometry("t", x.shape[2:], kernel, stride, padding, 1, ceil_mode)
    padded = np.pad(x, ((0, 0), (0, 0)) + geom.padding)
    for p, q in itertools.product(range(out[0]), range(out[1])):
        r, s = p * geom.stride[0], q * geom.stride[1]
        np.testing.assert_allclose(y[:, :, p, q], padded[:, :, r:r + k[0], s:s + k[1]].sum((2, 3)),
                                   rtol=1e-12)


def _pairing(a, b):
    return float((a * b).sum())


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", GEOMETRIES)
def test_linear_pool_kernels_are_adjoint(kernel, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 8, 7))
    geom, k, out = pool_geometry("t", x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    g = rng.standard_normal((2, 3) + out)
    spread = K.window_spread_array(g, k, geom, x.shape[2:])
    assert np.isclose(_pairing(K.window_sum_array(x, k, geom, out), g), _pairing(x, spread))
    _, idx = K.max_pool_array(rng.standard_normal(x.shape), k, geom, out)
    scattered = K.scatter_array(g, idx, k, geom, x.shape[2:])
    assert np.isclose(_pairing(K.gather_array(x, idx, k, geom), g), _pairing(x, scattered))


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 0, 1)])
def test_im2col_and_col2im_are_adjoint(stride, padding, dilation):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 9, 8))
    geom = geometry("t", (3, 2), stride, padding, dilation)
    out = K.window_counts(x.shape[2:], (3, 2), geom)
    cols = K.im2col(x, (3, 2), geom, out)
    other = rng.standard_normal(cols.shape)
    image = K.col2im(other.reshape((3, 3, 2) + out + (2,)), x.shape[2:], geom)
    assert np.isclose(_pairing(cols, other), _pairing(x, image))


def test_convolution_keeps_images_batch_last_and_reads_them_without_copies():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3, 10, 10)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    geom = geometry("t", (3, 3), 1, 0, 1)
    y = K.conv_array(x, w, None, geom, 1)
    assert y.transpose(1, 2, 3, 0).flags.c_contiguous
    assert K.batch_last(y) is y  # the next layer's im2col reads y itself
    assert np.shares_memory(K._grad_matrix(y, 1), y)  # so does the backward
    pooled = K.max_pool_array(y, (2, 2), geom._replace(stride=(2, 2)), (4, 4))[0]
    assert pooled.transpose(1, 2, 3, 0).flags.c_contiguous
    cols = K.im2col(y, (3, 3), geom, (6, 6))
    assert cols.flags.c_contiguous and not np.shares_memory(cols, y)


def test_every_layout_gives_the_same_training_step():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, 12, 12)).astype(np.float32)
    w = cr.tensor(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), requires_grad=True)
    results = []
    for a in _layouts(x):
        t = cr.tensor(a, requires_grad=True)
        h = cr.nn.functional.conv2d(t, w, padding=1).relu()
        loss = (max_pool2d(h, 2) ** 2).sum() + avg_pool2d(h, 3, 2, 1).sum()
        grad_x, grad_w = cr.autograd.grad(loss, (t, w))
        results.append((loss.numpy(), grad_x.numpy(), grad_w.numpy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
