"""The recurrent cells and fused primitives: gradients, second derivatives, masks, errors.

Every check runs the three recurrences (Elman with tanh and relu, LSTM, GRU) forward and in
reverse, with and without a mask of padded steps. The composed version (``fused=False``: the
cells ``rnn_cell``, ``lstm_cell``, ``gru_cell`` looped over time, one graph node per operation)
is the one definition of each recurrence; the array kernels of the fused nodes (forward and
back-propagation through time) are checked against it, and the cells against NumPy by hand.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import Function, gradcheck, gradgradcheck
from chainrule.ops.recurrent import (
    gru_cell,
    gru_sequence,
    lstm_cell,
    lstm_sequence,
    rnn_cell,
    rnn_sequence,
)

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True, database=None)
KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def make_inputs(kind, steps=4, batch=3, size=2, seed=0, scale=1.0, dtype=np.float64):
    """gx, h0, [c0], w_hh, [b_hh] as leaf tensors that require grad."""
    rng = np.random.default_rng(seed)

    def leaf(*shape):
        return cr.tensor(scale * rng.standard_normal(shape), dtype=dtype, requires_grad=True)

    inputs = [leaf(steps, batch, GATES[kind] * size), leaf(batch, size)]
    if kind == "lstm":
        inputs.append(leaf(batch, size))
    inputs.append(leaf(GATES[kind] * size, size))
    if kind == "gru":
        inputs.append(leaf(GATES[kind] * size))
    return inputs


def run(kind, inputs, mask=None, reverse=False, fused=True):
    """All outputs of a recurrence as one tensor: the states, then the final state(s)."""
    if kind == "lstm":
        gx, h0, c0, w = inputs
        hs, (h_n, c_n) = lstm_sequence(gx, h0, c0, w, mask, reverse, fused=fused)
        return cr.cat([hs, h_n.unsqueeze(0), c_n.unsqueeze(0)], 0)
    if kind == "gru":
        gx, h0, w, b = inputs
        hs, h_n = gru_sequence(gx, h0, w, b, mask, reverse, fused=fused)
    else:
        gx, h0, w = inputs
        hs, h_n = rnn_sequence(gx, h0, w, mask, reverse, kind[4:], fused=fused)
    return cr.cat([hs, h_n.unsqueeze(0)], 0)


def padding_mask(steps=4, lengths=(4, 2, 3)):
    return (np.arange(steps)[:, None] < np.asarray(lengths)[None, :])[:, :, None]


CASES = [(kind, reverse, masked) for kind in KINDS for reverse in (False, True)
         for masked in (False, True)]


@pytest.mark.parametrize("kind, reverse, masked", CASES)
def test_gradcheck(kind, reverse, masked):
    inputs = make_inputs(kind)
    mask = padding_mask() if masked else None
    assert gradcheck(lambda *xs: run(kind, xs, mask, reverse), inputs)


@pytest.mark.parametrize("kind, reverse, masked", CASES)
def test_gradgradcheck(kind, reverse, masked):
    inputs = make_inputs(kind, steps=3, batch=2, size=2, seed=1)
    mask = padding_mask(3, (3, 1)) if masked else None
    assert gradgradcheck(lambda *xs: run(kind, xs, mask, reverse), inputs, n_directions=4)


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(steps=st.integers(1, 6), batch=st.integers(1, 4), size=st.integers(1, 5),
       reverse=st.booleans(), masked=st.booleans(), seed=st.integers(0, 10))
def test_fused_equals_composed(kind, steps, batch, size, reverse, masked, seed):
    """Values and every input gradient of the fused node (the kernels) equal those of the
    composed graph (the cells)."""
    inputs = make_inputs(kind, steps, batch, size, seed)
    lengths = np.random.default_rng(seed).integers(1, steps + 1, size=batch)
    mask = padding_mask(steps, lengths) if masked else None
    upstream = cr.tensor(np.random.default_rng(seed + 1).standard_normal(
        run(kind, inputs, mask, reverse).shape), dtype=np.float64)
    results = []
    for fused in (True, False):
        out = run(kind, inputs, mask, reverse, fused)
        grads = cr.autograd.grad(out, inputs, upstream)
        results.append([out.numpy()] + [g.numpy() for g in grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def count_nodes(tensor):
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(p.grad_fn for p in node.parents if p is not None)
    return len(seen)


@pytest.mark.parametrize("kind", KINDS)
def test_graph_size_does_not_grow_with_the_sequence_length(kind):
    """The whole recurrence is one node: 5 steps or 50 give graphs of the same size."""
    short, long = (count_nodes(run(kind, make_inputs(kind, steps=n))) for n in (5, 50))
    assert short == long


@pytest.mark.parametrize("kind", KINDS)
def test_mask_freezes_the_state_after_each_sequence_ends(kind):
    """With lengths L_b, the final state is the state at step L_b - 1 of an unpadded run."""
    lengths = (4, 2, 3)
    inputs = make_inputs(kind, steps=4, batch=3)
    out = run(kind, inputs, padding_mask(4, lengths))
    for b, length in enumerate(lengths):
        single = [x[:length, b:b + 1] if i == 0 else
                  (x[b:b + 1] if x.ndim == 2 and x.shape[0] == 3 else x)
                  for i, x in enumerate(inputs)]
        ref = run(kind, single)
        np.testing.assert_allclose(out.numpy()[4:, b], ref.numpy()[length:, 0], rtol=1e-12)
        np.testing.assert_allclose(out.numpy()[:length, b], ref.numpy()[:length, 0],
                                   rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_reverse_equals_forward_on_the_flipped_sequence(kind):
    inputs = make_inputs(kind, steps=5)
    backward_run = run(kind, inputs, reverse=True).numpy()
    flipped = [cr.tensor(inputs[0].numpy()[::-1].copy(), dtype=np.float64)] + inputs[1:]
    forward_run = run(kind, flipped).numpy()
    np.testing.assert_allclose(backward_run[:5], forward_run[:5][::-1], rtol=1e-12)
    np.testing.assert_allclose(backward_run[5:], forward_run[5:], rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [50.0, 1000.0])
def test_saturated_gates_keep_finite_gradients(kind, dtype, scale):
    """Pre-activations of +-50 (and +-1000, past float32's exp range) saturate the gates: the
    states and gradients stay finite and no overflow warning escapes (RELIABILITY 15)."""
    inputs = make_inputs(kind, steps=6, batch=4, size=3, seed=2, dtype=dtype)
    gx = inputs[0]
    gx.data = np.sign(gx.data) * dtype(scale)  # +-scale everywhere
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = run(kind, inputs)
        grads = cr.autograd.grad(out.sum(), inputs)
    assert out.dtype == dtype
    assert np.isfinite(out.numpy()).all()
    for g in grads:
        assert g.dtype == dtype and np.isfinite(g.numpy()).all()


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman_step_by_hand(fused, nonlinearity):
    """h_t = act(gx_t + h_{t-1} W_hh^T), two steps by hand, fused and composed."""
    rng = np.random.default_rng(2)
    gx, h0, w = (rng.standard_normal(s) for s in ((2, 3, 2), (3, 2), (2, 2)))
    hs, _ = rnn_sequence(*(cr.tensor(v, dtype=np.float64) for v in (gx, h0, w)),
                         nonlinearity=nonlinearity, fused=fused)
    act = np.tanh if nonlinearity == "tanh" else (lambda a: np.maximum(a, 0))
    h1 = act(gx[0] + h0 @ w.T)
    np.testing.assert_allclose(hs.numpy(), [h1, act(gx[1] + h1 @ w.T)], rtol=1e-12)


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_gates_follow_pytorch_order_and_equations(fused):
    """One LSTM step by hand: a = gx + W_hh h ; gates i, f, g, o in that order."""
    rng = np.random.default_rng(3)
    gx, h0, c0, w = (rng.standard_normal(s) for s in ((1, 2, 8), (2, 2), (2, 2), (8, 2)))
    hs, (h_n, c_n) = lstm_sequence(*(cr.tensor(v, dtype=np.float64) for v in (gx, h0, c0, w)),
                                   fused=fused)
    a = gx[0] + h0 @ w.T
    sig = sigmoid(a)
    i, f, g, o = sig[:, 0:2], sig[:, 2:4], np.tanh(a[:, 4:6]), sig[:, 6:8]
    c = f * c0 + i * g
    np.testing.assert_allclose(c_n.numpy(), c, rtol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), o * np.tanh(c), rtol=1e-12)
    np.testing.assert_allclose(hs.numpy()[0], o * np.tanh(c), rtol=1e-12)


@pytest.mark.parametrize("fused", [True, False])
def test_gru_puts_b_hn_inside_the_reset_product(fused):
    rng = np.random.default_rng(4)
    gx, h0, w, b = (rng.standard_normal(s) for s in ((1, 2, 6), (2, 2), (6, 2), (6,)))
    _, h_n = gru_sequence(*(cr.tensor(v, dtype=np.float64) for v in (gx, h0, w, b)),
                          fused=fused)
    gh = h0 @ w.T + b
    r = sigmoid(gx[0, :, 0:2] + gh[:, 0:2])
    z = sigmoid(gx[0, :, 2:4] + gh[:, 2:4])
    n = np.tanh(gx[0, :, 4:6] + r * gh[:, 4:6])
    np.testing.assert_allclose(h_n.numpy(), (1 - z) * n + z * h0, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_a_cell_is_one_step_of_the_sequence_batched_or_not(kind):
    """The cell on (B, .) and on one unbatched sample (.,) gives the fused sequence's h_1."""
    inputs = make_inputs(kind, steps=1, seed=9)
    gx, h0 = inputs[0], inputs[1]
    if kind == "lstm":
        hs, (_, c_n) = lstm_sequence(*inputs)
        h1, c1 = lstm_cell(gx[0], h0, inputs[2], inputs[3])
        one = lstm_cell(gx[0, 1], h0[1], inputs[2][1], inputs[3])[0]
        np.testing.assert_allclose(c1.numpy(), c_n.numpy(), rtol=1e-12)
    elif kind == "gru":
        hs, _ = gru_sequence(*inputs)
        h1, one = gru_cell(gx[0], h0, *inputs[2:]), gru_cell(gx[0, 1], h0[1], *inputs[2:])
    else:
        hs, _ = rnn_sequence(*inputs, nonlinearity=kind[4:])
        h1 = rnn_cell(gx[0], h0, inputs[2], kind[4:])
        one = rnn_cell(gx[0, 1], h0[1], inputs[2], kind[4:])
    np.testing.assert_allclose(h1.numpy(), hs.numpy()[0], rtol=1e-12)
    assert one.shape == (2,)
    np.testing.assert_allclose(one.numpy(), hs.numpy()[0, 1], rtol=1e-12)


@pytest.mark.parametrize("kind, reverse, masked", CASES)
def test_create_graph_gradients_equal_the_kernels(kind, reverse, masked):
    """With create_graph=True the fused node's backward is derived from the cells; it gives the
    kernels' gradients, also when an input (h0) needs none."""
    inputs = make_inputs(kind, seed=10)
    inputs[1].requires_grad_(False)
    wanted = [x for x in inputs if x.requires_grad]
    mask = padding_mask() if masked else None
    out = run(kind, inputs, mask, reverse)
    upstream = cr.tensor(np.random.default_rng(11).standard_normal(out.shape), dtype=np.float64)
    plain = cr.autograd.grad(out, wanted, upstream, retain_graph=True)
    derived = cr.autograd.grad(out, wanted, upstream, create_graph=True)
    for a, b in zip(plain, derived):
        assert b.requires_grad
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-12)


class CountBackward(Function):
    """The identity, counting its backward calls."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad_output):
        CountBackward.calls += 1
        return grad_output


@pytest.mark.parametrize("kind", KINDS)
def test_derived_backward_differentiates_the_recurrence_only(kind):
    """The derived backward runs the engine over the recomputed steps, not over the graph that
    produced gx: that graph's backward runs once, and a retained gradient is not doubled."""
    inputs = make_inputs(kind, seed=12)
    CountBackward.calls = 0
    gx = CountBackward.apply(inputs[0])
    gx.retain_grad()
    out = run(kind, [gx] + inputs[1:])
    (g,) = cr.autograd.grad((out * out).sum(), inputs[0], create_graph=True)
    assert CountBackward.calls == 1
    np.testing.assert_allclose(gx.grad.numpy(), g.numpy(), rtol=1e-12)
    (g.sum()).backward()  # second derivatives reach gx through the recomputed steps
    assert CountBackward.calls == 2 and inputs[0].grad is not None


def test_dtypes_are_kept():
    for dtype in (np.float32, np.float64):
        inputs = make_inputs("lstm", dtype=dtype)
        out = run("lstm", inputs)
        (g,) = cr.autograd.grad(out.sum(), inputs[-1])
        assert out.dtype == dtype and g.dtype == dtype


@pytest.mark.parametrize("kind", KINDS)
def test_no_graph_under_no_grad_and_backward_twice_needs_retain_graph(kind):
    """Without a graph the forward keeps no derivatives but gives the same states; a retained
    graph back-propagates twice from what its forward kept."""
    inputs = make_inputs(kind)
    with cr.no_grad():
        quiet = run(kind, inputs)
    assert not quiet.requires_grad
    out = run(kind, inputs)
    np.testing.assert_array_equal(quiet.numpy(), out.numpy())
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.numpy().copy() for x in inputs]
    loss.backward()
    for x, g in zip(inputs, first):
        np.testing.assert_allclose(x.grad.numpy(), 2 * g, rtol=1e-12)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("reverse, masked", [(False, False), (True, False), (False, True),
                                             (True, True)])
@pytest.mark.parametrize("h0_needs_grad", [True, False])
def test_zero_initial_state(kind, steps, reverse, masked, h0_needs_grad):
    """From h_0 = 0 (the layers' default) the kernels skip W_hh h_0 and its term of dW_hh; the
    states and every gradient still equal those of the step formulas."""
    inputs = make_inputs(kind, steps=steps, seed=7)
    inputs[1] = cr.zeros(3, 2, dtype=np.float64).requires_grad_(h0_needs_grad)
    mask = padding_mask(steps, (steps, 1, max(steps - 1, 1))) if masked else None
    wanted = [x for x in inputs if x.requires_grad]
    shape = run(kind, inputs, mask, reverse).shape
    upstream = cr.tensor(np.random.default_rng(8).standard_normal(shape), dtype=np.float64)
    results = []
    for fused in (True, False):
        out = run(kind, inputs, mask, reverse, fused)
        grads = cr.autograd.grad(out, wanted, upstream)
        results.append([out.numpy()] + [g.numpy() for g in grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32_and_matches_float64(kind):
    """The kernels compute in the inputs' dtype (no float64 creeps in) and agree with float64
    to float32 rounding."""
    inputs64 = make_inputs(kind, steps=6, batch=3, size=4, seed=5)
    inputs32 = [cr.tensor(x.numpy(), dtype=np.float32, requires_grad=True) for x in inputs64]
    mask = padding_mask(6, (6, 3, 5))
    upstream = np.random.default_rng(6).standard_normal(run(kind, inputs64, mask).shape)
    results = []
    for inputs, dtype in ((inputs64, np.float64), (inputs32, np.float32)):
        out = run(kind, inputs, mask)
        grads = cr.autograd.grad(out, inputs, cr.tensor(upstream, dtype=dtype))
        assert out.dtype == dtype and all(g.dtype == dtype for g in grads)
        results.append([out.numpy()] + [g.numpy() for g in grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_only_needed_gradients_are_returned():
    gx, h0, w = make_inputs("rnn_tanh")
    h0.requires_grad_(False)
    hs, _ = rnn_sequence(gx, h0, w)
    hs.sum().backward()
    assert h0.grad is None and gx.grad is not None and w.grad is not None


def test_shape_errors_name_the_function_and_shapes():
    gx, h0, w = make_inputs("rnn_tanh")
    with pytest.raises(ValueError, match=r"rnn_sequence: shapes do not agree.*\(3, 3\)"):
        rnn_sequence(gx, h0, cr.zeros(3, 3, dtype=np.float64))
    with pytest.raises(ValueError, match="rnn_sequence: mask of shape"):
        rnn_sequence(gx, h0, w, mask=np.ones((4, 3)))
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn_sequence(gx, h0, w, nonlinearity="sigmoid")
    g4, h, c, w4 = make_inputs("lstm")
    with pytest.raises(ValueError, match="c0 of shape"):
        lstm_sequence(g4, h, c[:2], w4)
    with pytest.raises(ValueError, match=r"expected gx of shape \(T, B, 3H\)"):
        gru_sequence(g4[0], h, w4)
