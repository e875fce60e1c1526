"""PyTorch parity of every row of the op table (tests/ops/op_specs.py): values and gradients.

The same float64 inputs go through chainrule and PyTorch; outputs (indices included) must agree,
and so must the gradients of sum_k <v_k, out_k> for the same random vectors v_k.
"""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chainrule as cr  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))  # the op table
from op_specs import (  # noqa: E402
    OPS,
    all_cases,
    as_tuple,
    case_id,
    sample_inputs,
    to_tensors,
)

PARITY = [p for p in all_cases() if p[0].torch_fn is not None]


def _torch_inputs(arrays):
    return [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]


def _compare(op, c, seed=0):
    arrays = sample_inputs(op, c, seed)
    inputs = to_tensors(arrays)
    ours = as_tuple(op.fn(*inputs, **c.kwargs))
    t_inputs = _torch_inputs(arrays)
    theirs = as_tuple(op.torch_fn(torch, *t_inputs, **c.kwargs))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        expected = t.detach().numpy()
        assert o.shape == expected.shape, f"{op.name}: shape {o.shape} vs torch {expected.shape}"
        np.testing.assert_allclose(o.numpy(), expected, rtol=1e-10, atol=1e-12)
    if not op.differentiable:
        return
    rng = np.random.default_rng(seed + 1)
    pairs = [(o, t, rng.standard_normal(o.shape)) for o, t in zip(ours, theirs)
             if o.dtype.kind == "f"]
    leaves = [x for x in inputs if x.requires_grad]
    t_leaves = [t for t in t_inputs if t.requires_grad]
    grads = cr.autograd.grad([o for o, _, _ in pairs], leaves,
                             [cr.tensor(v, dtype=cr.float64) for _, _, v in pairs],
                             allow_unused=True)
    t_grads = torch.autograd.grad([t for _, t, _ in pairs], t_leaves,
                                  [torch.tensor(v) for _, _, v in pairs], allow_unused=True)
    for i, (g, tg) in enumerate(zip(grads, t_grads)):
        expected = np.zeros(t_leaves[i].shape) if tg is None else tg.numpy()
        actual = np.zeros(leaves[i].shape) if g is None else g.numpy()
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{op.name}: gradient of input {i}")


@pytest.mark.parametrize("op,c", PARITY, ids=[case_id(p) for p in PARITY])
def test_values_and_gradients_match_torch(op, c):
    _compare(op, c)


WITH_STRATEGY = [op for op in OPS if op.strategy is not None and op.torch_fn is not None]


@pytest.mark.parametrize("op", WITH_STRATEGY, ids=[op.name for op in WITH_STRATEGY])
@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_random_shapes_match_torch(op, data):
    _compare(op, data.draw(op.strategy(), label="case"))


def test_every_row_has_a_torch_reference():
    assert [op.name for op in OPS if op.torch_fn is None] == []


# ---- special points: kinks, ties, zeros and saturation, where a convention must be chosen ----
SPECIAL_POINTS = [
    ("relu_at_0", lambda m, x: m.relu(x), [-1.0, 0.0, 2.0]),
    ("abs_at_0", lambda m, x: m.abs(x), [-1.0, 0.0, 2.0]),
    ("max_all_ties", lambda m, x: x.max(), [1.0, 3.0, 3.0]),
    ("maximum_ties", lambda m, x: m.maximum(x, x.detach()), [1.0, 2.0]),
    ("minimum_ties", lambda m, x: m.minimum(x * 1.0, x.detach()), [1.0, 2.0]),
    ("clamp_at_bounds", lambda m, x: x.clamp(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0]),
    ("pow_0_at_0", lambda m, x: x ** 0, [0.0, 2.0]),
    ("pow_2_at_0", lambda m, x: x ** 2, [0.0, -2.0]),
    ("sqrt_at_0", lambda m, x: m.sqrt(x), [0.0, 4.0]),
    ("norm_at_0", lambda m, x: x.norm(), [0.0, 0.0, 0.0]),
    ("std_of_constant", lambda m, x: x.std(), [2.0, 2.0, 2.0]),
    ("sigmoid_saturated", lambda m, x: m.sigmoid(x), [-1000.0, 0.0, 1000.0]),
    ("tanh_saturated", lambda m, x: m.tanh(x), [-1000.0, 1000.0]),
    ("log_softmax_large", lambda m, x: m.log_softmax(x, 0), [1000.0, 1.0]),
    ("logsumexp_large", lambda m, x: m.logsumexp(x, 0), [1000.0, 1000.0]),
    ("div_by_0", lambda m, x: 1.0 / x, [0.0, 2.0]),
]


@pytest.mark.parametrize("name,fn,values", SPECIAL_POINTS, ids=[s[0] for s in SPECIAL_POINTS])
def test_special_points_match_torch(name, fn, values):
    x = cr.tensor(values, dtype=cr.float64, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        ours = fn(cr, x)
        theirs = fn(torch, t)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
        v = np.linspace(1.0, 2.0, ours.data.size).reshape(ours.shape)
        ours.backward(cr.tensor(v, dtype=cr.float64))
        theirs.backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
