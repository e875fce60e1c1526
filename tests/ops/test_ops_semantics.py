"""What the op table cannot say in one row: return conventions, indexing that repeats,
adjoint pairs, numerically extreme inputs and special points of the derivatives."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None)


# ---- return conventions -------------------------------------------------------------------------
def test_max_and_min_with_dim_return_values_and_indices():
    x = cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = cr.max(x, dim=1)
    result = x.min(0, keepdim=True)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(result.values.numpy(), [[1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(result.indices.numpy(), [[0, 1, 0]])
    assert x.max().item() == 7.0


def test_max_with_a_tensor_is_the_elementwise_maximum():
    a, b = cr.tensor([1.0, 4.0]), cr.tensor([3.0, 2.0])
    np.testing.assert_array_equal(cr.max(a, b).numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(cr.min(a, b).numpy(), [1.0, 2.0])


def test_argmax_over_all_elements_and_keepdim():
    x = cr.tensor([[1.0, 9.0], [3.0, 4.0]])
    assert x.argmax().item() == 1 and x.argmin().item() == 0
    assert x.argmax(keepdim=True).shape == (1, 1)
    np.testing.assert_array_equal(x.argmax(dim=0).numpy(), [1, 0])


def test_comparisons_give_boolean_tensors_without_grad():
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    for mask in (x > 0, x >= 0, x < 0, x <= 0, x == 0, x != 0, 0 < x):
        assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal((x > 0).numpy(), [False, False, True])
    np.testing.assert_array_equal((~(x > 0) & (x < 1)).numpy(), [True, True, False])


def test_where_with_tensor_condition_and_scalar_branch():
    x = cr.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = cr.where(x > 0, x * x, 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.25, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 4.0])


def test_split_with_int_leaves_a_smaller_last_piece():
    parts = cr.split(cr.arange(7.0), 3)
    assert [p.shape for p in parts] == [(3,), (3,), (1,)]
    assert [p.shape for p in cr.chunk(cr.arange(7.0), 2)] == [(4,), (3,)]


def test_transpose_of_vector_is_itself():
    v = cr.tensor([1.0, 2.0])
    assert v.T is v and cr.t(v) is v


# ---- indexing ---------------------------------------------------------------------------------
def test_repeated_integer_index_accumulates_gradient():
    x = cr.tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_boolean_mask_from_comparison_selects_and_scatters_back():
    x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.numpy(), [1.0, 4.0])
    (picked * picked).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0], [0.0, 8.0]])


def test_class_index_pairs_pick_one_element_per_row():
    logp = cr.tensor(np.log(np.full((3, 4), 0.25)), requires_grad=True)
    target = cr.tensor([3, 0, 3])
    picked = logp[cr.arange(3), target]
    picked.sum().backward()
    expected = np.zeros((3, 4))
    expected[[0, 1, 2], [3, 0, 3]] = 1
    np.testing.assert_array_equal(logp.grad.numpy(), expected)


def test_setitem_on_a_tensor_requiring_grad_raises():
    x = cr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="__setitem__"):
        x[0] = 5.0
    with cr.no_grad():
        x[0] = 5.0
    assert x.numpy()[0] == 5.0


# ---- adjoint pairs: <A x, y> == <x, A^T y> ---------------------------------------------------
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3,
                                                max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_broadcast_to_and_sum_to_are_adjoint(shapes, seed):
    rng = np.random.default_rng(seed)
    shape, target = shapes.input_shapes[0], shapes.result_shape
    x = cr.tensor(rng.standard_normal(shape), dtype=cr.float64)
    y = cr.tensor(rng.standard_normal(target), dtype=cr.float64)
    left = (cr.broadcast_to(x, target) * y).sum().item()
    right = (x * cr.sum_to(y, shape)).sum().item()
    assert left == pytest.approx(right, rel=1e-12, abs=1e-12)


@SETTINGS
@given(n=st.integers(1, 6), data=st.data())
def test_indexing_and_its_gradient_are_adjoint(n, data):
    """<x[idx], y> == <x, grad>, where grad scatters y back (adding repeats)."""
    idx = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=8))
    rng = np.random.default_rng(len(idx))
    x = cr.tensor(rng.standard_normal(n), dtype=cr.float64, requires_grad=True)
    y = rng.standard_normal(len(idx))
    picked = x[idx]
    (g,) = cr.autograd.grad(picked, x, cr.tensor(y, dtype=cr.float64))
    assert float(picked.numpy() @ y) == pytest.approx(float(x.numpy() @ g.numpy()), rel=1e-12)


@SETTINGS
@given(sizes=st.lists(st.integers(1, 3), min_size=1, max_size=4), dim=st.integers(0, 1))
def test_cat_then_split_gives_back_the_pieces(sizes, dim):
    rng = np.random.default_rng(sum(sizes))
    pieces = [cr.tensor(rng.standard_normal((s, 2) if dim == 0 else (2, s))) for s in sizes]
    for a, b in zip(cr.split(cr.cat(pieces, dim), sizes, dim), pieces):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---- extreme inputs -------------------------------------------------------------------------
def test_log_softmax_and_softmax_of_large_logits():
    """RELIABILITY 12: log_softmax([1000, 1]) == [0, -999], finite gradients."""
    x = cr.tensor([1000.0, 1.0], requires_grad=True)
    np.testing.assert_allclose(cr.log_softmax(x, 0).numpy(), [0.0, -999.0])
    np.testing.assert_allclose(cr.softmax(x, 0).numpy(), [1.0, 0.0])
    cr.log_softmax(x, 0)[1].backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0])


def test_logsumexp_of_large_and_of_minus_infinite_inputs():
    x = cr.tensor([1000.0, 1000.0], requires_grad=True)
    assert cr.logsumexp(x).item() == pytest.approx(1000.0 + np.log(2.0))
    cr.logsumexp(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5])
    y = cr.tensor([-np.inf, 0.0])
    assert cr.logsumexp(y).item() == pytest.approx(0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) of an all -inf input
        assert cr.logsumexp(cr.tensor([-np.inf, -np.inf])).item() == -np.inf


def test_sigmoid_and_tanh_saturate_without_warnings():
    """RELIABILITY 12: sigmoid(+-1000) without overflow warnings; gradients 0, not NaN."""
    x = cr.tensor([-1000.0, -20.0, 0.0, 20.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = cr.sigmoid(x)
        (s + cr.tanh(x)).sum().backward()
    np.testing.assert_allclose(s.numpy(), [0.0, 2.0611537e-09, 0.5, 1.0, 1.0], rtol=1e-6)
    assert np.isfinite(x.grad.numpy()).all()
    assert x.grad.numpy()[0] == 0.0 and x.grad.numpy()[-1] == 0.0


def test_variance_corrections():
    x = cr.tensor([1.0, 2.0, 4.0])
    assert x.var().item() == pytest.approx(7 / 3)
    assert x.var(unbiased=False).item() == pytest.approx(14 / 9)
    assert x.var(correction=0).item() == pytest.approx(14 / 9)
    assert x.std().item() == pytest.approx(np.sqrt(7 / 3))


def test_variance_of_one_element_with_correction_is_nan_like_pytorch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(cr.tensor([3.0]).var().item())


# ---- special points of derivatives ---------------------------------------------------------
def test_pow_with_zero_exponent_has_zero_gradient_at_zero():
    """d/dx x^0 = 0 even at x = 0 (the formula b x^(b-1) would give 0 * inf)."""
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_pow_exponent_gradient_at_zero_base_is_zero():
    """d/db 0^b = 0^b log 0 is taken as 0 for b >= 0 (as PyTorch)."""
    x = cr.tensor([0.0, 0.0], requires_grad=True)
    b = cr.tensor([0.0, 2.0], requires_grad=True)
    (x ** b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_sqrt_gradient_at_zero_is_infinite():
    x = cr.tensor([0.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cr.sqrt(x).sum().backward()
    assert np.isposinf(x.grad.numpy()).all()


def test_norm_and_std_have_zero_gradient_where_they_are_zero():
    """At the zero vector (and for a constant tensor's std) the gradient is the subgradient 0,
    as in PyTorch, not 0 * inf = NaN; second derivatives stay finite too."""
    x = cr.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(x.norm(dim=1).sum() + x.norm(p=3, dim=1).sum(), x,
                            create_graph=True)
    np.testing.assert_array_equal(g.numpy()[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(g.numpy()[1], [1 / 3, 2 / 3, 2 / 3] + np.array([1, 4, 4]) /
                               17 ** (2 / 3))
    (h,) = cr.autograd.grad(g.sum(), x)
    assert np.isfinite(h.numpy()).all()
    c = cr.ones(4, requires_grad=True)
    c.std().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [0.0, 0.0, 0.0, 0.0])
    assert cr.zeros(3).norm().item() == 0.0


# ---- conversions that stay in the graph -------------------------------------------------------
def test_cast_to_float64_and_back_keeps_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_cast_to_integer_leaves_the_graph():
    x = cr.tensor([1.7, 2.2], requires_grad=True)
    i = x.long()
    assert i.dtype == np.int64 and not i.requires_grad
    np.testing.assert_array_equal(i.numpy(), [1, 2])


def test_clone_is_a_copy_in_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.data is not x.data and c.requires_grad
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
