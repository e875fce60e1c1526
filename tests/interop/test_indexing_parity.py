"""PyTorch parity of the indexing ops and einsum where the op table has no row: indices narrower
than the input, repeated and empty indices, 0-d cases, einsum's list and sublist forms and
ellipsis sums, second derivatives, dtypes, and bad arguments that both libraries refuse."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


def _inputs(m, arrays):
    if m is cr:
        return [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def _run(m, fn, arrays, v, order):
    """fn's value, and the gradients of <v, fn> (order 1) or of <w, grad <v, fn^2>> (order 2:
    squared so that the gradient of a linear op depends on its inputs)."""
    xs = _inputs(m, arrays)
    out = fn(m, *xs)
    out = out * out if order == 2 else out
    seed = m.tensor(v, dtype=m.float64)
    grads = m.autograd.grad([out], xs, [seed], create_graph=order == 2, allow_unused=True)
    if order == 2:
        w = [m.tensor(np.linspace(-1.0, 1.0, x.numel()).reshape(x.shape), dtype=m.float64)
             for x in xs]
        total = sum((g * wi).sum() for g, wi in zip(grads, w) if g is not None)
        grads = m.autograd.grad([total], xs, allow_unused=True)
    as_array = [np.zeros(x.shape) if g is None else g.detach().numpy() for g, x in zip(grads, xs)]
    return out.detach().numpy(), as_array


def _compare(fn, shapes, order=1, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    out_shape = fn(cr, *_inputs(cr, arrays)).shape
    v = rng.standard_normal(out_shape)
    ours, our_grads = _run(cr, fn, arrays, v, order)
    theirs, their_grads = _run(torch, fn, arrays, v, order)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    for i, (g, tg) in enumerate(zip(our_grads, their_grads)):
        np.testing.assert_allclose(g, tg, rtol=1e-9, atol=1e-12, err_msg=f"input {i}")


CASES = [
    ("gather_narrow_dim1", lambda m, x: m.gather(x, 1, m.tensor([[3, 3], [0, 1]])), [(3, 4)]),
    ("gather_narrow_dim0", lambda m, x: x.gather(0, m.tensor([[2, 2, 0], [1, 2, 2]])), [(3, 4)]),
    ("gather_3d", lambda m, x: m.gather(x, -1, m.tensor([[[0, 0, 1]], [[1, 0, 1]]])),
     [(2, 3, 2)]),
    ("scatter_add_narrow_repeats",
     lambda m, x, s: m.scatter_add(x, 0, m.tensor([[2, 2, 2], [0, 2, 1]]), s), [(3, 4), (2, 3)]),
    ("scatter_add_dim1", lambda m, x, s: x.scatter_add(1, m.tensor([[0, 0, 0, 0, 3]]), s),
     [(2, 4), (1, 5)]),
    ("scatter_narrow", lambda m, x, s: m.scatter(x, 0, m.tensor([[2, 0, 1], [0, 1, 2]]), s),
     [(3, 4), (2, 3)]),
    ("scatter_value_keyword", lambda m, x: m.scatter(x, 1, m.tensor([[1], [3]]), value=0.5),
     [(2, 4)]),
    ("index_select_0d_index", lambda m, x: m.index_select(x, 1, m.tensor(2)), [(3, 4)]),
    ("index_select_empty", lambda m, x: m.index_select(x, 0, m.tensor([], dtype=m.int64)),
     [(3, 4)]),
    ("index_select_repeats_3d", lambda m, x: x.index_select(-2, m.tensor([1, 1, 0, 1])),
     [(2, 3, 2)]),
    ("masked_fill_broadcast_both",
     lambda m, x, v: m.masked_fill(x, m.tensor([[True], [False]]), v[0]), [(4,), (1,)]),
    ("tril_3d_large_diagonal", lambda m, x: m.tril(x, 3), [(2, 3, 4)]),
    ("triu_negative_diagonal", lambda m, x: x.triu(-1), [(2, 4, 3)]),
    ("einsum_ellipsis_summed", lambda m, a, b: m.einsum("...ij,...jk->ik", a, b),
     [(2, 1, 2, 3), (5, 3, 4)]),
    ("einsum_ellipsis_between_repeats", lambda m, x: m.einsum("i...i", x), [(2, 3, 2)]),
    ("einsum_ellipsis_broadcast", lambda m, a, b: m.einsum("...,...->...", a, b),
     [(3,), (2, 1)]),
    ("einsum_list", lambda m, a, b: m.einsum("bij,bj->bi", [a, b]), [(2, 3, 4), (2, 4)]),
    ("einsum_sublist", lambda m, a, b: m.einsum(a, [0, Ellipsis, 28], b, [28, 1], [1, 0]),
     [(2, 3, 4), (4, 5)]),
    ("einsum_uppercase_implicit", lambda m, a, b: m.einsum("aB,Bc", a, b), [(2, 3), (3, 4)]),
    ("einsum_same_operand_twice", lambda m, x: m.einsum("ij,ij->i", x, x), [(3, 4)]),
    ("einsum_diagonal_times_vector", lambda m, x, v: m.einsum("iij,j->i", x, v),
     [(3, 3, 2), (2,)]),
    ("einsum_size_one_broadcast_implicit", lambda m, a, b: m.einsum("ij,kj", a, b),
     [(3, 1), (2, 4)]),
]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, fn, shapes):
    _compare(fn, shapes)


SECOND_ORDER = [c for c in CASES if c[0] in (
    "gather_narrow_dim0", "scatter_add_narrow_repeats", "scatter_narrow",
    "masked_fill_broadcast_both", "einsum_ellipsis_summed", "einsum_same_operand_twice",
    "einsum_diagonal_times_vector", "einsum_size_one_broadcast_implicit")]


@pytest.mark.parametrize("name,fn,shapes", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives_match_torch(name, fn, shapes):
    _compare(fn, shapes, order=2)


DTYPE_CASES = [
    ("masked_fill_int_float_value", lambda m: m.zeros(4, dtype=m.int64).masked_fill(
        m.tensor([True, False, True, False]), 1.7)),
    ("masked_fill_float64_value", lambda m: m.ones(3).masked_fill(
        m.tensor([True, False, True]), m.tensor(2.5, dtype=m.float64))),
    ("masked_fill_bool", lambda m: m.zeros(3, dtype=m.bool).masked_fill(
        m.tensor([True, False, True]), 2)),
    ("scatter_int_float_value", lambda m: m.zeros(3, dtype=m.int64).scatter(
        0, m.tensor([0, 2]), -2.7)),
    ("tril_bool", lambda m: m.ones(3, 3, dtype=m.bool).tril(-1)),
    ("triu_int", lambda m: m.arange(12).reshape(3, 4).triu(1)),
    ("einsum_int", lambda m: m.einsum("ij,jk", m.arange(6).reshape(2, 3),
                                      m.arange(12).reshape(3, 4))),
    ("gather_int32_index", lambda m: m.gather(m.arange(6.0).reshape(2, 3), 1,
                                             m.tensor([[2], [0]], dtype=m.int32))),
]


@pytest.mark.parametrize("name,fn", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_values_and_dtypes_match_torch(name, fn):
    ours, theirs = fn(cr), fn(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


BAD_CALLS = [
    ("gather_float_index", lambda m, x: m.gather(x, 0, m.tensor([[0.0, 1.0]]))),
    ("gather_index_too_large", lambda m, x: m.gather(x, 0, m.tensor([[3, 0]]))),
    ("gather_negative_index", lambda m, x: m.gather(x, 1, m.tensor([[-1]]))),
    ("gather_ndim_mismatch", lambda m, x: m.gather(x, 0, m.tensor([0, 1]))),
    ("gather_dim_out_of_range", lambda m, x: m.gather(x, 2, m.tensor([[0]]))),
    ("gather_index_wider", lambda m, x: m.gather(x, 0, m.zeros(1, 5, dtype=m.int64))),
    ("scatter_add_src_smaller", lambda m, x: m.scatter_add(x, 0, m.tensor([[0, 1]]),
                                                           m.ones(1, 1, dtype=m.float64))),
    ("scatter_add_number", lambda m, x: m.scatter_add(x, 0, m.tensor([[0]]), 1.0)),
    ("scatter_dtype_mismatch", lambda m, x: m.scatter(x, 0, m.tensor([[0]]), m.ones(1, 1))),
    ("index_select_matrix_index", lambda m, x: m.index_select(x, 0, m.tensor([[0]]))),
    ("index_select_out_of_range", lambda m, x: m.index_select(x, 1, m.tensor([4]))),
    ("masked_fill_int_mask", lambda m, x: m.masked_fill(x, m.tensor([1, 0, 1, 0]), 0.0)),
    ("masked_fill_vector_value", lambda m, x: x.masked_fill(m.tensor([True] * 4),
                                                           m.ones(1, dtype=m.float64))),
    ("masked_fill_mismatch", lambda m, x: x.masked_fill(m.tensor([True] * 3), 0.0)),
    ("tril_1d", lambda m, x: m.tril(x[0])),
    ("einsum_operand_count", lambda m, x: m.einsum("ij,jk->ik", x)),
    ("einsum_subscript_count", lambda m, x: m.einsum("i->i", x)),
    ("einsum_unknown_output", lambda m, x: m.einsum("ij->k", x)),
    ("einsum_size_mismatch", lambda m, x: m.einsum("ij,ij->ij", x, x.T)),
    ("einsum_dtype_mismatch", lambda m, x: m.einsum("ij,ij", x, x.float())),
    ("einsum_repeated_output", lambda m, x: m.einsum("ij->ii", x)),
]


@pytest.mark.parametrize("name,call", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_both_libraries_refuse_bad_arguments(name, call):
    with pytest.raises(Exception):  # noqa: B017 - the exception types differ (see the errors test)
        call(torch, torch.ones(3, 4, dtype=torch.float64))
    with pytest.raises((ValueError, TypeError, IndexError, RuntimeError)):
        call(cr, cr.ones(3, 4, dtype=cr.float64))
