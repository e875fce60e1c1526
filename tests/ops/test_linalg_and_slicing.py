"""solve, inv, det, diag, trace, outer (ops/linalg.py), narrow and repeat_interleave
(ops/slicing.py): values against NumPy and PyTorch, first and second derivatives in float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
B = RNG.standard_normal((3, 2))
V = RNG.standard_normal(3)
W = RNG.standard_normal(4)
M = RNG.standard_normal((3, 4))


def t(array):
    return cr.tensor(array, dtype=cr.float64, requires_grad=True)


CASES = {
    "solve_matrix": (lambda a, b: cr.linalg.solve(a, b), (A, B), np.linalg.solve),
    "solve_vector": (lambda a, b: cr.linalg.solve(a, b), (A, V), np.linalg.solve),
    "inv": (cr.linalg.inv, (A,), np.linalg.inv),
    "det": (cr.linalg.det, (A,), np.linalg.det),
    "diag_of_vector": (cr.diag, (V,), np.diag),
    "diag_of_vector_above": (lambda v: cr.diag(v, 1), (V,), lambda v: np.diag(v, 1)),
    "diag_of_matrix_below": (lambda m: cr.diag(m, -1), (M,), lambda m: np.diag(m, -1)),
    "trace": (cr.trace, (M[:, :3],), np.trace),
    "outer": (cr.outer, (V, W), np.outer),
    "narrow": (lambda m: m.narrow(1, 1, 2), (M,), lambda m: m[:, 1:3]),
    "repeat_interleave": (lambda m: m.repeat_interleave(2, dim=0), (M,),
                          lambda m: np.repeat(m, 2, axis=0)),
    "repeat_interleave_counts": (lambda v: cr.repeat_interleave(v, cr.tensor([1, 0, 3])), (V,),
                                 lambda v: np.repeat(v, [1, 0, 3])),
}


@pytest.mark.parametrize("name", CASES)
def test_values_gradients_and_second_derivatives(name):
    fn, arrays, reference = CASES[name]
    inputs = [t(a) for a in arrays]
    np.testing.assert_allclose(fn(*inputs).numpy(), reference(*arrays), rtol=1e-10, atol=1e-12)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", CASES)
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    fn, arrays, _ = CASES[name]
    torch_fn = {
        "solve_matrix": torch.linalg.solve, "solve_vector": torch.linalg.solve,
        "inv": torch.linalg.inv, "det": torch.linalg.det, "diag_of_vector": torch.diag,
        "diag_of_vector_above": lambda v: torch.diag(v, 1),
        "diag_of_matrix_below": lambda m: torch.diag(m, -1), "trace": torch.trace,
        "outer": torch.outer, "narrow": lambda m: m.narrow(1, 1, 2),
        "repeat_interleave": lambda m: m.repeat_interleave(2, dim=0),
        "repeat_interleave_counts": lambda v: torch.repeat_interleave(v, torch.tensor([1, 0, 3])),
    }[name]
    ours = [t(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"solve: A must be a square matrix.*\(3, 4\)"):
        cr.linalg.solve(cr.ones(3, 4), cr.ones(3))
    with pytest.raises(ValueError, match=r"solve: A of shape \(3, 3\) and B of shape \(2,\)"):
        cr.linalg.solve(cr.eye(3), cr.ones(2))
    with pytest.raises(IndexError, match="narrow: start 3 and length 2 exceed dim 1 of size 4"):
        cr.ones(3, 4).narrow(1, 3, 2)
    with pytest.raises(ValueError, match="repeat_interleave: 2 repeats for dim 0 of size 3"):
        cr.repeat_interleave(cr.ones(3), cr.tensor([1, 2]))


@pytest.mark.parametrize("p,a,b,expected", [
    (float("inf"), [[0.0, 0.0, 0.0]], [[1.0, -1.0, 0.5]], [[-1.0, 1.0, 0.0]]),  # every tie
    (0.5, [[0.0, 0.0]], [[0.0, 1.0]], [[0.0, -1.0]]),  # a coordinate in common: 0, not NaN
    (2.0, [[1.0, 2.0]], [[1.0, 2.0]], [[0.0, 0.0]]),  # coinciding rows
    (0.0, [[1.0, 2.0]], [[1.0, 3.0]], [[0.0, 0.0]]),  # a count: zero gradient
])
def test_cdist_gradients_where_pytorch_defines_them(p, a, b, expected):
    """PyTorch's cdist slopes at ties and zeros (values checked against torch 2.13)."""
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    y = cr.tensor(b, dtype=cr.float64, requires_grad=True)
    cr.cdist(x, y, p).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    np.testing.assert_array_equal(y.grad.numpy(), -np.asarray(expected))
