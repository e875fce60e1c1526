"""Bad input gets a clear exception naming the operation and the shapes involved."""

import numpy as np
import pytest

import chainrule as cr


def test_matmul_mismatch_names_op_and_both_shapes():
    with pytest.raises(ValueError) as info:
        cr.randn(32, 784) @ cr.randn(100, 10)
    message = str(info.value)
    assert "matmul" in message and "(32, 784)" in message and "(100, 10)" in message


@pytest.mark.parametrize("a,b", [((3,), (4,)), ((2, 3, 4), (5, 4, 2)), ((), (3,))])
def test_matmul_mismatch_other_ranks(a, b):
    with pytest.raises(ValueError, match="matmul") as info:
        cr.matmul(cr.ones(*a), cr.ones(*b))
    assert str(a) in str(info.value) and str(b) in str(info.value)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "pow"])
def test_broadcasting_mismatch_names_the_op_and_shapes(op):
    with pytest.raises(ValueError, match=rf"^{op}: .*\(2, 3\).*\(4,\)"):
        getattr(cr, op)(cr.ones(2, 3), cr.ones(4))


def test_broadcasting_mismatch_through_operators_names_add():
    with pytest.raises(ValueError, match=r"^add: .*\(2, 3\), \(4,\)"):
        cr.ones(2, 3) + cr.ones(4)


def test_where_mismatch_names_where():
    with pytest.raises(ValueError, match="^where: "):
        cr.where(cr.ones(2) > 0, cr.ones(3), cr.ones(2))


def test_linear_mismatch_names_in_features_and_shapes():
    with pytest.raises(ValueError, match=r"linear: .*\(2, 5\).*\(3, 4\).*in_features=4"):
        cr.linear(cr.ones(2, 5), cr.ones(3, 4), cr.ones(3))


def test_reshape_to_wrong_size():
    with pytest.raises(ValueError, match=r"reshape: shape \(4, 2\) is invalid .* size 6"):
        cr.ones(2, 3).reshape(4, 2)


def test_broadcast_to_and_expand_to_incompatible_shape():
    with pytest.raises(ValueError, match=r"broadcast_to: shape \(2, 3\) .* \(4, 3, 2\)"):
        cr.ones(2, 3).expand(4, 3, 2)
    with pytest.raises(ValueError, match=r"broadcast_to: shape \(2, 3\)"):
        cr.broadcast_to(cr.ones(2, 3), (3,))


def test_sum_to_an_unreachable_shape():
    with pytest.raises(ValueError, match=r"sum_to: cannot reduce shape \(2, 3\) to \(4,\)"):
        cr.sum_to(cr.ones(2, 3), (4,))


def test_cat_and_stack_mismatch_list_the_shapes():
    with pytest.raises(ValueError, match=r"cat: shapes \[\(2, 3\), \(2, 4\)\]"):
        cr.cat([cr.ones(2, 3), cr.ones(2, 4)])
    with pytest.raises(ValueError, match=r"stack: .*\(2, 3\), \(2, 4\)"):
        cr.stack([cr.ones(2, 3), cr.ones(2, 4)])
    with pytest.raises(ValueError, match="cat: expected a non-empty"):
        cr.cat([])


def test_split_sizes_must_add_up():
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] do not add up to 5"):
        cr.split(cr.ones(5), [2, 2])


@pytest.mark.parametrize("call,op", [
    (lambda x: x.sum(3), "sum"),
    (lambda x: x.mean(-3), "mean"),
    (lambda x: x.max(2), "max"),
    (lambda x: cr.softmax(x, dim=2), "softmax"),
    (lambda x: cr.log_softmax(x, dim=-3), "log_softmax"),
    (lambda x: cr.logsumexp(x, dim=5), "logsumexp"),
    (lambda x: x.var(4), "var"),
    (lambda x: x.squeeze(5), "squeeze"),
    (lambda x: x.unsqueeze(3), "unsqueeze"),
    (lambda x: x.transpose(0, 4), "transpose"),
    (lambda x: x.permute(0, 5), "permute"),
])
def test_dim_out_of_range_names_the_op(call, op):
    with pytest.raises(IndexError, match=rf"^{op}: dim -?\d+ is out of range"):
        call(cr.ones(2, 3))


def test_permute_needs_one_dim_per_axis():
    with pytest.raises(ValueError, match=r"permute: 3 dims given for a tensor of shape \(2, 3\)"):
        cr.ones(2, 3).permute(1, 0, 2)


def test_index_out_of_bounds_names_getitem():
    with pytest.raises(IndexError, match=r"getitem: index 5 .* size 2"):
        cr.ones(2, 3)[5]


def test_pad_argument_checks():
    with pytest.raises(ValueError, match=r"pad: pad \(1,\) must hold \(left, right\) pairs"):
        cr.pad(cr.ones(2), (1,))
    with pytest.raises(ValueError, match="pad: negative"):
        cr.pad(cr.ones(2), (-1, 0))
    with pytest.raises(ValueError, match="pad: only mode='constant'"):
        cr.pad(cr.ones(2), (1, 1), mode="reflect")


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        cr.clamp(cr.ones(2))


def test_max_of_empty_tensor():
    with pytest.raises(ValueError, match=r"max: empty tensor of shape \(0,\)"):
        cr.ones(0).max()


def test_errors_keep_the_numpy_exception_as_cause():
    with pytest.raises(ValueError) as info:
        cr.ones(2, 3) * cr.ones(3, 2)
    assert isinstance(info.value.__cause__, ValueError)


def test_no_wrong_answer_for_bad_shapes_in_backward():
    """A gradient of the wrong shape passed by the user is refused, not broadcast."""
    y = cr.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(cr.tensor(np.ones((3, 2))))


@pytest.mark.parametrize("a,b,p,match", [
    ((3,), (4, 3), 2.0, r"cdist: expected tensors of at least 2 dims.*\(3,\).*\(4, 3\)"),
    ((2, 3), (4, 5), 2.0, r"cdist: x1 and x2 must have the same number of columns.*\(2, 3\).*"
                          r"\(4, 5\)"),
    ((2, 3), (4, 3), -1.0, r"cdist: p must be non-negative, got -1.0"),
])
def test_cdist_errors_name_the_function_and_shapes(a, b, p, match):
    with pytest.raises(ValueError, match=match):
        cr.cdist(cr.ones(*a), cr.ones(*b), p)


@pytest.mark.parametrize("a,b,match", [
    (cr.ones(2, 3, dtype=cr.int64), cr.ones(4, 3, dtype=cr.int64), "same floating dtype"),
    (cr.ones(2, 3), cr.ones(4, 3, dtype=cr.float64), "float32 and float64"),
])
def test_cdist_needs_one_floating_dtype(a, b, match):
    with pytest.raises(TypeError, match=f"cdist: .*{match}"):
        cr.cdist(a, b)


def test_cdist_checks_p_and_compute_mode():
    with pytest.raises(ValueError, match="cdist: p must be non-negative, got nan"):
        cr.cdist(cr.ones(2, 3), cr.ones(4, 3), float("nan"))
    with pytest.raises(ValueError, match="cdist: 'fast' is not a valid value for compute_mode"):
        cr.cdist(cr.ones(2, 3), cr.ones(4, 3), compute_mode="fast")
