"""The Tensor class: attributes, conversion, repr, methods, in-place operations, detach."""

import numpy as np
import pytest

import chainrule as cr


def test_attributes():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == np.float32
    assert x.size() == (2, 3) and x.size(1) == 3 and x.dim() == 2 and x.numel() == 6
    assert len(x) == 2 and x.device == "cpu"
    assert x.is_leaf and x.grad_fn is None and not x.requires_grad
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2)


def test_constructor_follows_the_dtype_rule():
    t = cr.Tensor([1.0, 2.0], requires_grad=True)
    assert t.dtype == np.float32 and t.requires_grad and t.is_leaf
    assert cr.Tensor(np.arange(3)).dtype == np.int64
    assert cr.Tensor([1.0], dtype=cr.float64).dtype == np.float64


def test_item_and_python_conversions():
    assert cr.tensor(2.5).item() == 2.5 and isinstance(cr.tensor(2.5).item(), float)
    assert cr.tensor([[7]]).item() == 7
    assert float(cr.tensor(1.5)) == 1.5 and int(cr.tensor(3)) == 3
    assert bool(cr.tensor([1.0])) and not bool(cr.tensor(0.0))
    with pytest.raises(ValueError, match=r"only one-element tensors .* \(2,\)"):
        cr.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))


def test_numpy_shares_memory_and_tolist():
    x = cr.tensor([1.0, 2.0])
    a = x.numpy()
    a[0] = 10.0
    assert x.tolist() == [10.0, 2.0]
    assert np.asarray(x).dtype == np.float32
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


def test_iteration_yields_rows():
    rows = list(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]


def test_repr():
    assert repr(cr.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(cr.tensor(3.5)) == "tensor(3.5)"
    assert repr(cr.tensor([1.0], dtype=cr.float64)) == "tensor([1.], dtype=float64)"
    assert repr(cr.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(cr.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<MulBackward>)"
    assert "\n" in repr(cr.ones(2, 2))


def test_operators_with_python_numbers_on_either_side():
    x = cr.tensor([1.0, 2.0])
    for result, expected in [(x + 1, [2, 3]), (1 + x, [2, 3]), (x - 1, [0, 1]), (1 - x, [0, -1]),
                             (x * 2, [2, 4]), (2 * x, [2, 4]), (x / 2, [0.5, 1]),
                             (2 / x, [2, 1]), (x ** 2, [1, 4]), (2 ** x, [2, 4]),
                             (-x, [-1, -2]), (+x, [1, 2]), (abs(-x), [1, 2])]:
        np.testing.assert_array_equal(result.numpy(), expected)
        assert result.dtype == np.float32


def test_operators_with_numpy_arrays_on_either_side():
    """NumPy defers to Tensor, so ``array + tensor`` is a Tensor, not an object array."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for result in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x,
                   np.eye(2) @ x):
        assert isinstance(result, cr.Tensor) and result.requires_grad
        assert result.dtype == np.float32


def test_methods_call_the_ops():
    x = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
    np.testing.assert_allclose(x.exp().numpy(), np.exp(x.numpy()))
    np.testing.assert_array_equal(x.relu().numpy(), [[1.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(x.clamp(min=0.0).numpy(), x.relu().numpy())
    assert x.sum(1).tolist() == [-1.0, 7.0] and x.mean().item() == 1.5
    assert x.reshape(4).shape == (4,) and x.view(-1, 1).shape == (4, 1)
    assert x.flatten().shape == (4,) and x.unsqueeze(0).squeeze(0).shape == (2, 2)
    assert x.permute(1, 0).tolist() == x.T.tolist() == x.transpose(0, 1).tolist()
    assert x.expand(3, 2, 2).shape == (3, 2, 2) and x.repeat(2, 1).shape == (4, 2)
    assert x.softmax(1).sum(1).tolist() == pytest.approx([1.0, 1.0])
    assert x.argmax().item() == 3 and x.norm().item() == pytest.approx(np.sqrt(30.0))


def test_detach_shares_data_and_leaves_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.grad_fn is None


def test_requires_grad_rules():
    x = cr.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.tensor([1, 2]).requires_grad_()
    y = cr.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only allowed on leaves"):
        y.requires_grad_(False)


@pytest.mark.parametrize("inplace", [
    lambda t: t.zero_(), lambda t: t.fill_(1.0), lambda t: t.copy_(cr.ones(3)),
    lambda t: t.add_(1.0), lambda t: t.sub_(1.0), lambda t: t.mul_(2.0), lambda t: t.div_(2.0),
    lambda t: t.clamp_(0.0, 1.0),
], ids=["zero_", "fill_", "copy_", "add_", "sub_", "mul_", "div_", "clamp_"])
def test_inplace_on_leaf_requiring_grad_raises_unless_no_grad(inplace):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad .* in-place operation"):
        inplace(x)
    with cr.no_grad():
        assert inplace(x) is x
    assert x._version == 1


def test_inplace_values():
    x = cr.tensor([1.0, 2.0, 3.0])
    x.add_(cr.ones(3), alpha=2).mul_(2.0).sub_(1.0).div_(2.0).clamp_(max=3.0)
    np.testing.assert_allclose(x.numpy(), [2.5, 3.0, 3.0])
    x.fill_(4.0)
    assert x.tolist() == [4.0, 4.0, 4.0]
    x.copy_(cr.tensor([1.0, 2.0, 3.0]))
    x[1] = 0.0
    assert x.tolist() == [1.0, 0.0, 3.0] and x._version == 8


def test_grad_can_be_zeroed_in_place():
    """An optimiser's zero_grad may write into .grad (it does not require grad)."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]


def test_to_dtype_and_device():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    assert x.to(cr.float64).dtype == np.float64 and x.double().requires_grad
    assert x.to(dtype=cr.float32) is x
    assert x.float().dtype == np.float32 and x.long().dtype == np.int64
    assert x.int().dtype == np.int32 and x.bool().dtype == np.bool_
    assert x.to("cpu") is x and x.cpu() is x
    with pytest.raises(ValueError, match="unknown device"):
        x.to("tpu")


def test_tensor_is_hashable_by_identity():
    a, b = cr.tensor([1.0]), cr.tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_comparison_operators_return_tensors():
    x = cr.tensor([1.0, 2.0])
    assert isinstance(x == 1.0, cr.Tensor) and (x == 1.0).tolist() == [True, False]


METHOD_OPS = ("exp log sqrt tanh sigmoid relu abs clamp clip pow maximum sum mean max var std "
              "logsumexp argmax softmax log_softmax reshape view flatten transpose permute "
              "squeeze unsqueeze expand broadcast_to sum_to split chunk repeat clone eq lt "
              "isnan allclose square rsqrt").split()


def test_tensor_methods_are_the_ops_themselves():
    """An op declared with ``tensor_method`` is the Tensor method of the same name."""
    for name in METHOD_OPS:
        assert getattr(cr.Tensor, name) is getattr(cr.ops, name), name
    x = cr.ones(2, 3)
    np.testing.assert_array_equal(x.clip(0, 0.5).numpy(), cr.clamp(x, 0, 0.5).numpy())


def test_where_method_takes_condition_then_other_like_pytorch():
    """``x.where(cond, y)`` is ``where(cond, x, y)``: x is the value kept where cond holds."""
    x = cr.tensor([-1.0, 2.0], requires_grad=True)
    y = x.where(x > 0, 0.0)
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])
