"""User-defined operations: ``cr.autograd.Function`` with save_for_backward, needs_input_grad,
non-Tensor arguments, and second derivatives through a user-written backward."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, gradcheck, gradgradcheck


class ScaledCube(Function):
    """y = scale * x^3 ; dy/dx = 3 scale x^2 (``scale`` is a plain number)."""

    calls = []

    @staticmethod
    def forward(ctx, x, scale):
        assert isinstance(x, cr.Tensor)  # forward sees the Tensors, as in PyTorch
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        assert isinstance(x, cr.Tensor) and isinstance(grad_output, cr.Tensor)
        return grad_output * 3 * ctx.scale * x * x, None


class WeightedSum(Function):
    """y = sum(w * x) ; records which gradients were asked for."""

    asked = []

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return (x * w).sum()

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        WeightedSum.asked.append(tuple(ctx.needs_input_grad))
        gx = grad_output * w if ctx.needs_input_grad[0] else None
        gw = grad_output * x if ctx.needs_input_grad[1] else None
        return gx, gw


def test_custom_function_forward_and_backward():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    y = ScaledCube.apply(x, 0.5)
    assert y.grad_fn is not None and y.grad_fn.name == "ScaledCube"
    np.testing.assert_allclose(y.numpy(), [0.5, -4.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.5, 6.0])


def test_custom_function_passes_gradcheck_and_gradgradcheck():
    """Its backward uses Tensor operations, so it is differentiable a second time."""
    x = cr.tensor([0.3, -1.1, 2.0], dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda t: ScaledCube.apply(t, 1.5), (x,))
    assert gradgradcheck(lambda t: ScaledCube.apply(t, 1.5), (x,))


def test_needs_input_grad_tells_which_inputs_need_a_gradient():
    WeightedSum.asked.clear()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    WeightedSum.apply(x, w).backward()
    assert WeightedSum.asked == [(True, False)]
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert w.grad is None


def test_custom_function_without_grad_records_nothing():
    x = cr.tensor([1.0, 2.0])
    y = WeightedSum.apply(x, cr.tensor([1.0, 1.0]))
    assert not y.requires_grad and y.grad_fn is None
    with cr.no_grad():
        z = WeightedSum.apply(cr.tensor([1.0], requires_grad=True), cr.tensor([2.0]))
    assert z.grad_fn is None


def test_saved_tensors_after_backward_are_freed():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = ScaledCube.apply(x, 1.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_returning_too_few_gradients_is_reported():
    class Broken(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    a = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Broken.*1 gradients for 2 inputs"):
        Broken.apply(a, cr.tensor([2.0])).backward()


def test_backward_returning_wrong_shape_is_reported():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad_output):
            return cr.ones(5)

    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShape.*\(5,\).*\(2,\)"):
        BadShape.apply(a).sum().backward()


def test_custom_function_gradient_is_reduced_over_broadcast_axes():
    """A backward may return the broadcast shape; the engine sums it back to the input's."""

    class AddRow(Function):
        @staticmethod
        def forward(ctx, x, row):
            return x + row

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, grad_output

    x = cr.ones(3, 4, requires_grad=True)
    row = cr.ones(4, requires_grad=True)
    AddRow.apply(x, row).sum().backward()
    np.testing.assert_array_equal(row.grad.numpy(), np.full(4, 3.0))
