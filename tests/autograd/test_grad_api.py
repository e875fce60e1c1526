"""``cr.autograd.grad`` and ``Tensor.backward``: create_graph, allow_unused, non-leaf inputs,
retain_grad, ``inputs=``, and how leaf gradients are stored."""

import numpy as np
import pytest

import chainrule as cr


def _x(values=(1.0, 2.0, 3.0), dtype=None):
    return cr.tensor(list(values), dtype=dtype, requires_grad=True)


def test_grad_returns_gradients_without_touching_dot_grad():
    x, w = _x(), _x((0.5, -1.0, 2.0))
    gx, gw = cr.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_array_equal(gx.numpy(), w.numpy())
    np.testing.assert_array_equal(gw.numpy(), x.numpy())
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_grad_of_single_input_is_a_one_tuple():
    x = cr.tensor(3.0, requires_grad=True)
    result = cr.autograd.grad(x ** 2, x)
    assert isinstance(result, tuple) and len(result) == 1
    assert result[0].item() == pytest.approx(6.0)


def test_grad_with_grad_outputs_is_a_vector_jacobian_product():
    x = _x()
    v = cr.tensor([1.0, 0.0, -1.0])
    (g,) = cr.autograd.grad(x * x, x, grad_outputs=v)
    np.testing.assert_array_equal(g.numpy(), 2 * x.numpy() * v.numpy())


def test_create_graph_makes_the_gradient_differentiable():
    """d/dx (d/dx x^4) = 12 x^2, and a third derivative 24 x."""
    x = _x()
    (g,) = cr.autograd.grad((x ** 4).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (h,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(h.numpy(), 12 * x.numpy() ** 2)
    (t,) = cr.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(t.numpy(), 24 * x.numpy())


def test_backward_with_create_graph_gives_differentiable_dot_grad():
    x = _x()
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (h,) = cr.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_unused_input_raises_unless_allow_unused():
    x, unused = _x(), _x()
    with pytest.raises(RuntimeError, match="input 1.*not used.*allow_unused"):
        cr.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = cr.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0, 2.0])


def test_grad_with_respect_to_non_leaf_input():
    """The gradient reaches an intermediate h (and the graph below h is not needed)."""
    x = _x()
    h = x * 2
    y = (h * h).sum()
    (gh,) = cr.autograd.grad(y, h, retain_graph=True)
    np.testing.assert_array_equal(gh.numpy(), 2 * h.numpy())
    gh2, gx = cr.autograd.grad(y, [h, x])
    np.testing.assert_array_equal(gh2.numpy(), gh.numpy())
    np.testing.assert_array_equal(gx.numpy(), 8 * x.numpy())


def test_grad_of_several_outputs_sums_their_contributions():
    x = _x()
    (g,) = cr.autograd.grad([(x * x).sum(), (3 * x).sum()], x)
    np.testing.assert_array_equal(g.numpy(), 2 * x.numpy() + 3)


def test_grad_requires_inputs_that_require_grad():
    with pytest.raises(RuntimeError, match="input 0"):
        cr.autograd.grad((_x() * 2).sum(), cr.ones(3))


def test_retain_grad_keeps_intermediate_gradient():
    x = _x()
    h = x.exp()
    h.retain_grad()
    y = h * 3
    y.retain_grad()
    y.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(h.grad.numpy(), [3.0, 3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp(x.numpy()), rtol=1e-6)


def test_intermediates_do_not_keep_dot_grad_without_retain_grad():
    x = _x()
    h = x * 2
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_backward_inputs_accumulates_only_into_those_tensors():
    x, w = _x(), _x()
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), x.numpy())


def test_backward_of_a_leaf_with_gradient():
    x = _x()
    x.backward(cr.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


def test_gradients_accumulate_until_zeroed():
    x = _x()
    for _ in range(3):
        (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0, 6.0])
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_leaf_grad_of_broadcast_gradient_is_writable_and_owned():
    """A broadcast gradient (from sum) must not become a read-only view as .grad."""
    x = _x()
    x.sum().backward()
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_leaf_grads_do_not_share_memory():
    """Zeroing one leaf's .grad must not zero another's, nor the gradient the user passed."""
    a, b = _x(), _x()
    v = cr.ones(3)
    (a + b).backward(v)
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 1.0, 1.0])


def test_grad_of_0d_leaf_is_an_array():
    x = cr.tensor(2.0, requires_grad=True)
    (x * 3).backward()
    assert isinstance(x.grad.data, np.ndarray)
    x.grad.zero_()
    assert x.grad.item() == 0.0
