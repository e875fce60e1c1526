"""gather, scatter, scatter_add, index_select, masked_fill, tril, triu and einsum: what the op
table cannot say in one row (adjoint pairs, repeated indices, dtypes, 0-d and empty cases,
gradients at the written positions) and the errors for bad arguments."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck


def f64(values, requires_grad=True):
    return cr.tensor(np.asarray(values, dtype=np.float64), dtype=cr.float64,
                     requires_grad=requires_grad)


def randn(*shape, seed=0, requires_grad=True):
    return f64(np.random.default_rng(seed).standard_normal(shape), requires_grad)


# ---- gather and scatter_add: an adjoint pair ----------------------------------------------------
def test_gather_and_scatter_add_are_adjoint():
    """<gather(x, dim, index), y> = <x, scatter_add(0, dim, index, y)> for every x and y."""
    x, y = randn(3, 4, seed=1), randn(2, 4, seed=2)
    index = cr.tensor([[2, 0, 2, 1], [2, 2, 0, 1]])
    left = (cr.gather(x, 0, index) * y).sum().item()
    right = (x * cr.scatter_add(cr.zeros(3, 4, dtype=cr.float64), 0, index, y)).sum().item()
    assert left == pytest.approx(right, rel=1e-12)


def test_gather_with_an_index_narrower_than_the_input():
    x = randn(3, 4)
    index = cr.tensor([[1, 0], [2, 2]])                        # (2, 2): rows 0-1, columns 0-1
    out = x.gather(1, index)
    np.testing.assert_array_equal(out.numpy(), x.numpy()[[[0, 0], [1, 1]], [[1, 0], [2, 2]]])
    assert gradcheck(lambda t: t.gather(1, index), [x])
    assert gradgradcheck(lambda t: t.gather(1, index), [x])


def test_gather_gradient_adds_up_at_repeated_indices():
    x = randn(3)
    cr.gather(x, 0, cr.tensor([1, 1, 1, 0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 3.0, 0.0])


def test_scatter_add_accumulates_repeated_indices_and_leaves_input_unchanged():
    x = cr.zeros(2, 3)
    out = x.scatter_add(1, cr.tensor([[0, 0, 2], [1, 1, 1]]), cr.ones(2, 3))
    np.testing.assert_array_equal(out.numpy(), [[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(x.numpy(), np.zeros((2, 3)))


def test_int32_indices_and_0d_tensors():
    x = f64([[1.0, 2.0], [3.0, 4.0]], requires_grad=False)
    out = cr.gather(x, 0, cr.tensor([[1, 0]], dtype=cr.int32))
    np.testing.assert_array_equal(out.numpy(), [[3.0, 2.0]])
    scalar = f64(5.0)
    assert cr.gather(scalar, 0, cr.tensor(0)).item() == 5.0
    assert cr.scatter(scalar, -1, cr.tensor(0), f64(2.0)).item() == 2.0


def test_empty_index_gives_an_empty_result_and_a_zero_gradient():
    x = randn(3, 4)
    out = cr.gather(x, 0, cr.zeros(0, 4, dtype=cr.int64))
    assert out.shape == (0, 4)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


# ---- scatter ------------------------------------------------------------------------------------
def test_scatter_gradients_zero_where_written_and_gathered_for_src():
    x, src = randn(3, 4, seed=1), randn(1, 4, seed=2)
    index = cr.tensor([[0, 2, 1, 0]])
    weights = f64(np.arange(12.0).reshape(3, 4), requires_grad=False)
    (cr.scatter(x, 0, index, src) * weights).sum().backward()
    expected = np.arange(12.0).reshape(3, 4)
    expected[[0, 2, 1, 0], [0, 1, 2, 3]] = 0.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    np.testing.assert_array_equal(src.grad.numpy(), [[0.0, 9.0, 6.0, 3.0]])


@pytest.mark.parametrize("add", [False, True], ids=["scatter", "scatter_add"])
def test_src_larger_than_index_gets_a_zero_padded_gradient(add):
    """Only src's leading block of index's shape is used; the rest has gradient 0."""
    x, src = randn(3, 4, seed=1), randn(2, 5, seed=2)
    index = cr.tensor([[0, 1, 2, 0], [1, 2, 0, 2]])
    fn = cr.scatter_add if add else cr.scatter
    assert gradcheck(lambda a, b: fn(a, 0, index, b), [x, src])
    assert gradgradcheck(lambda a, b: fn(a, 0, index, b), [x, src])
    fn(x, 0, index, src).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy()[:, 4], [0.0, 0.0])


def test_scatter_value_is_converted_to_the_input_dtype():
    out = cr.zeros(3, dtype=cr.int64).scatter(0, cr.tensor([0, 2]), 2.7)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [2, 0, 2])
    np.testing.assert_array_equal(cr.scatter(cr.zeros(2), 0, cr.tensor([1]), value=1.5).numpy(),
                                  [0.0, 1.5])


# ---- index_select -------------------------------------------------------------------------------
def test_index_select_repeats_rows_and_adds_their_gradients():
    x = randn(3, 2)
    out = x.index_select(0, cr.tensor([2, 0, 2]))
    np.testing.assert_array_equal(out.numpy(), x.numpy()[[2, 0, 2]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])


def test_index_select_with_0d_index_0d_input_and_empty_index():
    x = randn(3, 4)
    assert cr.index_select(x, 1, cr.tensor(2)).shape == (3, 1)
    assert cr.index_select(x, 0, cr.zeros(0, dtype=cr.int64)).shape == (0, 4)
    assert cr.index_select(f64(7.0), 0, cr.tensor([0])).item() == 7.0


# ---- masked_fill --------------------------------------------------------------------------------
def test_masked_fill_gradients_for_input_and_tensor_value():
    x, value = randn(2, 3), f64(4.0)
    mask = cr.tensor([True, False, True])
    out = x.masked_fill(mask, value)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0]] * 2)
    assert value.grad.item() == 4.0                           # four masked positions


def test_masked_fill_keeps_the_input_dtype_and_input():
    x = cr.zeros(3, dtype=cr.int64)
    out = x.masked_fill(cr.tensor([True, False, True]), 1.7)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [1, 0, 1])
    np.testing.assert_array_equal(x.numpy(), [0, 0, 0])
    y = cr.ones(2).masked_fill(cr.tensor([True, False]), cr.tensor(3.0, dtype=cr.float64))
    assert y.dtype == np.float32
    assert cr.masked_fill(cr.zeros(3), cr.ones(2, 3, dtype=cr.bool_), 1.0).shape == (2, 3)


# ---- tril and triu ------------------------------------------------------------------------------
def test_tril_and_triu_split_a_matrix_and_zero_infinities():
    x = f64([[1.0, np.inf, 2.0], [3.0, 4.0, -np.inf]], requires_grad=False)
    np.testing.assert_array_equal(x.tril().numpy(), [[1.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    y = randn(2, 3, 4)
    np.testing.assert_array_equal((y.tril() + y.triu(1)).numpy(), y.numpy())
    np.testing.assert_array_equal((y.tril(-1) + y.triu()).numpy(), y.numpy())


@pytest.mark.parametrize("dtype", [cr.int64, cr.bool_, cr.float32])
def test_tril_and_triu_keep_the_dtype(dtype):
    x = cr.ones(3, 3, dtype=dtype)
    assert x.tril().dtype == dtype and cr.triu(x, 1).dtype == dtype
    assert int(cr.triu(x, 1).numpy().sum()) == 3


# ---- einsum -------------------------------------------------------------------------------------
def test_einsum_accepts_a_list_and_the_sublist_form():
    a, b = randn(2, 3, seed=1), randn(3, 4, seed=2)
    expected = a.numpy() @ b.numpy()
    np.testing.assert_allclose(cr.einsum("ij,jk->ik", [a, b]).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(cr.einsum(a, [0, 1], b, [1, 2], [0, 2]).numpy(), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(cr.einsum(a, [Ellipsis, 30]).numpy(), a.numpy())


def test_einsum_sums_ellipsis_dims_missing_from_the_output():
    a, b = randn(2, 1, 2, 3, seed=1), randn(5, 3, 4, seed=2)
    out = cr.einsum("...ij,...jk->ik", a, b)
    full = np.einsum("...ij,...jk->...ik", a.numpy(), b.numpy())
    np.testing.assert_allclose(out.numpy(), full.sum(axis=(0, 1)), rtol=1e-12)
    assert gradgradcheck(lambda x, y: cr.einsum("...ij,...jk->ik", x, y), [a, b])


def test_einsum_implicit_output_puts_uppercase_first():
    x = randn(2, 3)
    np.testing.assert_array_equal(cr.einsum("bA", x).numpy(), x.numpy().T)
    assert cr.einsum("...i,...i", randn(4, 3), randn(3)).shape == (4,)


def test_einsum_third_derivative_of_a_cubic_form():
    """f(x) = sum_ijk T_ijk x_i x_j x_k: the third derivative is the symmetrised 6 T."""
    t = randn(3, 3, 3, requires_grad=False)
    x = randn(3, seed=1)
    (g,) = cr.autograd.grad(cr.einsum("ijk,i,j,k->", t, x, x, x), [x], create_graph=True)
    (h,) = cr.autograd.grad(g[0], [x], create_graph=True)
    (d3,) = cr.autograd.grad(h[1], [x])
    sym = sum(np.transpose(t.numpy(), p) for p in
              [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)])
    np.testing.assert_allclose(d3.numpy(), sym[0, 1], rtol=1e-12)


def test_einsum_dtypes():
    a, b = cr.ones(2, 3), cr.ones(3, 4)
    (ga,) = cr.autograd.grad(cr.einsum("ij,jk->", a.requires_grad_(), b), [a])
    assert ga.dtype == np.float32
    ints = cr.einsum("ij,jk", cr.ones(2, 3, dtype=cr.int64), cr.ones(3, 4, dtype=cr.int64))
    assert ints.dtype == np.int64 and ints.numpy()[0, 0] == 3


EINSUM_ERRORS = [
    ("ij,jk->ik", [(2, 3)], r"2 operands, 1 given"),
    ("ijk->ij", [(2, 3)], r"3 subscripts given for operand 0 of shape \(2, 3\)"),
    ("i->i", [(2, 3)], r"1 subscripts given for operand 0 .* no ellipsis"),
    ("ij->k", [(2, 3)], r"output subscript k does not appear"),
    ("ij->ii", [(2, 3)], r"output subscript i appears more than once"),
    ("i1->i", [(2, 3)], r"invalid subscript '1' in operand 0"),
    ("i..j", [(2, 3)], r"operand 0 has a '\.' that is not part of an ellipsis"),
    ("...i...", [(2, 3)], r"operand 0 has more than one ellipsis"),
    ("ii", [(2, 3)], r"subscript i is repeated for operand 0 of shape \(2, 3\) with different"),
    ("ij,ij->ij", [(3, 2), (3, 4)], r"subscript j has size 4 for operand 1 .* size 2"),
    ("...,...", [(2,), (3,)], r"an ellipsis dim has size 3 for operand 1"),
    ("...", [(1,) * 53], r"needs more than 52 distinct subscripts"),
]


@pytest.mark.parametrize("equation,shapes,message", EINSUM_ERRORS,
                         ids=[e[0] for e in EINSUM_ERRORS])
def test_einsum_errors_name_the_problem(equation, shapes, message):
    with pytest.raises(ValueError, match="^einsum: .*" + message):
        cr.einsum(equation, *[cr.ones(*s) for s in shapes])


def test_einsum_operand_errors():
    with pytest.raises(RuntimeError, match=r"einsum: expected operands of one dtype.*float64"):
        cr.einsum("i,i", cr.ones(2), cr.ones(2, dtype=cr.float64))
    with pytest.raises(TypeError, match="einsum: operand 1 must be a tensor, got ndarray"):
        cr.einsum("i,i", cr.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"einsum: subscript 52 in a sublist"):
        cr.einsum(cr.ones(2), [52])


# ---- errors of the indexing ops -----------------------------------------------------------------
X = cr.ones(3, 4)
INDEX = cr.tensor([[0, 1, 2, 0]])
INDEXING_ERRORS = [
    (lambda: cr.gather(X, 0, cr.tensor([[0.0, 1.0]])), TypeError,
     r"^gather: index must be an integer tensor \(int64\), got dtype float32"),
    (lambda: cr.gather(X, 0, cr.tensor([[0, 3]])), IndexError,
     r"^gather: index 3 is out of bounds for dim 0 with size 3"),
    (lambda: X.gather(1, cr.tensor([[0, -1]])), IndexError,
     r"^gather: index -1 is out of bounds for dim 1 with size 4"),
    (lambda: cr.gather(X, 2, INDEX), IndexError, r"^gather: dim 2 is out of range \[-2, 1\]"),
    (lambda: cr.gather(X, 0, cr.tensor([0, 1])), ValueError,
     r"^gather: index of shape \(2,\) must have as many dims as the input of shape \(3, 4\)"),
    (lambda: cr.gather(X, 0, cr.zeros(2, 5, dtype=cr.int64)), ValueError,
     r"^gather: index of shape \(2, 5\) must be no larger than the input of shape \(3, 4\) "
     r"apart from dim 0"),
    (lambda: cr.scatter_add(X, 0, INDEX, cr.ones(1, 3)), ValueError,
     r"^scatter_add: .* no larger than src of shape \(1, 3\)"),
    (lambda: cr.scatter_add(X, 0, INDEX, cr.ones(4)), ValueError,
     r"^scatter_add: index of shape \(1, 4\) must have as many dims as src of shape \(4,\)"),
    (lambda: cr.scatter_add(X, 0, INDEX, 1.0), TypeError, r"^scatter_add: src must be a tensor"),
    (lambda: cr.scatter(X, 0, INDEX, cr.ones(1, 4, dtype=cr.float64)), TypeError,
     r"^scatter: src \(float64\) must have the dtype of the input \(float32\)"),
    (lambda: cr.scatter(X, 0, INDEX), TypeError, r"^scatter: give exactly one of src"),
    (lambda: cr.scatter(X, 0, INDEX, cr.ones(1, 4), value=1.0), TypeError, r"^scatter: give"),
    (lambda: X.scatter(0, cr.tensor([[5, 0, 0, 0]]), 1.0), IndexError,
     r"^scatter: index 5 is out of bounds for dim 0 with size 3"),
    (lambda: X.index_select(0, cr.tensor([[0]])), ValueError,
     r"^index_select: index must be a vector \(0-d or 1-d\), got shape \(1, 1\)"),
    (lambda: X.index_select(1, cr.tensor([4])), IndexError,
     r"^index_select: index 4 is out of bounds for dim 1 with size 4"),
    (lambda: X.index_select(0, cr.tensor([1.0])), TypeError, r"^index_select: index must be"),
    (lambda: X.index_select(-3, cr.tensor([0])), IndexError, r"^index_select: dim -3 is out"),
    (lambda: cr.index_select(cr.ones(()), 0, cr.tensor([0, 0])), ValueError,
     r"^index_select: a 0-d input takes exactly one index, got 2"),
    (lambda: X.masked_fill(cr.ones(4, dtype=cr.int64), 0.0), TypeError,
     r"^masked_fill: mask must be a boolean tensor, got dtype int64"),
    (lambda: X.masked_fill(cr.ones(4) > 0, cr.ones(1)), ValueError,
     r"^masked_fill: value must be a number or a 0-d tensor, got a tensor of shape \(1,\)"),
    (lambda: X.masked_fill(cr.ones(3) > 0, 0.0), ValueError,
     r"^masked_fill: mask of shape \(3,\) does not broadcast with the input of shape \(3, 4\)"),
    (lambda: cr.tril(cr.ones(3)), ValueError,
     r"^tril: input must have at least 2 dims, got shape \(3,\)"),
    (lambda: cr.ones(3).triu(), ValueError, r"^triu: input must have at least 2 dims"),
]


@pytest.mark.parametrize("call,error,message", INDEXING_ERRORS,
                         ids=[str(i) for i in range(len(INDEXING_ERRORS))])
def test_indexing_errors_name_the_op_and_the_values(call, error, message):
    with pytest.raises(error, match=message):
        call()
