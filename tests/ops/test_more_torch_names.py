"""PyTorch's names beyond the op table: dtypes, named tuples, errors, random draws, grad modes.

The op table (op_specs.py) checks values and gradients of these ops; here are the rules it does
not see: result dtypes (int64 accumulation, bool reductions, rounding that keeps the dtype),
ties and NaN in sorting, the errors, the random functions, ``inference_mode`` and the small
utilities (``is_tensor``, ``numel``, ``seed``, ...). Where torch imports, results are compared.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.tensor import ValuesIndices


def _same(ours, theirs):
    """Values, shape and dtype of a chainrule result equal a PyTorch result (or tuple)."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- dtypes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64", "float32", "float64"])
def test_result_dtypes_match_torch(dtype):
    torch = pytest.importorskip("torch")
    values = np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype)
    x, t = cr.from_numpy(values), torch.from_numpy(values)
    _same(cr.cumsum(x, 1), torch.cumsum(t, 1))
    _same(x.prod(), t.prod())
    _same(x.prod(0, keepdim=True), t.prod(0, keepdim=True))
    _same(x.all(), t.all())
    _same(cr.any(x, 1, keepdim=True), torch.any(t, 1, keepdim=True))
    _same(x.count_nonzero(0), t.count_nonzero(0))
    _same(cr.sort(x, 1, descending=True, stable=True),
          tuple(torch.sort(t, dim=1, descending=True, stable=True)))
    _same(x.nonzero(), t.nonzero())
    _same(cr.unique(x, return_counts=True), torch.unique(t, return_counts=True))
    _same(cr.flip(x, (0, 1)), torch.flip(t, (0, 1)))
    _same(x.roll(1, 1), t.roll(1, 1))
    if dtype != "bool":
        _same(cr.floor(x), torch.floor(t))
        _same(x.ceil(), t.ceil())


def test_cumsum_and_prod_take_a_dtype():
    x = cr.tensor([1, 2, 3])
    assert cr.cumsum(x, 0, dtype=cr.float64).dtype == np.float64
    assert x.prod(dtype=cr.float32).dtype == np.float32
    assert cr.cumsum(cr.tensor([1.0, 2.0]), 0).dtype == np.float32


@pytest.mark.parametrize("fn", [cr.floor, cr.ceil, cr.trunc, cr.round, cr.log2, cr.log10,
                                lambda x: x.cumsum(0), lambda x: x.prod(0),
                                lambda x: x.sort().values, lambda x: x.topk(2).values,
                                lambda x: cr.cosine_similarity(x, x, 0), lambda x: x.flip(0),
                                lambda x: cr.normal(x, 1.0), lambda x: cr.dropout(x, 0.5)])
def test_float32_stays_float32_through_forward_and_backward(fn):
    x = cr.tensor([0.5, 1.5, 2.5, 3.5], requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


# ---- rounding --------------------------------------------------------------------------------
def test_rounding_has_a_zero_gradient_that_flows_as_in_torch():
    torch = pytest.importorskip("torch")
    for name in ("floor", "ceil", "round", "trunc"):
        x = cr.tensor([0.5, -1.5, 2.25], requires_grad=True)
        t = torch.tensor([0.5, -1.5, 2.25], requires_grad=True)
        getattr(cr, name)(x).sum().backward()
        getattr(torch, name)(t).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_round_halves_to_even_and_rounds_to_decimals_as_torch():
    torch = pytest.importorskip("torch")
    values = np.array([0.5, 1.5, 2.5, -0.5, 1.25, 0.125, 123.456, -7.35], dtype=np.float32)
    for decimals in (0, 1, 2, -1, -2):
        _same(cr.round(cr.tensor(values), decimals=decimals),
              torch.round(torch.tensor(values), decimals=decimals))


def test_rounding_keeps_integers_and_refuses_bool():
    x = cr.tensor([1, -2])
    out = cr.floor(x)
    assert out.dtype == np.int64 and out.tolist() == [1, -2]
    out.data[0] = 5
    assert x.tolist() == [1, -2]  # a copy, not the input itself
    with pytest.raises(TypeError, match="floor: not defined for a bool tensor"):
        cr.floor(cr.tensor([True]))
    with pytest.raises(TypeError, match="round: decimals=1 is not supported"):
        cr.round(x, decimals=1)


def test_log2_and_log10_are_exact_at_powers():
    assert cr.log2(cr.tensor([8])).tolist() == [3.0]
    assert cr.log10(cr.tensor([1000.0], dtype=cr.float64)).tolist() == [3.0]


# ---- accumulation ----------------------------------------------------------------------------
def test_prod_second_derivatives_with_zeros_match_torch():
    torch = pytest.importorskip("torch")
    for values in ([2.0, 0.0, 3.0, 4.0, 5.0], [0.0, 1.5, 0.0, 2.0], [1.0, 2.0, 3.0]):
        x = cr.tensor(values, dtype=cr.float64, requires_grad=True)
        (g,) = cr.autograd.grad(x.prod(), x, create_graph=True)
        rows = [cr.autograd.grad(g[i], x, retain_graph=True)[0].numpy()
                for i in range(len(values))]
        hessian = torch.autograd.functional.hessian(torch.prod, torch.tensor(values))
        np.testing.assert_allclose(np.array(rows), hessian.numpy())


def test_prod_of_empty_and_one_element_tensors():
    assert cr.prod(cr.ones(0)).item() == 1.0
    assert cr.prod(cr.ones(2, 0), 1).tolist() == [1.0, 1.0]
    x = cr.tensor([4.0])
    out = x.prod()
    out.data[...] = 7.0
    assert x.tolist() == [4.0]  # a new tensor, as in PyTorch


def test_cumsum_errors_name_the_op_and_the_dim():
    with pytest.raises(IndexError, match=r"cumsum: dim 2 is out of range \[-2, 1\]"):
        cr.cumsum(cr.ones(2, 3), 2)
    with pytest.raises(IndexError, match="prod: dim -3 is out of range"):
        cr.prod(cr.ones(2, 3), -3)


# ---- sorting ---------------------------------------------------------------------------------
def test_sort_and_topk_return_named_tuples():
    x = cr.tensor([[3.0, 1.0, 2.0]])
    result = x.sort(dim=1)
    assert isinstance(result, ValuesIndices)
    assert result.values.tolist() == [[1.0, 2.0, 3.0]] and result.indices.tolist() == [[1, 2, 0]]
    assert result.indices.dtype == np.int64
    top = cr.topk(x, 2, largest=False)
    assert top.values.tolist() == [[1.0, 2.0]] and top.indices.tolist() == [[1, 2]]


def test_sort_is_stable_and_puts_nan_last_like_torch():
    torch = pytest.importorskip("torch")
    values = np.array([[2.0, np.nan, 1.0, 2.0, 1.0, -np.inf], [0.0, 0.0, 0.0, 5.0, 5.0, 0.0]])
    for descending in (False, True):
        ours = cr.sort(cr.tensor(values, dtype=cr.float64), 1, descending, stable=True)
        theirs = torch.sort(torch.tensor(values), dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        _same(cr.argsort(cr.tensor(values), 1, descending, stable=True),
              torch.argsort(torch.tensor(values), dim=1, descending=descending, stable=True))


def test_sort_gradient_goes_back_to_where_the_values_came_from():
    x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, _ = x.sort(descending=True)
    (values * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 100.0, 10.0]


def test_topk_and_sort_of_a_0d_tensor():
    torch = pytest.importorskip("torch")
    _same(cr.topk(cr.tensor(3.0), 1), tuple(torch.topk(torch.tensor(3.0), 1)))
    _same(cr.sort(cr.tensor(3.0)), tuple(torch.sort(torch.tensor(3.0))))


def test_topk_k_out_of_range_names_k_and_the_size():
    with pytest.raises(ValueError, match=r"topk: k \(4\) is out of range \[0, 3\].*\(2, 3\)"):
        cr.topk(cr.ones(2, 3), 4)
    with pytest.raises(IndexError, match="sort: dim 1 is out of range"):
        cr.sort(cr.ones(3), 1)


# ---- rearranging -----------------------------------------------------------------------------
def test_rearranging_errors():
    x = cr.ones(2, 3)
    with pytest.raises(ValueError, match=r"flip: dim -2 appears more than once in dims \(0, -2\)"):
        cr.flip(x, (0, -2))
    with pytest.raises(IndexError, match="flip: dim 2 is out of range"):
        x.flip(2)
    with pytest.raises(ValueError, match=r"roll: shifts \(1, 2\) and dims \(0,\) must have"):
        cr.roll(x, (1, 2), (0,))
    with pytest.raises(ValueError, match="roll: 2 shifts given without dims"):
        cr.roll(x, (1, 2))
    with pytest.raises(IndexError, match="unbind: a 0-d tensor"):
        cr.unbind(cr.tensor(1.0))
    with pytest.raises(ValueError, match="meshgrid: indexing must be 'ij' or 'xy'"):
        cr.meshgrid(cr.ones(2), indexing="yx")
    with pytest.raises(ValueError, match=r"meshgrid: expected 0-d or 1-d tensors.*\(2, 3\)"):
        cr.meshgrid(x, cr.ones(2))
    with pytest.raises(ValueError, match="cat: shapes"):
        cr.vstack([cr.ones(2), cr.ones(3)])


def test_flip_and_roll_return_new_memory():
    x = cr.tensor([1.0, 2.0, 3.0])
    for out in (cr.flip(x, ()), cr.roll(x, 3), cr.roll(x, 0, 0), x.flip(0)):
        out.data[...] = 0.0
        assert x.tolist() == [1.0, 2.0, 3.0]


def test_meshgrid_of_0d_tensors_and_of_a_list_as_torch():
    torch = pytest.importorskip("torch")
    _same(cr.meshgrid(cr.tensor(2), cr.tensor([3, 4, 5]), indexing="ij"),
          torch.meshgrid(torch.tensor(2), torch.tensor([3, 4, 5]), indexing="ij"))
    _same(cr.meshgrid([cr.tensor([1, 2]), cr.tensor([3, 4, 5])], indexing="xy"),
          torch.meshgrid([torch.tensor([1, 2]), torch.tensor([3, 4, 5])], indexing="xy"))


def test_hstack_vstack_of_scalars_as_torch():
    torch = pytest.importorskip("torch")
    _same(cr.hstack([cr.tensor(1), cr.tensor([2, 3])]),
          torch.hstack([torch.tensor(1), torch.tensor([2, 3])]))
    _same(cr.vstack((cr.tensor(1), cr.tensor(2))), torch.vstack((torch.tensor(1), torch.tensor(2))))


# ---- selecting -------------------------------------------------------------------------------
def test_nonzero_and_unique_of_0d_tensors_as_torch():
    torch = pytest.importorskip("torch")
    for value in (5, 0):
        _same(cr.nonzero(cr.tensor(value)), torch.nonzero(torch.tensor(value)))
        _same(cr.nonzero(cr.tensor(value), as_tuple=True),
              torch.nonzero(torch.tensor(value), as_tuple=True))
    _same(cr.unique(cr.tensor(3.0), return_inverse=True),
          torch.unique(torch.tensor(3.0), return_inverse=True))


def test_unique_along_a_dim_rebuilds_the_input():
    x = cr.tensor([[3, 1], [3, 1], [1, 2]])
    values, inverse = x.unique(dim=0, return_inverse=True)
    assert values.tolist() == [[1, 2], [3, 1]] and inverse.tolist() == [1, 1, 0]
    assert values[inverse].tolist() == x.tolist()


def test_masked_select_gradient_and_errors():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    cr.masked_select(x, cr.tensor([False, True])).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    with pytest.raises(TypeError, match="masked_select: mask must be a boolean tensor"):
        cr.masked_select(x, cr.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"masked_select: mask of shape \(3,\) does not"):
        cr.masked_select(x, cr.tensor([True, False, True]))


def test_isclose_rules_as_torch():
    torch = pytest.importorskip("torch")
    a = [1.0, np.inf, np.nan, -np.inf, 1.0]
    b = [1.0 + 1e-7, np.inf, np.nan, np.inf, 1.1]
    for equal_nan in (False, True):
        _same(cr.isclose(cr.tensor(a), cr.tensor(b), equal_nan=equal_nan),
              torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan))
    _same(cr.tensor([1, 2]).isclose(cr.tensor([1, 3])),
          torch.tensor([1, 2]).isclose(torch.tensor([1, 3])))
    with pytest.raises(TypeError, match=r"isclose: input \(float32\) and other \(float64\)"):
        cr.isclose(cr.ones(2), cr.ones(2, dtype=cr.float64))
    assert cr.allclose(cr.tensor([np.nan]), cr.tensor([np.nan]), equal_nan=True)


def test_cosine_similarity_of_a_zero_vector_matches_torch_with_gradients():
    torch = pytest.importorskip("torch")
    a, b = [[0.0, 0.0], [1.0, 2.0]], [[1.0, 1.0], [1.0, 0.0]]
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ours, theirs = cr.cosine_similarity(x, y), torch.cosine_similarity(tx, ty)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-5)
    with pytest.raises(TypeError, match="cosine_similarity: expected floating-point inputs"):
        cr.cosine_similarity(cr.tensor([1, 2]), cr.tensor([1, 2]), dim=0)


# ---- random draws ----------------------------------------------------------------------------
def test_random_draws_repeat_with_the_seed_and_use_the_generator():
    draws = []
    for _ in range(2):
        cr.manual_seed(3)
        draws.append([cr.normal(cr.zeros(4), 2.0), cr.bernoulli(cr.full((4,), 0.5)),
                      cr.multinomial(cr.ones(5), 3), cr.dropout(cr.ones(6), 0.5)])
    for first, second in zip(*draws):
        np.testing.assert_array_equal(first.numpy(), second.numpy())
    own = np.random.default_rng(0)
    assert cr.normal(0.0, 1.0, (3,), generator=own).shape == (3,)


def test_normal_shapes_dtypes_and_statistics():
    cr.manual_seed(0)
    x = cr.normal(cr.full((2, 1), 3.0), cr.full((50000,), 2.0))
    assert x.shape == (2, 50000) and x.dtype == np.float32
    assert abs(x.mean().item() - 3.0) < 0.03 and abs(x.std().item() - 2.0) < 0.03
    assert cr.normal(0.0, 1.0, (2, 3), dtype=cr.float64).dtype == np.float64
    assert cr.normal(cr.zeros(2, dtype=cr.float64), 1.0).dtype == np.float64
    assert cr.normal(1.0, cr.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="normal: std must be >= 0"):
        cr.normal(cr.zeros(2), -1.0)
    with pytest.raises(TypeError, match="normal: give size"):
        cr.normal(0.0, 1.0)


def test_samples_have_zero_gradients_that_flow_as_in_torch():
    mean = cr.tensor([1.0, 2.0], requires_grad=True)
    std = cr.tensor([1.0], requires_grad=True)
    probabilities = cr.tensor([0.2, 0.7], requires_grad=True)
    (cr.normal(mean, std).sum() + cr.bernoulli(probabilities).sum()).backward()
    assert mean.grad.tolist() == [0.0, 0.0] and std.grad.tolist() == [0.0]
    assert probabilities.grad.tolist() == [0.0, 0.0]


def test_bernoulli_frequencies_and_errors():
    cr.manual_seed(0)
    p = cr.tensor([0.0, 0.25, 1.0], dtype=cr.float64)
    draws = cr.stack([p.bernoulli() for _ in range(4000)])
    assert draws.dtype == np.float64
    np.testing.assert_allclose(draws.mean(0).numpy(), [0.0, 0.25, 1.0], atol=0.03)
    assert cr.bernoulli(cr.zeros(3), 1.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"bernoulli: probabilities must lie in \[0.0, 1.0\]"):
        cr.bernoulli(cr.tensor([2.0]))
    with pytest.raises(TypeError, match="bernoulli: expected a floating-point tensor"):
        cr.bernoulli(cr.tensor([1]))


def test_multinomial_frequencies_and_shapes():
    cr.manual_seed(0)
    weights = cr.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]])
    draws = cr.multinomial(weights, 20000, replacement=True)
    assert draws.shape == (2, 20000) and draws.dtype == np.int64
    counts = np.bincount(draws.numpy()[0], minlength=3) / 20000
    np.testing.assert_allclose(counts, [0.0, 0.25, 0.75], atol=0.02)
    assert (draws.numpy()[1] == 0).all()
    firsts = np.array([cr.multinomial(cr.tensor([1.0, 3.0]), 2).tolist() for _ in range(4000)])
    assert (np.sort(firsts, axis=1) == [0, 1]).all()  # each category at most once
    np.testing.assert_allclose((firsts[:, 0] == 1).mean(), 0.75, atol=0.03)
    assert cr.tensor([0.0, 1.0]).multinomial(2).tolist() == [1, 0]  # weight 0 comes last


@pytest.mark.parametrize("weights,n,replacement,message", [
    ([1.0, -1.0], 1, False, "finite and non-negative"),
    ([0.0, 0.0], 1, True, "positive sum"),
    ([1.0, 1.0], 3, False, "cannot draw 3 samples without replacement from 2 categories"),
    ([[[1.0]]], 1, False, "1-D or 2-D"),
    ([1.0], 0, True, "num_samples must be positive"),
])
def test_multinomial_errors(weights, n, replacement, message):
    with pytest.raises(ValueError, match=f"multinomial: .*{message}"):
        cr.multinomial(cr.tensor(weights), n, replacement)


def test_dropout_at_the_torch_level_is_functional_dropout():
    x = cr.ones(1000, requires_grad=True)
    cr.manual_seed(1)
    ours = cr.dropout(x, 0.25, True)
    cr.manual_seed(1)
    np.testing.assert_array_equal(ours.numpy(), cr.nn.functional.dropout(x, 0.25).numpy())
    assert set(np.unique(ours.numpy())) <= {0.0, np.float32(1 / 0.75)}
    assert cr.dropout(x, 0.5, False) is x
    with pytest.raises(ValueError, match="dropout: p must be in"):
        cr.dropout(x, 1.5, True)


# ---- grad modes, seeds and small utilities ---------------------------------------------------
def test_inference_mode_as_context_and_decorator():
    x = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert not (x * 2).requires_grad
    with cr.inference_mode(False):
        assert (x * 2).requires_grad
    with cr.no_grad(), cr.inference_mode(False):
        assert not (x * 2).requires_grad

    @cr.inference_mode
    def bare():
        return (x * 2).requires_grad

    @cr.inference_mode()
    def called():
        return (x * 2).requires_grad

    assert not bare() and not called() and cr.is_grad_enabled()


def test_seed_and_initial_seed():
    cr.manual_seed(42)
    assert cr.initial_seed() == 42
    state = cr.get_rng_state()
    cr.set_rng_state(state)
    assert cr.initial_seed() == 42
    value = cr.seed()
    assert cr.initial_seed() == value and 0 <= value < 2 ** 64
    first = cr.rand(3)
    cr.manual_seed(value)
    np.testing.assert_array_equal(first.numpy(), cr.rand(3).numpy())
    cr.manual_seed(0)


def test_small_utilities():
    x = cr.ones(2, 3, requires_grad=True)
    assert cr.is_tensor(x) and not cr.is_tensor(np.ones(2))
    assert cr.is_floating_point(x) and x.is_floating_point()
    assert not cr.tensor([1]).is_floating_point()
    assert cr.numel(x) == 6 and cr.numel(cr.tensor(1.0)) == 1
    assert not cr.detach(x).requires_grad and cr.detach(x).data is x.data
    assert cr.get_default_dtype() == np.float32 and cr.ones(1).dtype == cr.get_default_dtype()
    assert cr.concat is not cr.cat and cr.concat([x, x], 1).shape == (2, 6)


def test_tensor_methods_exist_where_pytorch_has_them():
    torch = pytest.importorskip("torch")
    names = ("all any amax amin argsort bernoulli ceil count_nonzero cumsum equal flip floor "
             "is_floating_point isclose log10 log2 masked_select multinomial nonzero prod roll "
             "round sort tile topk trunc unbind unique").split()
    assert [n for n in names if not hasattr(torch.Tensor, n)] == []
    assert [n for n in names if not hasattr(cr.Tensor, n)] == []


def test_normal_in_place_and_the_small_tensor_methods():
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    x = cr.zeros(20000, dtype=cr.float64)
    assert x.normal_(2.0, 0.5) is x and x._version == 1 and x.dtype == np.float64
    assert abs(x.mean().item() - 2.0) < 0.02 and abs(x.std().item() - 0.5) < 0.02
    with pytest.raises(RuntimeError, match="normal_: a leaf tensor that requires grad"):
        cr.zeros(2, requires_grad=True).normal_()
    values = np.array([[1, 5], [3, 2]])
    _same(cr.tensor(values).amax(1), torch.tensor(values).amax(1))
    _same(cr.tensor(values).amin((0, 1)), torch.tensor(values).amin((0, 1)))
    _same(cr.tensor(values).byte(), torch.tensor(values).byte())
    assert cr.tensor(values).equal(cr.tensor(values)) and not cr.ones(2).is_cuda
    assert cr.equal(input=cr.ones(2), other=cr.ones(2))


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_matches_torch_with_a_zero_row(p, dim):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((3, 4))
    data[1] = 0.0
    x = cr.tensor(data, dtype=cr.float64, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    weights = np.arange(12.0).reshape(3, 4)
    y = cr.nn.functional.normalize(x, p, dim)
    ty = torch.nn.functional.normalize(t, p, dim)
    (y * cr.tensor(weights, dtype=cr.float64)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-12)
    smooth = cr.tensor(data + 1.0, dtype=cr.float64, requires_grad=True)  # no zero vector
    assert cr.autograd.gradcheck(lambda a: cr.nn.functional.normalize(a, p, dim), (smooth,))


@pytest.mark.parametrize("method,args,kwargs", [("flip", (), {"dims": [1]}),
                                                 ("tile", (), {"dims": (2,)}),
                                                 ("roll", (), {"shifts": 1, "dims": 1})])
def test_keyword_dims_of_tensor_methods(method, args, kwargs):
    torch = pytest.importorskip("torch")
    x, t = cr.arange(6).reshape(2, 3), torch.arange(6).reshape(2, 3)
    assert getattr(x, method)(*args, **kwargs).tolist() == \
        getattr(t, method)(*args, **kwargs).tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_modes_match_torch(dtype, mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4)) * 10).astype(dtype)
    b = (rng.standard_normal(4) * 3).astype(dtype)
    b[b == 0] = 3
    got = cr.div(cr.tensor(a, dtype=dtype), cr.tensor(b, dtype=dtype), rounding_mode=mode)
    want = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    if mode == "floor":
        np.testing.assert_array_equal((cr.tensor(a, dtype=dtype) // cr.tensor(b, dtype=dtype))
                                      .numpy(), want.numpy())


def test_rounded_division_passes_a_zero_gradient_and_checks_its_arguments():
    x = cr.tensor([1.5, -2.5], dtype=cr.float64, requires_grad=True)
    cr.div(x, 2.0, rounding_mode="floor").sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match="div: rounding_mode must be None, 'trunc' or 'floor'"):
        cr.div(x, 2.0, rounding_mode="round")
    with pytest.raises(ZeroDivisionError, match=r"div: integer division by zero"):
        cr.tensor([1, 2]).div(cr.tensor([0, 1]), rounding_mode="trunc")


@pytest.mark.parametrize("name", ["add", "sub"])
def test_add_and_sub_with_alpha(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    x, y = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (a, b))
    got = getattr(x, name)(y, alpha=-0.5)
    want = getattr(torch.tensor(a), name)(torch.tensor(b), alpha=-0.5)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-15)
    fn = getattr(cr, name)
    assert cr.autograd.gradcheck(lambda p, q: fn(p, q, alpha=-0.5), (x, y))
    assert cr.autograd.gradgradcheck(lambda p, q: fn(p, q, alpha=-0.5) * p, (x, y))


def test_arithmetic_methods_and_aliases():
    x, y = cr.tensor([1.0, 2.0]), cr.tensor([4.0, 8.0])
    assert x.mul(y).tolist() == x.multiply(y).tolist() == [4.0, 16.0]
    assert y.div(x).tolist() == y.divide(x).tolist() == cr.true_divide(y, x).tolist()
    assert y.subtract(x).tolist() == [3.0, 6.0]
    assert cr.floor_divide(y, 3.0).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("expression", [
    "lib.tensor([5, -7]).div(2, rounding_mode='floor')",
    "lib.tensor([5, -7]).div(2, rounding_mode='trunc')",
    "7 // lib.tensor([2, -3])",
    "lib.div(7, lib.tensor([2, -3]), rounding_mode='trunc')",
    "lib.div(7.5, lib.tensor([2.0, -3.0]), rounding_mode='trunc')",
])
def test_rounded_division_with_a_python_number(expression):
    torch = pytest.importorskip("torch")
    got, want = eval(expression, {"lib": cr}), eval(expression, {"lib": torch})
    assert got.tolist() == want.tolist()
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    with pytest.raises(ZeroDivisionError, match=r"shapes \(2,\) and \(\)"):
        cr.tensor([5, 7]).div(0, rounding_mode="trunc")
