"""Random computational graphs (hypothesis): any DAG of ops, with values reused any number of
times and shapes that broadcast, has first and second derivatives that match finite
differences. This exercises the engine's ordering and accumulation rather than any one op."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck

UNARY = {
    "sin": cr.sin,
    "tanh": cr.tanh,
    "sigmoid": cr.sigmoid,
    "square": lambda a: a * a,
    "neg": lambda a: -a,
    "exp_small": lambda a: (a * 0.3).exp(),
    "softmax": lambda a: cr.softmax(a, dim=-1),
    "sum_keepdim": lambda a: a.sum(-1, keepdim=True),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "safe_div": lambda a, b: a / (1.0 + b * b),
}

step = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 10 ** 6)),
    st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 10 ** 6), st.integers(0, 10 ** 6)),
)


def _program(steps):
    """A function of (x, y) that runs ``steps``; each step reads earlier values by index."""

    def run(x, y):
        values = [x, y]
        for name, *picks in steps:
            args = [values[p % len(values)] for p in picks]
            op = UNARY.get(name) or BINARY[name]
            values.append(op(*args))
        start = values[0].sum() + values[1].sum()
        return sum((v.sum() * (i + 2) for i, v in enumerate(values[2:])), start)

    return run


def _inputs(seed):
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((2, 3)), dtype=cr.float64, requires_grad=True)
    y = cr.tensor(rng.standard_normal(3), dtype=cr.float64, requires_grad=True)
    return x, y


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(steps=st.lists(step, min_size=1, max_size=8), seed=st.integers(0, 1000))
def test_random_graph_gradients_match_finite_differences(steps, seed):
    assert gradcheck(_program(steps), _inputs(seed))


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(steps=st.lists(step, min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_random_graph_second_derivatives_match_finite_differences(steps, seed):
    assert gradgradcheck(_program(steps), _inputs(seed), n_directions=3)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(steps=st.lists(step, min_size=1, max_size=8), seed=st.integers(0, 1000))
def test_backward_and_grad_agree_and_retain_graph_doubles(steps, seed):
    """.backward() and autograd.grad give the same numbers; a retained second pass adds them."""
    x, y = _inputs(seed)
    loss = _program(steps)(x, y)
    gx, gy = cr.autograd.grad(loss, [x, y], retain_graph=True)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), gx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), gy.numpy(), rtol=1e-12, atol=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * gx.numpy(), rtol=1e-12, atol=1e-12)
