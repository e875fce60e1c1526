"""``cr.autograd.functional``: closed forms, PyTorch's output structures, strict mode, and
differentiable results (``create_graph=True``) checked by finite differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
Q = RNG.standard_normal((4, 4))
X = RNG.standard_normal(4)
V4, V3 = RNG.standard_normal(4), RNG.standard_normal(3)


def t(array, requires_grad=False):
    return cr.tensor(np.asarray(array, dtype=np.float64), dtype=np.float64,
                     requires_grad=requires_grad)


def linear(x):
    return t(A) @ x


def quadratic(x):
    return x @ (t(Q) @ x)                      # x^T Q x: gradient (Q + Q^T) x, Hessian Q + Q^T


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


# ---- closed forms -----------------------------------------------------------------------------
def test_products_with_vectors_match_closed_forms():
    out, res = vjp(linear, t(X), t(V3))
    close(out.numpy(), A @ X)
    close(res.numpy(), V3 @ A)                              # v^T A
    out, res = jvp(linear, t(X), t(V4))
    close(out.numpy(), A @ X)
    close(res.numpy(), A @ V4)                              # A v
    hess = Q + Q.T
    for fn in (hvp, vhp):
        out, res = fn(quadratic, t(X), t(V4))
        close(out.numpy(), X @ Q @ X)
        close(res.numpy(), hess @ V4)


def test_jacobian_and_hessian_match_closed_forms():
    close(jacobian(linear, t(X)).numpy(), A)
    close(jacobian(cr.sin, t(X)).numpy(), np.diag(np.cos(X)))
    close(hessian(quadratic, t(X)).numpy(), Q + Q.T)
    x = t([1.0, 2.0])
    close(hessian(lambda x: (x ** 3).sum(), x).numpy(), np.diag([6.0, 12.0]))
    m = t(RNG.standard_normal((2, 3)))   # shapes: output.shape + input.shape
    assert jacobian(lambda m: m * 2, m).shape == (2, 3, 2, 3)
    assert hessian(lambda m: (m ** 2).sum(), m).shape == (2, 3, 2, 3)


# ---- structures: tuples where PyTorch gives tuples --------------------------------------------
def test_output_structures_follow_the_arguments():
    a, b = t([1.0, 2.0]), t([3.0, 4.0])
    assert isinstance(jacobian(lambda x: x * 2, a), cr.Tensor)
    jac = jacobian(lambda x, y: x * y, (a, b))
    assert isinstance(jac, tuple) and len(jac) == 2
    close(jac[0].numpy(), np.diag([3.0, 4.0]))
    close(jac[1].numpy(), np.diag([1.0, 2.0]))
    jac = jacobian(lambda x: (x * 2, x.sum()), a)              # tuple over outputs
    assert isinstance(jac, tuple) and jac[1].shape == (2,)
    jac = jacobian(lambda x, y: (x * y, (x + y).sum()), (a, b))  # jac[i][j]: output i, input j
    assert isinstance(jac[0], tuple) and jac[1][0].shape == (2,)
    hess = hessian(lambda x, y: (x * y * y).sum(), (a, b))
    close(hess[0][0].numpy(), np.zeros((2, 2)))
    close(hess[0][1].numpy(), np.diag([6.0, 8.0]))              # d2/dx dy = 2 y
    close(hess[1][1].numpy(), np.diag([2.0, 4.0]))              # d2/dy2 = 2 x
    out, res = vjp(lambda x, y: (x * y, x - y), (a, b), (t([1.0, 1.0]), t([1.0, 0.0])))
    assert isinstance(out, tuple) and isinstance(res, tuple)
    close(res[0].numpy(), [4.0, 4.0])
    close(res[1].numpy(), [0.0, 2.0])
    out, res = jvp(lambda x, y: x * y, (a, b), (t([1.0, 0.0]), t([0.0, 1.0])))
    assert isinstance(out, cr.Tensor) and isinstance(res, cr.Tensor)
    close(res.numpy(), [3.0, 2.0])


def test_v_may_be_omitted_only_for_one_element():
    x = t([2.0])
    assert vjp(lambda x: (x ** 2).sum(), x)[1].item() == 4.0
    assert jvp(lambda x: x ** 2, x)[1].item() == 4.0
    assert hvp(lambda x: (x ** 3).sum(), x)[1].item() == 12.0
    with pytest.raises(RuntimeError, match="can only be None if the user-provided function"):
        vjp(lambda x: x * 2, t([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="can only be None if the input"):
        jvp(lambda x: x * 2, t([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="v has invalid size"):
        vjp(lambda x: x * 2, t([1.0, 2.0]), t([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length"):
        jvp(lambda x, y: x * y, (t([1.0]), t([2.0])), (t([1.0]),))


def test_argument_errors():
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        jacobian(lambda x: x, [t([1.0])])
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        hessian(lambda x: (x.sum(), x.sum()), t([1.0]))
    with pytest.raises(RuntimeError, match="should contain a single element"):
        hvp(lambda x: x * 2, t([1.0, 2.0]), t([1.0, 1.0]))
    with pytest.raises(RuntimeError, match="not supported together"):
        jacobian(lambda x: x, t([1.0]), strict=True, vectorize=True)
    assert jacobian(lambda x: x * 3, t([1.0]), vectorize=True).item() == 3.0


# ---- unused inputs: zeros, or an error in strict mode -----------------------------------------
def test_independent_inputs_give_zeros_or_raise_when_strict():
    a, b = t([1.0, 2.0]), t([3.0])
    jac = jacobian(lambda x, y: x * 2, (a, b))
    close(jac[1].numpy(), np.zeros((2, 1)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        jacobian(lambda x, y: x * 2, (a, b), strict=True)
    close(vjp(lambda x, y: x * 2, (a, b), t([1.0, 1.0]))[1][1].numpy(), [0.0])
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda x, y: x * 2, (a, b), t([1.0, 1.0]), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        vjp(lambda x: cr.ones(2), a, t([1.0, 1.0]), strict=True)
    close(hessian(lambda x: (x * 2).sum(), a).numpy(), np.zeros((2, 2)))  # linear: H = 0
    with pytest.raises(RuntimeError, match="independent of the input"):
        hessian(lambda x: (x * 2).sum(), a, strict=True)


# ---- graphs: detached by default, differentiable with create_graph=True ------------------------
def test_results_are_detached_unless_create_graph():
    x = t(X, requires_grad=True)
    out, res = vjp(quadratic, x)
    assert not out.requires_grad and not res.requires_grad and x.grad is None
    assert not jacobian(cr.sin, x).requires_grad
    out, res = vhp(quadratic, x, t(V4), create_graph=True)
    assert out.requires_grad


def test_create_graph_results_pass_gradcheck_and_gradgradcheck():
    x = t(X, requires_grad=True)
    v4, v3 = t(V4), t(V3)

    def f(x):
        return cr.tanh(t(A) @ cr.sin(x))

    def g(x):
        return (cr.sin(x) * x).sum()

    checks = [
        lambda x: vjp(f, x, v3, create_graph=True)[1],
        lambda x: jvp(f, x, v4, create_graph=True)[1],
        lambda x: jacobian(f, x, create_graph=True),
        lambda x: hvp(g, x, v4, create_graph=True)[1],
        lambda x: vhp(g, x, v4, create_graph=True)[1],
        lambda x: hessian(g, x, create_graph=True),
    ]
    for fn in checks:
        assert gradcheck(fn, (x,))
    assert gradgradcheck(checks[1], (x,), n_directions=3)
    assert gradgradcheck(checks[3], (x,), n_directions=3)


def test_jvp_equals_jacobian_times_v_on_a_nonlinear_map():
    def f(x):
        return cr.tanh(t(A) @ cr.sin(x))

    jac = jacobian(f, t(X)).numpy()
    close(jvp(f, t(X), t(V4))[1].numpy(), jac @ V4)
    close(vjp(f, t(X), t(V3))[1].numpy(), V3 @ jac)
