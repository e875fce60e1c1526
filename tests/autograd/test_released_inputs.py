"""The graph keeps what the formulas saved, not every input: large intermediates that backward
never reads are returned as soon as the program drops them (as in PyTorch)."""

import gc
import weakref

import numpy as np

import chainrule as cr
from chainrule.autograd import grad
from chainrule.autograd.function import RELEASE_BYTES, ReleasedInput


def _big(requires_grad=True):
    n = RELEASE_BYTES // 4 + 1  # just over the limit in float32
    return cr.randn(n, requires_grad=requires_grad)


def test_an_unsaved_large_intermediate_is_freed_before_backward():
    x = _big()
    h = x * 2.0
    ref = weakref.ref(h)
    y = (h + 1.0).sum()  # Add saves nothing: only the program holds h
    del h
    gc.collect()
    assert ref() is None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(x.shape, 2.0, np.float32))


def test_saved_and_small_intermediates_are_kept():
    x = _big()
    h = x * 2.0
    y = h * h  # Mul saves both operands: h stays in the graph
    assert y.grad_fn.parents[0] is h
    small = cr.randn(4, requires_grad=True) * 3.0
    z = small + 1.0  # small inputs are kept, for graph drawings with values
    assert z.grad_fn.parents[0] is small
    released = (h + 1.0).grad_fn.parents[0]
    assert isinstance(released, ReleasedInput) and released.tensor is h
    assert released.shape == h.shape and released.grad_fn is h.grad_fn


def test_grad_with_respect_to_a_released_intermediate():
    x = _big()
    h = x * 3.0
    y = ((h + 1.0) * 2.0).sum()  # h reaches Add only, which releases it
    (gh,) = grad(y, h, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), np.full(h.shape, 2.0, np.float32))
    gx, gh = grad(y, [x, h])
    np.testing.assert_allclose(gx.numpy(), np.full(x.shape, 6.0, np.float32))
    np.testing.assert_allclose(gh.numpy(), np.full(h.shape, 2.0, np.float32))


def test_second_derivatives_through_released_inputs():
    x = cr.tensor(np.linspace(-1, 1, RELEASE_BYTES // 8 + 1), dtype=np.float64,
                  requires_grad=True)
    h = x * x
    y = (h + 1.0).sum() * 0.5  # y = sum(x^2 + 1) / 2 ; dy/dx = x ; d2y/dx2 = 1
    (g,) = grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), x.detach().numpy())
    (gg,) = grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), np.ones(x.shape))


def test_a_node_that_saved_its_output_checks_versions_past_a_released_input():
    x = _big()
    y = (x * 2.0 + 1.0).relu()  # relu saves its output; its input is released
    assert isinstance(y.grad_fn.parents[0], ReleasedInput)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(x.detach().numpy() * 2 + 1 > 0, 2.0, 0.0))
