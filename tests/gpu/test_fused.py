"""The GPU's fused kernels and cuDNN convolutions, checked on the CPU and (marked ``gpu``) on a GPU.

A ``gpu_fused`` kernel called with NumPy arrays runs as plain NumPy calls, so on the CPU each
formula is compared with the in-place code the CPU runs: the GPU recurrence loops of
``recurrent_gpu`` against ``recurrent_kernels`` (states, factors, every gradient), and the
fused optimiser updates against the in-place ones, bit for bit. The cuDNN convolution primitive
is checked on the CPU through a NumPy stand-in that has ``cupyx.cudnn``'s calling convention.
The tests marked ``gpu`` run the same paths on CuPy arrays against the CPU.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from chainrule.ops import conv_cudnn, fused
from chainrule.ops import recurrent_gpu as rg
from chainrule.ops import recurrent_kernels as rk
from chainrule.ops.window import Conv, Geometry
from chainrule.ops.window_kernels import conv_array, conv_grad_weight_array, conv_transpose_array
from chainrule.optim import adam, sgd

T, B, H = 5, 3, 4
NEEDS = (True, True, True, True)
OPTIMISERS = [
    (cr.optim.Adam, dict(lr=0.1)),
    (cr.optim.Adam, dict(lr=0.1, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, maximize=True)),
    (cr.optim.Adam, dict(lr=0.1, amsgrad=True)),
    (cr.optim.AdamW, dict(lr=0.1, weight_decay=0.3)),
    (cr.optim.AdamW, dict(lr=0.05, amsgrad=True, maximize=True)),
    (cr.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (cr.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    (cr.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
]
needs_gpu = pytest.mark.skipif(not cr.cuda.is_available(),
                               reason="CuPy with a CUDA GPU is not available")


def _recurrence(gates, masked, zero_start, seed=0):
    """gx (T, B, gates H), h0, W_hh, and a mask of valid steps (two sequences end early)."""
    rng = np.random.default_rng(seed)
    gx = rng.standard_normal((T, B, gates * H))
    h0 = np.zeros((B, H)) if zero_start else rng.standard_normal((B, H))
    w_hh = rng.standard_normal((gates * H, H)) * 0.5
    mask = None
    if masked:
        mask = np.ones((T, B, 1), bool)
        mask[3:, 0] = mask[4:, 2] = False
    return gx, h0, w_hh, mask


def _assert_all_close(got, ref):
    for g, r in zip(got, ref, strict=True):
        assert (g is None) == (r is None)
        if r is not None:
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


CASES = [(masked, reverse, zero) for masked in (False, True) for reverse in (False, True)
         for zero in (False, True)]


# ---- the decorator ----------------------------------------------------------------------------
def test_gpu_fused_is_the_identity_without_cupy(monkeypatch):
    monkeypatch.setattr(fused, "_cupy", None)

    def kernel(a, b):
        return a * b + 1

    assert fused.gpu_fused("chainrule_test")(kernel) is kernel


def test_kernels_are_plain_functions_here():
    if fused._cupy is None:
        assert fused.lstm_cell.__name__ == "lstm_cell" and callable(fused.adam_step)
    assert conv_cudnn.convolution(cr.zeros(1, 1, 3, 3), Geometry((1, 1), ((0, 0),) * 2,
                                                                 (1, 1))) is Conv


# ---- one step of each cell against the CPU kernels ----------------------------------------------
def test_lstm_cell_is_one_step_of_lstm_forward():
    gx, h0, w_hh, _ = _recurrence(4, False, False)
    c0 = np.random.default_rng(1).standard_normal((B, H))
    out, local = rk.lstm_forward(gx[:1], h0, c0, w_hh, None, False, True)
    hw = h0 @ w_hh.T
    blocks = [a[:, k * H:(k + 1) * H] for a in (gx[0], hw) for k in range(4)]
    h, c, *q = fused.lstm_cell(*blocks, c0, h0, np.ones((1, 1), bool))
    _assert_all_close([h, c, np.stack(q)], [out[0], out[1], local[0]])


def test_gru_cell_is_one_step_of_gru_forward():
    gx, h0, w_hh, _ = _recurrence(3, False, False)
    b_hh = np.random.default_rng(1).standard_normal(3 * H)
    hs, local = rk.gru_forward(gx[:1], h0, w_hh, b_hh, None, False, True)
    gh = h0 @ w_hh.T + b_hh
    blocks = [a[:, k * H:(k + 1) * H] for a in (gx[0], gh) for k in range(3)]
    h, *q = fused.gru_cell(*blocks, h0, np.ones((1, 1), bool))
    _assert_all_close([h, np.stack(q)], [hs[0], local[0]])


def test_a_padded_step_carries_the_state_over():
    gx, h0, w_hh, _ = _recurrence(4, False, False)
    c0 = np.random.default_rng(2).standard_normal((B, H))
    blocks = [gx[0][:, k * H:(k + 1) * H] for k in range(4)] * 2
    h, c, *q = fused.lstm_cell(*blocks, c0, h0, np.zeros((B, 1), bool))
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)
    np.testing.assert_array_equal(np.stack(q)[:, 0, 0], [0, 0, 0, 1, 0, 0])


# ---- the GPU loops (run on NumPy arrays) against the CPU kernels -------------------------------
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("masked, reverse, zero_start", CASES)
def test_rnn_loops_match_the_cpu_kernels(masked, reverse, zero_start, nonlinearity):
    gx, h0, w_hh, mask = _recurrence(1, masked, zero_start)
    hs = rk.rnn_forward(gx, h0, w_hh, mask, reverse, nonlinearity)
    _assert_all_close([rg.rnn_forward(gx, h0, w_hh, mask, reverse, nonlinearity)], [hs])
    grad = np.random.default_rng(3).standard_normal(hs.shape)
    args = (grad, gx, h0, w_hh, hs, mask, reverse, nonlinearity, NEEDS[:3])
    _assert_all_close(rg.rnn_backward(*args), rk.rnn_backward(*args))


@pytest.mark.parametrize("masked, reverse, zero_start", CASES)
def test_lstm_loops_match_the_cpu_kernels(masked, reverse, zero_start):
    gx, h0, w_hh, mask = _recurrence(4, masked, zero_start)
    c0 = np.random.default_rng(1).standard_normal((B, H))
    out, local = rk.lstm_forward(gx, h0, c0, w_hh, mask, reverse, True)
    _assert_all_close(rg.lstm_forward(gx, h0, c0, w_hh, mask, reverse, True), [out, local])
    assert rg.lstm_forward(gx, h0, c0, w_hh, mask, reverse, False)[1] is None
    grad = np.random.default_rng(3).standard_normal(out.shape)
    for needs in (NEEDS, (True, False, False, True), (False, True, True, False)):
        args = (grad, gx, h0, c0, w_hh, out, local, mask, reverse, needs)
        _assert_all_close(rg.lstm_backward(*args), rk.lstm_backward(*args))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masked, reverse, zero_start", CASES)
def test_gru_loops_match_the_cpu_kernels(masked, reverse, zero_start, bias):
    gx, h0, w_hh, mask = _recurrence(3, masked, zero_start)
    b_hh = np.random.default_rng(1).standard_normal(3 * H) if bias else None
    hs, local = rk.gru_forward(gx, h0, w_hh, b_hh, mask, reverse, True)
    _assert_all_close(rg.gru_forward(gx, h0, w_hh, b_hh, mask, reverse, True), [hs, local])
    grad = np.random.default_rng(3).standard_normal(hs.shape)
    for needs in (NEEDS, (True, False, True, False), (False, True, False, True)):
        args = (grad, gx, h0, w_hh, b_hh, hs, local, mask, reverse, needs)
        _assert_all_close(rg.gru_backward(*args), rk.gru_backward(*args))


# ---- optimisers: the fused update equals the in-place one, bit for bit -------------------------
def _train(cls, options, dtype, steps=4, fuse=False, monkeypatch=None):
    """The parameters after ``steps`` steps from fixed gradients (through the fused path)."""
    if fuse:
        module = sgd if cls is cr.optim.SGD else adam
        monkeypatch.setattr(module, "is_gpu_array", lambda array: True)
    w = cr.tensor(np.arange(12.0).reshape(3, 4) / 7 - 0.5, dtype=dtype, requires_grad=True)
    opt = cls([w], **options)
    rng = np.random.default_rng(5)
    for _ in range(steps):
        w.grad = cr.tensor(rng.standard_normal((3, 4)), dtype=dtype)
        opt.step()
    if fuse:
        monkeypatch.undo()
    return w.data, opt.state[w]


@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
@pytest.mark.parametrize("cls, options", OPTIMISERS)
def test_fused_optimiser_update_equals_the_in_place_one(cls, options, dtype, monkeypatch):
    ref, ref_state = _train(cls, options, dtype)
    got, got_state = _train(cls, options, dtype, fuse=True, monkeypatch=monkeypatch)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)
    for key, value in ref_state.items():
        np.testing.assert_array_equal(got_state[key], value)


def test_adam_kernel_is_the_adam_formula():
    rng = np.random.default_rng(7)
    w, g, m, v = rng.standard_normal((4, 6))
    v = v * v
    beta1, beta2, lr, eps, step = 0.9, 0.99, 0.01, 1e-8, 3
    m_t, v_t = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m_t / (1 - beta1 ** step), v_t / (1 - beta2 ** step)
    got = fused.adam_step(w, g, m, v, 1.0, beta1, 1 - beta1, beta2, 1 - beta2,
                          lr / (1 - beta1 ** step), np.sqrt(1 - beta2 ** step), eps)
    np.testing.assert_allclose(got[0], w - lr * m_hat / (np.sqrt(v_hat) + eps), rtol=1e-12)
    np.testing.assert_allclose(got[1], m_t, rtol=1e-14)
    np.testing.assert_allclose(got[2], v_t, rtol=1e-14)


# ---- the cuDNN primitive, on the CPU through a NumPy stand-in ----------------------------------
class _NumpyCudnn:
    """``cupyx.cudnn``'s three convolution calls (write into the caller's output; symmetric
    padding), computed by the im2col kernels: checks CudnnConv's shapes, arguments and backward
    on the CPU."""

    @staticmethod
    def _geom(pad, stride, dilation):
        return Geometry(tuple(stride), tuple((p, p) for p in pad), tuple(dilation))

    def convolution_forward(self, x, w, b, y, pad, stride, dilation, groups, **options):
        y[...] = conv_array(x, w, b, self._geom(pad, stride, dilation), groups)

    def convolution_backward_data(self, w, gy, b, gx, pad, stride, dilation, groups, **options):
        gx[...] = conv_transpose_array(gy, w, b, self._geom(pad, stride, dilation), groups,
                                       gx.shape[2:])

    def convolution_backward_filter(self, x, gy, gw, pad, stride, dilation, groups, **options):
        gw[...] = conv_grad_weight_array(x, gy, self._geom(pad, stride, dilation), groups,
                                         gw.shape[2:])


CONVS = [  # (stride, padding, dilation, groups)
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2), ((2, 1), (0, 1), (1, 2), 2),
]


def _conv_case(groups, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2, 4, 9, 8)).astype(dtype),
            rng.standard_normal((6, 4 // groups, 3, 3)).astype(dtype),
            rng.standard_normal(6).astype(dtype))


@pytest.mark.parametrize("stride, padding, dilation, groups", CONVS)
def test_cudnn_conv_primitive_matches_conv(stride, padding, dilation, groups, monkeypatch):
    monkeypatch.setattr(conv_cudnn, "cudnn", _NumpyCudnn)
    arrays = _conv_case(groups)
    geom = cr.ops.window.geometry("conv2d", (3, 3), stride, padding, dilation)
    results = []
    for primitive in (Conv, conv_cudnn.CudnnConv):
        x, w, b = (cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays)
        y = primitive.apply(x, w, b, geom, groups)
        (gx, gw, gb) = cr.autograd.grad((y * y).sum(), (x, w, b), create_graph=True)
        (ggx,) = cr.autograd.grad((gw * gw).sum(), x)
        results.append([t.data for t in (y, gx, gw, gb, ggx)])
    for got, ref in zip(results[1], results[0]):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_cudnn_is_not_used_for_numpy_arrays_or_uneven_padding():
    assert conv_cudnn.cudnn() is None or fused._cupy is not None
    even = Geometry((1, 1), ((1, 1), (0, 0)), (1, 1))
    uneven = Geometry((1, 1), ((0, 1), (1, 1)), (1, 1))
    assert not conv_cudnn.supported(np.zeros((1, 1, 4, 4)), even)
    assert not conv_cudnn.supported(np.zeros((1, 1, 4, 4)), uneven)


# ---- on a GPU: the fused and cuDNN paths against the CPU ---------------------------------------
def _to_cpu(tensors):
    return [backend.to_numpy(t) for t in tensors]


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_on_gpu_match_cpu(layer):
    x = np.random.default_rng(0).standard_normal((3, 6, 5))
    results = {}
    for device in ("cpu", "cuda"):
        cr.manual_seed(0)
        model = getattr(cr.nn, layer)(5, 4, num_layers=2, batch_first=True,
                                      bidirectional=True).double().to(device)
        inputs = cr.tensor(x, dtype=cr.float64, requires_grad=True).to(device)
        out = model(inputs)[0]
        (out * out).sum().backward()
        grads = [p.grad.data for p in model.parameters()]
        results[device] = _to_cpu([out.data, inputs.grad.data, *grads])
    for got, ref in zip(results["cuda"], results["cpu"], strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
@pytest.mark.parametrize("cls, options", OPTIMISERS)
def test_optimiser_steps_on_gpu_match_cpu(cls, options, dtype):
    results = {}
    for device in ("cpu", "cuda"):
        w = cr.tensor(np.arange(12.0).reshape(3, 4) / 7 - 0.5, dtype=dtype,
                      requires_grad=True).to(device).detach().requires_grad_()
        opt = cls([w], **options)
        rng = np.random.default_rng(5)
        for _ in range(4):
            w.grad = cr.tensor(rng.standard_normal((3, 4)), dtype=dtype).to(device)
            opt.step()
        assert backend.device_of(w.data) == device
        results[device] = backend.to_numpy(w.data)
    tolerance = 1e-12 if dtype == cr.float64 else 1e-5
    np.testing.assert_allclose(results["cuda"], results["cpu"], rtol=tolerance, atol=tolerance)


@pytest.mark.gpu
@needs_gpu
def test_fused_kernels_on_cupy_arrays_match_numpy():
    import cupy

    gx, h0, w_hh, mask = _recurrence(4, True, False)
    c0 = np.random.default_rng(1).standard_normal((B, H))
    ref = rg.lstm_forward(gx, h0, c0, w_hh, mask, False, True)
    got = rg.lstm_forward(*(cupy.asarray(a) for a in (gx, h0, c0, w_hh, mask)), False, True)
    _assert_close_gpu(got, ref)


def _assert_close_gpu(got, ref, tolerance=1e-12):
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(backend.to_numpy(g), r, rtol=tolerance, atol=tolerance)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype, tolerance", [(cr.float64, 1e-10), (cr.float32, 2e-2)])
@pytest.mark.parametrize("stride, padding, dilation, groups", CONVS)
def test_conv2d_through_cudnn_matches_cpu(stride, padding, dilation, groups, dtype, tolerance):
    if conv_cudnn.cudnn() is None:
        pytest.skip("cuDNN is not available to CuPy (the im2col path is tested elsewhere)")
    arrays = _conv_case(groups, np.dtype(dtype))
    results = {}
    for device in ("cpu", "cuda"):
        x, w, b = (cr.tensor(a, dtype=dtype).to(device).requires_grad_() for a in arrays)
        y = cr.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)
        assert isinstance(y.grad_fn, conv_cudnn.CudnnConv) == (device == "cuda")
        (y * y).sum().backward()
        results[device] = _to_cpu([y.data, x.grad.data, w.grad.data, b.grad.data])
    for got, ref in zip(results["cuda"], results["cpu"], strict=True):
        scale = max(np.abs(ref).max(), 1.0)
        np.testing.assert_allclose(got, ref, rtol=tolerance, atol=tolerance * scale)


@pytest.mark.gpu
@needs_gpu
def test_conv1d_through_cudnn_matches_cpu():
    rng = np.random.default_rng(4)
    arrays = rng.standard_normal((2, 4, 20)), rng.standard_normal((6, 2, 5))
    results = {}
    for device in ("cpu", "cuda"):
        x, w = (cr.tensor(a, dtype=cr.float64).to(device).requires_grad_() for a in arrays)
        y = cr.nn.functional.conv1d(x, w, stride=2, padding=2, dilation=2, groups=2)
        (y * y).sum().backward()
        results[device] = _to_cpu([y.data, x.grad.data, w.grad.data])
    for got, ref in zip(results["cuda"], results["cpu"], strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
