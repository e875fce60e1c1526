"""Every row of the op table (op_specs.py): forward vs NumPy, gradients, dtypes.

For each (op, case): the forward value equals the NumPy reference in float64 and in float32;
float64 gradients match central finite differences (gradcheck) and so do second derivatives
(gradgradcheck, which differentiates the backward formulas run with create_graph=True);
float32 stays float32 and float64 stays float64 through forward and backward. Hypothesis then
draws further shapes (broadcasting, 0-d, reduced dims) for the rows that have a strategy.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

sys.path.insert(0, str(Path(__file__).resolve().parent))  # op_specs.py sits beside this file
from op_specs import OPS, all_cases, as_tuple, case_id, sample_inputs, to_tensors  # noqa: E402

CASES = all_cases()
DIFFERENTIABLE = [p for p in CASES if p[0].differentiable]
WITH_STRATEGY = [op for op in OPS if op.strategy is not None]
HYPOTHESIS = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow])


def _check_forward(op, c, dtype, rtol, atol):
    arrays = sample_inputs(op, c)
    outs = as_tuple(op.fn(*to_tensors(arrays, dtype), **c.kwargs))
    refs = as_tuple(op.ref(*arrays, **c.kwargs))
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        ref = np.asarray(ref)
        assert isinstance(out, cr.Tensor)
        assert out.shape == ref.shape, f"{op.name}: shape {out.shape} != {ref.shape}"
        if ref.dtype.kind == "f":
            assert out.dtype == dtype, f"{op.name}: {dtype} input gave {out.dtype}"
            np.testing.assert_allclose(out.numpy(), ref, rtol=rtol, atol=atol)
        else:
            assert out.dtype.kind == ref.dtype.kind
            np.testing.assert_array_equal(out.numpy(), ref)


def _wrapped(op, c):
    return lambda *xs: op.fn(*xs, **c.kwargs)


@pytest.mark.parametrize("op,c", CASES, ids=[case_id(p) for p in CASES])
def test_forward_matches_numpy_float64(op, c):
    _check_forward(op, c, np.float64, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op,c", CASES, ids=[case_id(p) for p in CASES])
def test_forward_matches_numpy_float32(op, c):
    _check_forward(op, c, np.float32, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("op,c", DIFFERENTIABLE, ids=[case_id(p) for p in DIFFERENTIABLE])
def test_gradcheck(op, c):
    inputs = to_tensors(sample_inputs(op, c))
    assert cr.autograd.gradcheck(_wrapped(op, c), inputs)


@pytest.mark.parametrize("op,c", DIFFERENTIABLE, ids=[case_id(p) for p in DIFFERENTIABLE])
def test_gradgradcheck(op, c):
    inputs = to_tensors(sample_inputs(op, c))
    assert cr.autograd.gradgradcheck(_wrapped(op, c), inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("op,c", DIFFERENTIABLE, ids=[case_id(p) for p in DIFFERENTIABLE])
def test_dtype_kept_through_backward(op, c, dtype):
    """float32 stays float32 (and float64 float64) in outputs, .grad and create_graph grads."""
    inputs = to_tensors(sample_inputs(op, c), dtype)
    outs = [o for o in as_tuple(op.fn(*inputs, **c.kwargs)) if o.dtype.kind == "f"]
    assert all(o.dtype == dtype for o in outs)
    rng = np.random.default_rng(1)
    seeds = [cr.tensor(rng.standard_normal(o.shape), dtype=dtype) for o in outs]
    leaves = [x for x in inputs if x.requires_grad]
    grads = cr.autograd.grad(outs, leaves, seeds, create_graph=True, allow_unused=True)
    cr.autograd.backward(outs, seeds)
    for x, g in zip(leaves, grads):
        assert x.grad is not None and x.grad.shape == x.shape
        assert x.grad.dtype == dtype, f"{op.name}: .grad is {x.grad.dtype} for a {dtype} input"
        assert g.dtype == dtype and g.shape == x.shape
        np.testing.assert_allclose(g.numpy(), x.grad.numpy(), rtol=1e-6, atol=1e-6)


NON_DIFFERENTIABLE = [p for p in CASES if not p[0].differentiable]


@pytest.mark.parametrize("op,c", NON_DIFFERENTIABLE, ids=[case_id(p) for p in NON_DIFFERENTIABLE])
def test_non_differentiable_ops_record_no_graph(op, c):
    inputs = to_tensors(sample_inputs(op, c))
    for out in as_tuple(op.fn(*inputs, **c.kwargs)):
        assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("op", WITH_STRATEGY, ids=[op.name for op in WITH_STRATEGY])
@HYPOTHESIS
@given(data=st.data())
def test_random_shapes(op, data):
    """Hypothesis-drawn shapes: forward vs NumPy and gradients vs finite differences."""
    c = data.draw(op.strategy(), label="case")
    _check_forward(op, c, np.float64, rtol=1e-10, atol=1e-12)
    if op.differentiable:
        inputs = to_tensors(sample_inputs(op, c))
        assert cr.autograd.gradcheck(_wrapped(op, c), inputs)
        assert cr.autograd.gradgradcheck(_wrapped(op, c), inputs, n_directions=3)


def test_table_covers_the_required_ops():
    """The issue's list of operations, each with at least one row in the table."""
    required = ("add sub mul div pow_tensor_exponent pow_int pow_fractional neg abs exp log "
                "sqrt sin cos tanh sigmoid relu clamp maximum minimum where sum mean max min "
                "var std logsumexp softmax log_softmax reshape view flatten transpose permute "
                "squeeze unsqueeze expand broadcast_to getitem_slices getitem_repeated_ints "
                "getitem_bool_mask cat stack split pad matmul linear lt le gt ge eq ne "
                "argmax").split()
    names = {op.name for op in OPS}
    assert not [n for n in required if n not in names]
