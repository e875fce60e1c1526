"""PyTorch parity of convolution and pooling: values and gradients over a grid of arguments.

The same float64 inputs go through chainrule and PyTorch; outputs must agree, and so must the
gradients of <v, out> for the same random v. Then the layers: the same weights give the same
outputs, and a LeNet trained step by step with Adam follows PyTorch's losses.
"""

import itertools

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.models.lenet import LeNet  # noqa: E402
from chainrule.nn.layers.conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: E402
from chainrule.nn.layers.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: E402
from chainrule.ops import conv as C  # noqa: E402
from chainrule.ops import pooling as P  # noqa: E402
from chainrule.ops import window as W  # noqa: E402

TF = torch.nn.functional


def _compare(cr_fn, torch_fn, arrays, seed=0, atol=1e-10):
    """Values and gradients of every input agree between chainrule and PyTorch."""
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = cr_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=atol)
    v = np.random.default_rng(seed).standard_normal(out.shape)
    (out * cr.tensor(v, dtype=cr.float64)).sum().backward()
    (ref * torch.tensor(v)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=atol)


def _arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


# padding='same' needs stride 1 (as in PyTorch)
CONV_GRID = [(s, p, d, g) for s, p, d, g in itertools.product([1, 2, 3], [0, 1, 2, "same"],
                                                              [1, 2], [1, 2])
             if p != "same" or s == 1]
SAME_EVEN_KERNEL = "ignore:Using padding='same' with even kernel:UserWarning"


@pytest.mark.filterwarnings(SAME_EVEN_KERNEL)
@pytest.mark.parametrize("stride,padding,dilation,groups", CONV_GRID)
def test_conv2d(stride, padding, dilation, groups):
    arrays = _arrays(stride * 7 + dilation, (2, 4, 9, 8), (6, 4 // groups, 3, 2), (6,))
    args = (stride, padding, dilation, groups)
    _compare(lambda x, w, b: C.conv2d(x, w, b, *args), lambda x, w, b: TF.conv2d(x, w, b, *args),
             arrays)


@pytest.mark.filterwarnings(SAME_EVEN_KERNEL)
@pytest.mark.parametrize("stride,padding,dilation,groups", CONV_GRID)
def test_conv1d(stride, padding, dilation, groups):
    arrays = _arrays(stride + dilation, (3, 2, 11), (4, 2 // groups, 4), (4,))
    args = (stride, padding, dilation, groups)
    _compare(lambda x, w, b: C.conv1d(x, w, b, *args), lambda x, w, b: TF.conv1d(x, w, b, *args),
             arrays)


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (s, p, op, d, g) for s, p, op, d, g in itertools.product([1, 2, 3], [0, 1], [0, 1, 2], [1, 2],
                                                             [1, 2]) if op < s])
def test_conv_transpose2d(stride, padding, output_padding, dilation, groups):
    arrays = _arrays(stride + 3 * dilation, (2, 4, 4, 5), (4, 6 // groups, 3, 3), (6,))
    args = (stride, padding, output_padding, groups, dilation)
    _compare(lambda x, w, b: C.conv_transpose2d(x, w, b, *args),
             lambda x, w, b: TF.conv_transpose2d(x, w, b, *args), arrays)


@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    (2, 1, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1)), (3, 1, 1, 2)])
def test_unfold_and_fold(kernel, stride, padding, dilation):
    (x,) = _arrays(1, (2, 3, 7, 6))
    _compare(lambda a: W.unfold(a, kernel, dilation, padding, stride),
             lambda a: TF.unfold(a, kernel, dilation, padding, stride), [x])
    blocks = TF.unfold(torch.tensor(x), kernel, dilation, padding, stride)
    (cols,) = _arrays(2, tuple(blocks.shape))
    _compare(lambda c: W.fold(c, (7, 6), kernel, dilation, padding, stride),
             lambda c: TF.fold(c, (7, 6), kernel, dilation, padding, stride), [cols])


POOL_GRID = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, ceil_mode=True),
             dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]


@pytest.mark.parametrize("kwargs", POOL_GRID)
def test_max_pool(kwargs):
    (x,) = _arrays(3, (2, 3, 7, 8))
    _compare(lambda a: P.max_pool2d(a, **kwargs), lambda a: TF.max_pool2d(a, **kwargs), [x])
    one_d = {k: v[0] if isinstance(v, tuple) else v for k, v in kwargs.items()}
    _compare(lambda a: P.max_pool1d(a, **one_d), lambda a: TF.max_pool1d(a, **one_d),
             [x[:, :, 0]])
    _, ours = P.max_pool2d(cr.tensor(x), return_indices=True, **kwargs)
    _, theirs = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool_dilation():
    (x,) = _arrays(4, (1, 2, 9, 8))
    _compare(lambda a: P.max_pool2d(a, 3, 2, 1, dilation=2),
             lambda a: TF.max_pool2d(a, 3, 2, 1, dilation=2), [x])


def test_max_pool_ties_match_pytorch():
    x = np.round(np.random.default_rng(0).standard_normal((2, 2, 6, 6)))  # many ties
    _compare(lambda a: P.max_pool2d(a, 3, 1, 1), lambda a: TF.max_pool2d(a, 3, 1, 1), [x])


@pytest.mark.parametrize("kwargs", POOL_GRID + [
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, padding=1, divisor_override=3)])
def test_avg_pool(kwargs):
    (x,) = _arrays(5, (2, 3, 7, 8))
    _compare(lambda a: P.avg_pool2d(a, **kwargs), lambda a: TF.avg_pool2d(a, **kwargs), [x])
    one_d = {k: v[0] if isinstance(v, tuple) else v for k, v in kwargs.items()
             if k != "divisor_override"}
    _compare(lambda a: P.avg_pool1d(a, **one_d), lambda a: TF.avg_pool1d(a, **one_d),
             [x[:, :, 0]])


@pytest.mark.parametrize("output_size", [1, 3, (4, 5), (None, 2), 7, (9, 10)])
def test_adaptive_avg_pool(output_size):
    (x,) = _arrays(6, (2, 3, 7, 8))
    _compare(lambda a: P.adaptive_avg_pool2d(a, output_size),
             lambda a: TF.adaptive_avg_pool2d(a, output_size), [x])
    size = output_size if isinstance(output_size, int) else 3
    _compare(lambda a: P.adaptive_avg_pool1d(a, size),
             lambda a: TF.adaptive_avg_pool1d(a, size), [x[:, :, 0]])


def test_double_backward_matches_pytorch():
    x, w = _arrays(7, (2, 3, 6, 6), (4, 3, 3, 3))
    xc = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    wc = cr.tensor(w, dtype=cr.float64, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (gx,) = cr.autograd.grad((C.conv2d(xc, wc, stride=2, padding=1) ** 2).sum(), xc,
                             create_graph=True)
    (gxt,) = torch.autograd.grad((TF.conv2d(xt, wt, stride=2, padding=1) ** 2).sum(), xt,
                                 create_graph=True)
    (gx ** 2).sum().backward()
    (gxt ** 2).sum().backward()
    np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---- layers ----------------------------------------------------------------------------------
def _load(ours, theirs):
    """Copy PyTorch's parameters into the chainrule module by name."""
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


@pytest.mark.filterwarnings(SAME_EVEN_KERNEL)
@pytest.mark.parametrize("make_ours,make_theirs,shape", [
    (lambda: Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
     lambda: torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), (2, 4, 9, 9)),
    (lambda: Conv1d(3, 5, 4, padding="same", dilation=2),
     lambda: torch.nn.Conv1d(3, 5, 4, padding="same", dilation=2), (2, 3, 12)),
    (lambda: ConvTranspose2d(4, 2, 4, stride=2, padding=1),
     lambda: torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), (1, 4, 5, 5)),
    (lambda: MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1), (1, 2, 7, 7)),
    (lambda: AvgPool2d(2), lambda: torch.nn.AvgPool2d(2), (1, 2, 7, 7)),
    (lambda: AdaptiveAvgPool2d((2, 3)), lambda: torch.nn.AdaptiveAvgPool2d((2, 3)),
     (1, 2, 7, 7)),
])
def test_layers_match_pytorch(make_ours, make_theirs, shape):
    ours, theirs = make_ours(), make_theirs()
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    for (_, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert a.shape == tuple(b.shape)
    _load(ours, theirs)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_default_init_has_pytorch_bounds():
    cr.manual_seed(0)
    conv = Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.numpy()).max() <= bound
        assert np.abs(p.numpy()).max() > 0.9 * bound
    # U(-b, b) has standard deviation b / sqrt(3), as torch's default
    assert conv.weight.numpy().std() == pytest.approx(bound / np.sqrt(3), rel=0.1)


def test_lenet_training_follows_pytorch():
    """Same weights, same batches, same Adam: the losses agree step by step."""
    cr.manual_seed(0)
    ours = LeNet(input_size=8)
    T = torch.nn
    theirs = T.Sequential(T.Conv2d(1, 6, 5, padding=2), T.ReLU(), T.MaxPool2d(2),
                          T.Conv2d(6, 16, 5, padding=2), T.ReLU(), T.MaxPool2d(2), T.Flatten(),
                          T.Linear(64, 120), T.ReLU(), T.Linear(120, 84), T.ReLU(),
                          T.Linear(84, 10))
    with torch.no_grad():
        for a, b in zip(theirs.parameters(), ours.parameters()):
            a.copy_(torch.tensor(b.numpy()))
    opt_ours = cr.optim.Adam(ours.parameters(), lr=2e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        x = rng.random((16, 1, 8, 8)).astype(np.float32)
        y = rng.integers(0, 10, 16)
        loss = nn.functional.cross_entropy(ours(cr.tensor(x)), cr.tensor(y))
        opt_ours.zero_grad()
        loss.backward()
        opt_ours.step()
        ref = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        opt_theirs.zero_grad()
        ref.backward()
        opt_theirs.step()
        assert loss.item() == pytest.approx(ref.item(), rel=1e-4, abs=1e-5)
