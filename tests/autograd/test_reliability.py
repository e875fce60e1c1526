"""The engine's promises under faults and bad input: RELIABILITY.md items 1-11.

Each test is named after the promise it holds; the number in its docstring is the item's.
Item 16 (dtype rules) is in test_dtype_rules.py.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def _f64(values, requires_grad=True):
    return cr.tensor(values, dtype=cr.float64, requires_grad=requires_grad)


def _numerical_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of a float64 array."""
    grad = np.zeros_like(x)
    for k in range(x.size):
        step = np.zeros_like(x)
        step.flat[k] = eps
        grad.flat[k] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


# ---- 1. shared sub-expressions ------------------------------------------------------------
def test_nonleaf_reused_twice_accumulates_gradient():
    """1: a = 1; b = a + a; c = b + b; c.backward() gives a.grad == 4."""
    a = cr.tensor(1.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_graph_matches_finite_differences():
    """1: x feeds two branches that meet again: f = sin(x) * exp(x) + sin(x) / (1 + x^2)."""

    def f(x):
        s = x.sin()
        return (s * x.exp() + s / (1 + x * x)).sum()

    x0 = np.array([0.3, -1.2, 2.0])
    x = _f64(x0)
    f(x).backward()
    expected = _numerical_grad(lambda v: f(_f64(v, False)).item(), x0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-7, atol=1e-9)


# ---- 2. depth ---------------------------------------------------------------------------------
def test_chain_of_10000_ops_forward_and_backward_without_recursion_error():
    """2: 10,000 multiplications (20,000 nodes with the additions) in one chain."""
    x = _f64([1.0])
    y = x
    for _ in range(10_000):
        y = y * 0.9999 + 0.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.9999 ** 10_000], rtol=1e-9)


def test_deep_chain_second_order_without_recursion_error():
    """2: the backward of a 5,000-op chain is itself differentiated (create_graph=True)."""
    x = _f64([0.5])
    y = x
    for _ in range(5_000):
        y = y * 1.0001
    (g,) = cr.autograd.grad((y * y).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [2 * 1.0001 ** 10_000], rtol=1e-9)


# ---- 3. freed graphs, retained graphs, fresh intermediate gradients ------------------------
def test_second_backward_through_freed_graph_raises_clear_error():
    """3: the graph is freed by the first backward; a second one says so and how to fix it."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time") as info:
        y.backward()
    assert "retain_graph=True" in str(info.value)


def test_retain_graph_allows_second_backward_and_accumulates():
    """3: with retain_graph=True the second backward adds the same gradient again."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(first, 3 * x.numpy() ** 2)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_intermediate_gradients_are_never_stale():
    """3: a retained intermediate's .grad is recomputed from the current values each time."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for scale in (1.0, 3.0):
        h = x * scale
        h.retain_grad()
        (h * h).sum().backward()
        np.testing.assert_allclose(h.grad.numpy(), 2 * scale * x.numpy())
    assert h.grad is not None and x.grad is not None


def test_retained_intermediate_gradient_accumulates_like_leaves():
    """3: with retain_graph, a retained intermediate accumulates as PyTorch's does."""
    x = cr.tensor(1.0, requires_grad=True)
    y = x * 2
    y.retain_grad()
    z = y * 3
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 12.0
    assert y.grad.item() == 6.0


# ---- 4. backward without a gradient ---------------------------------------------------------
def test_backward_of_non_scalar_without_gradient_raises():
    """4: a (2, 3) output needs ``gradient=``; the message says so and shows the shape."""
    x = cr.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        (x * 2).backward()


def test_backward_of_tensor_that_needs_no_grad_raises():
    """4: a result of tensors without requires_grad has no graph to go back through."""
    y = cr.ones(3) * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_backward_with_gradient_of_wrong_shape_raises():
    """4: ``gradient`` must have the output's shape."""
    y = cr.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(cr.ones(3))


# ---- 5. broadcasting ------------------------------------------------------------------------
@pytest.mark.parametrize("shape_a,shape_b", [((3, 1), (1, 4)), ((5,), (2, 5)), ((), (2, 3)),
                                             ((2, 3), ()), ((4, 1, 3), (2, 1))])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
def test_broadcast_gradients_have_input_shapes(shape_a, shape_b, op):
    """5: x.grad.shape == x.shape for every input of a broadcasting binary op."""
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.uniform(1, 2, shape_a), requires_grad=True)
    b = cr.tensor(rng.uniform(3, 4, shape_b), requires_grad=True)
    out = getattr(cr, op)(a, b)
    out.sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b


def test_broadcast_gradient_sums_over_the_broadcast_axes():
    """5: (3, 1) + (1, 4): each element of a is used 4 times, each of b 3 times."""
    a = cr.zeros(3, 1, requires_grad=True)
    b = cr.zeros(1, 4, requires_grad=True)
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((1, 4), 3.0))


def test_broadcast_with_python_scalar_and_reductions_keep_shapes():
    """5: a Python number broadcasts; sum/mean/max over dims give gradients of the input shape."""
    x = cr.ones(2, 3, 4, requires_grad=True)
    loss = (2.0 * x).sum(1).mean(-1, keepdim=True).max() + x.mean((0, 2)).sum()
    loss.backward()
    assert x.grad.shape == (2, 3, 4)


# ---- 6. subgradients at kinks ----------------------------------------------------------------
def test_relu_gradient_at_zero_is_zero():
    """6: relu'(0) = 0 (and 1 for x > 0, 0 for x < 0)."""
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    cr.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])


def test_abs_gradient_at_zero_is_zero():
    """6: abs'(0) = 0 (sign elsewhere)."""
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])


def test_max_ties_split_the_gradient_evenly():
    """6: max([1, 3, 3]) sends 1/2 to each 3; max([0, 0]) sends 1/2 to each 0."""
    x = cr.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5])
    z = cr.zeros(2, requires_grad=True)
    z.max().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0.5, 0.5])


def test_max_and_min_over_a_dim_split_ties_evenly():
    """6: the tie rule holds along a dimension too, per row."""
    x = cr.tensor([[2.0, 2.0, 1.0], [0.0, 5.0, 0.0]], requires_grad=True)
    (cr.max(x, dim=1).values.sum() + cr.min(x, dim=1).values.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.5, 0.5, 1.0], [0.5, 1.0, 0.5]])


def test_maximum_and_minimum_ties_split_evenly():
    """6: maximum(a, b) at a == b gives 1/2 to each side (as PyTorch does)."""
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = cr.tensor([1.0, 0.0, 5.0], requires_grad=True)
    (cr.maximum(a, b) + 2 * cr.minimum(a, b)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.5, 1.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.5, 2.0, 1.0])


def test_clamp_gradient_passes_at_the_bounds():
    """6: clamp lets the gradient through for lo <= x <= hi, bounds included (as PyTorch)."""
    x = cr.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clamp(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])


# ---- 7. second order ---------------------------------------------------------------------------
def _second_order_loss(x, w):
    """A non-quadratic scalar built from matmul, tanh, softmax, log, pow and a reduction."""
    h = cr.tanh(w @ x)
    p = cr.softmax(h * h, dim=0)
    return -(p.log() * h).sum() + (x ** 3).sum() / 3


def test_gradient_of_gradient_matches_finite_differences():
    """7: d/dx (grad f . v) equals the finite difference of grad f along v, for each v."""
    rng = np.random.default_rng(0)
    x0, w = rng.standard_normal(4), _f64(rng.standard_normal((3, 4)), False)

    def gradient(values, create_graph=False):
        x = _f64(values)
        (g,) = cr.autograd.grad(_second_order_loss(x, w), x, create_graph=create_graph)
        return x, g

    eps = 1e-6
    for k in range(4):
        v = np.eye(4)[k]
        x, g = gradient(x0, create_graph=True)
        (hv,) = cr.autograd.grad((g * cr.tensor(v, dtype=cr.float64)).sum(), x)
        fd = (gradient(x0 + eps * v)[1].numpy() - gradient(x0 - eps * v)[1].numpy()) / (2 * eps)
        np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_hessian_vector_product_is_symmetric():
    """7: u . (H v) == v . (H u) for the Hessian of a smooth loss."""
    rng = np.random.default_rng(1)
    x = _f64(rng.standard_normal(4))
    w = _f64(rng.standard_normal((3, 4)), False)
    u, v = (cr.tensor(rng.standard_normal(4), dtype=cr.float64) for _ in range(2))
    (g,) = cr.autograd.grad(_second_order_loss(x, w), x, create_graph=True)
    (hv,) = cr.autograd.grad((g * v).sum(), x, retain_graph=True)
    (hu,) = cr.autograd.grad((g * u).sum(), x)
    u_hv, v_hu = float((u * hv).sum().item()), float((v * hu).sum().item())
    assert abs(u_hv) > 1e-3
    assert u_hv == pytest.approx(v_hu, rel=1e-10, abs=1e-12)


def test_hessian_of_known_function():
    """7: f = sum x^3 / 3 + x0 x1 has H = diag(2 x) + [[0, 1], [1, 0]]."""
    x = _f64([0.5, -2.0])
    (g,) = cr.autograd.grad((x ** 3).sum() / 3 + x[0] * x[1], x, create_graph=True)
    rows = [cr.autograd.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(2)]
    np.testing.assert_allclose(np.stack(rows), [[1.0, 1.0], [1.0, -4.0]])


# ---- 8. pow of a negative base -----------------------------------------------------------------
def test_pow_negative_base_fractional_exponent_gives_nan_not_exception():
    """8: (-8) ** (1/3) is NaN like NumPy, in forward and in both gradients; no exception."""
    x = cr.tensor([-8.0, 8.0], dtype=cr.float64, requires_grad=True)
    e = cr.tensor([1 / 3, 1 / 3], dtype=cr.float64, requires_grad=True)
    y = x ** e
    with np.errstate(invalid="ignore"):
        expected = np.array([-8.0, 8.0]) ** (1 / 3)
    np.testing.assert_array_equal(np.isnan(y.numpy()), np.isnan(expected))
    assert y.numpy()[1] == pytest.approx(2.0)
    y.sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and np.isnan(e.grad.numpy()[0])
    assert x.grad.numpy()[1] == pytest.approx(1 / 3 * 8 ** (-2 / 3))
    assert e.grad.numpy()[1] == pytest.approx(2.0 * np.log(8.0))


def test_pow_negative_base_with_python_exponent_in_second_order():
    """8: the same with a constant exponent, differentiated twice."""
    x = cr.tensor([-8.0, 8.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad((x ** 0.5).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    assert np.isnan(g.numpy()[0]) and np.isnan(h.numpy()[0])
    assert h.numpy()[1] == pytest.approx(-0.25 * 8 ** -1.5)


# ---- 9. in-place changes of saved tensors -----------------------------------------------------
def test_inplace_change_of_saved_input_is_detected():
    """9: mul saves its inputs; changing one in place before backward raises, naming Mul."""
    a = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (a * w).sum()
    a.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Mul.*modified in place"):
        y.backward()


def test_inplace_change_of_saved_leaf_under_no_grad_is_detected():
    """9: even a parameter update under no_grad is caught when its old value was saved."""
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_change_of_saved_output_is_detected():
    """9: exp saves its output; changing that output in place is caught, naming Exp."""
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    with cr.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Exp.*modified in place"):
        y.sum().backward()


def test_inplace_change_through_a_detached_copy_is_detected():
    """9: detach() shares the memory, and so the version counter, of its tensor."""
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        w.detach().mul_(2.0)
    with pytest.raises(RuntimeError, match=r"Mul.*modified in place"):
        y.backward()


@pytest.mark.parametrize("view", [lambda a: a.reshape(1, 2), lambda a: a[:], lambda a: a.T,
                                  lambda a: a.unsqueeze(0).expand(3, 2)])
def test_inplace_change_of_the_base_of_a_saved_view_is_detected(view):
    """9: a view shares its base's version counter: changing either in place is caught."""
    a = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (view(a) * w).sum()
    a.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Mul.*modified in place"):
        y.backward()
    b = cr.tensor([1.0, 2.0])
    v = view(b)
    if not v.data.flags.writeable:
        return          # an expanded view is read-only, as NumPy's broadcast_to
    y = (b * w).sum()
    with cr.no_grad():
        v.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"Mul.*modified in place"):
        y.backward()


def test_views_of_a_tensor_that_is_not_changed_backward_as_usual():
    """Shared counters raise nothing when nothing changes: several views of one input."""
    a = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64, requires_grad=True)

    def f(a):
        return (a.T * a[0]).sum() + (a.reshape(4) ** 2).sum() + a.unsqueeze(0).expand(3, 2, 2).sum()

    assert cr.autograd.gradcheck(f, (a,))
    f(a).backward()
    # d/da_kl of sum_ij a_ji a_0j = a_0k + [k = 0] sum_i a_li; of sum a^2 = 2 a_kl; of expand: 3
    np.testing.assert_allclose(a.grad.numpy(), [[1 + 3 + 2 + 3, 1 + 7 + 4 + 3],
                                                [2 + 6 + 3, 2 + 8 + 3]])


def test_inplace_change_of_unsaved_input_is_harmless():
    """9: add saves nothing, so changing its input afterwards leaves the gradient right."""
    a = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (a + w).sum()
    a.mul_(10.0)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


# ---- 10. no_grad and requires_grad=False -----------------------------------------------------
def test_no_grad_records_nothing():
    """10: inside no_grad results have no grad_fn and need no grad, however deep."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = (x * 2).exp().sum()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_as_decorator_and_enable_grad_inside():
    """10: @no_grad() decorates a function; enable_grad re-enables recording inside it."""
    x = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad()
    def f(t):
        with cr.enable_grad():
            inner = t * 2
        return inner, t * 3

    inner, outer = f(x)
    assert inner.requires_grad and not outer.requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 1).requires_grad
    assert (x * 1).requires_grad


def test_tensors_without_requires_grad_get_no_grad():
    """10: a frozen weight used in the graph keeps .grad None; the trainable one gets one."""
    frozen = cr.tensor([1.0, 2.0])
    trainable = cr.tensor([3.0, 4.0], requires_grad=True)
    (frozen * trainable).sum().backward()
    assert frozen.grad is None
    np.testing.assert_array_equal(trainable.grad.numpy(), [1.0, 2.0])


def test_detached_tensor_gets_no_grad_and_cuts_the_graph():
    """10: detach() shares the data but no gradient flows through it."""
    x = cr.tensor([2.0], requires_grad=True)
    y = x * x.detach()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


# ---- 11. the checker is tested too -------------------------------------------------------------
class _CubeWithWrongBackward(Function):
    """x^3 whose backward returns 2 x^2 instead of 3 x^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x * x


class _SquareWithConstantBackward(Function):
    """x^2 whose first derivative is right but cut from the graph (second derivative lost)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x.detach()


def test_wrong_custom_backward_makes_gradcheck_fail():
    """11: gradcheck raises (element-wise and along random directions) or returns False."""
    x = _f64([0.5, -1.5, 2.0])
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(_CubeWithWrongBackward.apply, (x,))
    with pytest.raises(GradcheckError, match="directional"):
        gradcheck(_CubeWithWrongBackward.apply, (x,), n_directions=3)
    assert gradcheck(_CubeWithWrongBackward.apply, (x,), raise_exception=False) is False


def test_wrong_second_derivative_makes_gradgradcheck_fail():
    """11: a first derivative that is right but not differentiable fails gradgradcheck only."""
    x = _f64([0.5, -1.5, 2.0])
    assert gradcheck(_SquareWithConstantBackward.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(_SquareWithConstantBackward.apply, (x,))


def test_gradcheck_requires_float64():
    """11: float32 has too few digits for finite differences; the checker refuses it."""
    with pytest.raises(ValueError, match="float64"):
        gradcheck(cr.exp, (cr.ones(2, requires_grad=True),))
