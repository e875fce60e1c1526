"""Module hooks with PyTorch's semantics: forward pre-hooks and hooks (replacement, kwargs,
order, always_call) and full backward hooks and pre-hooks (values, replacement, edge cases)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def linear():
    layer = nn.Linear(3, 2).double()
    layer.weight.data[...] = W
    layer.bias.data[...] = 0.0
    return layer


def t(array, requires_grad=False):
    return cr.tensor(np.asarray(array, dtype=np.float64), dtype=np.float64,
                     requires_grad=requires_grad)


class Two(nn.Module):
    """forward(a, scale, b) -> (a * b * scale, a - b): a non-Tensor input and two outputs."""

    def forward(self, a, scale, b):
        return a * b * scale, a - b


# ---- forward hooks ----------------------------------------------------------------------------
def test_pre_hook_replaces_inputs_and_hooks_see_them():
    layer, seen = linear(), []
    layer.register_forward_pre_hook(lambda m, args: args[0] * 0)   # a single value is wrapped
    layer.register_forward_hook(lambda m, args, out: seen.append(args[0].numpy().sum()))
    out = layer(t([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(out.numpy(), [[0.0, 0.0]])
    assert seen == [0.0]


def test_hook_result_replaces_the_output_and_none_keeps_it():
    layer = linear()
    layer.register_forward_hook(lambda m, args, out: None)
    layer.register_forward_hook(lambda m, args, out: out + 1)
    np.testing.assert_array_equal(layer(t([[0.0, 0.0, 0.0]])).numpy(), [[1.0, 1.0]])


def test_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m, seen = Scale(), []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(dict(kwargs)),
                            with_kwargs=True)
    assert m(t([2.0]), factor=5.0).item() == 6.0 and seen == [{"factor": 3.0}]
    bad = Scale()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args"):
        bad(t([1.0, 2.0, 3.0]))


def test_prepend_and_remove():
    layer, order = linear(), []
    first = layer.register_forward_hook(lambda m, a, o: order.append("first"))
    layer.register_forward_hook(lambda m, a, o: order.append("prepended"), prepend=True)
    layer.register_forward_pre_hook(lambda m, a: order.append("pre"))
    layer.register_forward_pre_hook(lambda m, a: order.append("pre0"), prepend=True)
    layer(t([[1.0, 1.0, 1.0]]))
    assert order == ["pre0", "pre", "prepended", "first"]
    first.remove()
    first.remove()   # a second call does nothing
    order.clear()
    layer(t([[1.0, 1.0, 1.0]]))
    assert order == ["pre0", "pre", "prepended"]
    with layer.register_forward_hook(lambda m, a, o: order.append("scoped"), with_kwargs=False):
        pass
    layer(t([[1.0, 1.0, 1.0]]))
    assert "scoped" not in order


def test_always_call_runs_when_forward_raises():
    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m, calls = Fails(), []
    m.register_forward_hook(lambda mod, args, out: calls.append("plain"))
    m.register_forward_hook(lambda mod, args, out: calls.append(out), always_call=True)
    m.register_forward_hook(lambda mod, args, out: 1 / 0, always_call=True)
    with pytest.warns(UserWarning, match="always_call=True raised"), \
            pytest.raises(ValueError, match="boom"):
        m(t([1.0]))
    assert calls == [None]


# ---- full backward hooks ----------------------------------------------------------------------
def test_full_backward_hook_sees_input_and_output_gradients():
    layer, seen = linear(), []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    x = t([[1.0, -1.0, 2.0]], requires_grad=True)
    (layer(x) * t([[1.0, 3.0]])).sum().backward()
    (grad_input, grad_output), = seen
    np.testing.assert_array_equal(grad_output[0].numpy(), [[1.0, 3.0]])
    np.testing.assert_array_equal(grad_input[0].numpy(), [[1.0, 3.0]] @ W)   # G W
    np.testing.assert_array_equal(x.grad.numpy(), grad_input[0].numpy())


def test_hooks_replace_gradients():
    layer = linear()
    layer.register_full_backward_hook(lambda m, gi, go: tuple(g * 2 for g in gi))
    x = t([[1.0, -1.0, 2.0]], requires_grad=True)
    (layer(x) * t([[1.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * (np.array([[1.0, 3.0]]) @ W))
    np.testing.assert_array_equal(layer.weight.grad.numpy(),
                                  np.outer([1.0, 3.0], [1.0, -1.0, 2.0]))  # unchanged

    layer = linear()
    layer.register_full_backward_pre_hook(lambda m, go: (go[0] * 0 + 1,))
    (layer(x) * t([[1.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.outer([1.0, 1.0], x.numpy()))


def test_several_inputs_non_tensors_and_tuple_outputs():
    m, seen = Two(), []
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go)))
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", gi, go)))
    a = t([1.0, 2.0], requires_grad=True)
    b = t([[3.0], [4.0]], requires_grad=True)        # other shape: packed and unpacked
    p, q = m(a, 2.0, b)
    (p.sum() + 3 * q.sum()).backward()
    pre, full = seen
    assert len(pre[1]) == 2 and len(full[1]) == 3 and full[1][1] is None
    np.testing.assert_array_equal(full[2][0].numpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(full[2][1].numpy(), 3 * np.ones((2, 2)))
    np.testing.assert_array_equal(full[1][0].numpy(), a.grad.numpy())
    np.testing.assert_array_equal(a.grad.numpy(), 2 * np.array([7.0, 7.0]) + 6)
    np.testing.assert_array_equal(b.grad.numpy(), 2 * np.array([[3.0], [3.0]]) - 6)


def test_input_without_grad_gives_none():
    m, seen = Two(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    a, b = t([1.0, 2.0], requires_grad=True), t([3.0, 4.0])
    m(a, 1.0, b)[0].sum().backward()
    assert seen[0][0] is not None and seen[0][1] is None and seen[0][2] is None


def test_no_input_requiring_grad_fires_on_output_gradients():
    layer, seen = linear(), []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        layer(t([[1.0, 2.0, 3.0]])).sum().backward()
    assert seen[0][0] == (None,) and seen[0][1][0].shape == (1, 2)
    assert layer.weight.grad is not None
    bad = linear()
    bad.register_full_backward_hook(lambda m, gi, go: (go[0],))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="should always return None"):
            bad(t([[1.0, 2.0, 3.0]])).sum().backward()


def test_wrong_lengths_raise():
    layer = linear()
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    x = t([[1.0, 2.0, 3.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        layer(x).sum().backward()
    layer = linear()
    layer.register_full_backward_pre_hook(lambda m, go: ())
    with pytest.raises(RuntimeError, match="invalid number of grad_output"):
        layer(x).sum().backward()


def test_removed_hooks_are_not_called_and_no_grad_skips_them():
    layer, seen = linear(), []
    handle = layer.register_full_backward_hook(lambda m, gi, go: seen.append(1))
    x = t([[1.0, 2.0, 3.0]], requires_grad=True)
    layer(x).sum().backward()
    handle.remove()
    layer(x).sum().backward()
    assert seen == [1] and not layer._backward_hooks
    layer.register_full_backward_hook(lambda m, gi, go: seen.append(2))
    with cr.no_grad():
        assert not layer(x).requires_grad
    assert seen == [1]


def test_hooks_inside_a_network_and_double_backward():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    x = t(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    (plain,) = cr.autograd.grad(net(x).sum(), x, create_graph=True)
    seen = []
    net[1].register_full_backward_hook(lambda m, gi, go: seen.append(gi[0].shape))
    (hooked,) = cr.autograd.grad(net(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(hooked.numpy(), plain.numpy(), rtol=1e-14)
    assert seen == [(5, 4)]
    (second,) = cr.autograd.grad((hooked ** 2).sum(), x)        # through the hook node
    (expected,) = cr.autograd.grad((plain ** 2).sum(), x)
    np.testing.assert_allclose(second.numpy(), expected.numpy(), rtol=1e-12)
