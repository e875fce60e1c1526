"""nn.RNN, nn.LSTM, nn.GRU and their cells: shapes, names, initialisation, the decks' equations,
padding with lengths, back-propagation through time, vanishing gradients, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn.layers.linear import Linear
from chainrule.nn.layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from chainrule.nn.rnn_utils import last_timestep, lengths_to_mask, pad_sequence
from chainrule.nn.utils import clip_grad_norm_

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None)
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def f64(array):
    return cr.tensor(np.asarray(array), dtype=np.float64)


def final_h(h_n):
    return h_n[0] if isinstance(h_n, tuple) else h_n


@pytest.mark.parametrize("name", LAYERS)
@SETTINGS
@given(steps=st.integers(1, 5), batch=st.integers(1, 3), layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans())
def test_output_and_state_shapes(name, steps, batch, layers, bidirectional, batch_first):
    d = 2 if bidirectional else 1
    rnn = LAYERS[name](3, 4, num_layers=layers, bidirectional=bidirectional,
                       batch_first=batch_first)
    x = cr.randn(*((batch, steps, 3) if batch_first else (steps, batch, 3)))
    out, h_n = rnn(x)
    assert out.shape == ((batch, steps, d * 4) if batch_first else (steps, batch, d * 4))
    states = h_n if isinstance(h_n, tuple) else (h_n,)
    assert len(states) == (2 if name == "LSTM" else 1)
    assert all(s.shape == (layers * d, batch, 4) for s in states)


@pytest.mark.parametrize("name", LAYERS)
def test_unbatched_input(name):
    rnn = LAYERS[name](3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = cr.randn(5, 3)
    out, h_n = rnn(x)
    batched, h_b = rnn(x.unsqueeze(0))
    assert out.shape == (5, 8) and final_h(h_n).shape == (4, 4)
    np.testing.assert_allclose(out.numpy(), batched.numpy()[0], rtol=1e-6)
    np.testing.assert_allclose(final_h(h_n).numpy(), final_h(h_b).numpy()[:, 0], rtol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_parameter_names_shapes_and_order_are_pytorchs(name):
    rnn = LAYERS[name](3, 5, num_layers=2, bidirectional=True)
    g = GATES[name] * 5
    expected = []
    for layer, width in ((0, 3), (1, 10)):
        for suffix in ("", "_reverse"):
            expected += [(f"weight_ih_l{layer}{suffix}", (g, width)),
                         (f"weight_hh_l{layer}{suffix}", (g, 5)),
                         (f"bias_ih_l{layer}{suffix}", (g,)), (f"bias_hh_l{layer}{suffix}", (g,))]
    assert [(n, p.shape) for n, p in rnn.named_parameters()] == expected
    assert list(rnn.state_dict()) == [n for n, _ in expected]
    assert len(rnn.all_weights) == 4 and rnn.all_weights[1][0] is rnn.weight_ih_l0_reverse
    no_bias = LAYERS[name](3, 5, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("name", LAYERS)
def test_initialisation_is_uniform_within_one_over_sqrt_hidden(name):
    cr.manual_seed(0)
    rnn = LAYERS[name](8, 64)
    values = np.concatenate([p.numpy().ravel() for p in rnn.parameters()])
    bound = 1 / math.sqrt(64)
    assert np.abs(values).max() <= bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)  # U(-k, k)
    cr.manual_seed(0)
    again = LAYERS[name](8, 64)
    for p, q in zip(rnn.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_the_decks_elman_equations():
    """h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), y_t = W_yh h_t + b_y, step by step by hand,
    equals nn.RNN followed by nn.Linear (b_h = bias_ih + bias_hh)."""
    cr.manual_seed(1)
    rnn, out_layer = RNN(3, 4).to(cr.float64), Linear(3, 2)
    out_layer = Linear(4, 2).to(cr.float64)
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    states, _ = rnn(f64(x))
    y = out_layer(states)
    W_xh, W_hh = rnn.weight_ih_l0.numpy(), rnn.weight_hh_l0.numpy()
    b_h = rnn.bias_ih_l0.numpy() + rnn.bias_hh_l0.numpy()
    W_yh, b_y = out_layer.weight.numpy(), out_layer.bias.numpy()
    h = np.zeros((2, 4))
    for t in range(6):
        h = np.tanh(x[t] @ W_xh.T + h @ W_hh.T + b_h)
        np.testing.assert_allclose(states.numpy()[t], h, rtol=1e-12)
        np.testing.assert_allclose(y.numpy()[t], h @ W_yh.T + b_y, rtol=1e-12)


def test_relu_rnn_and_stacked_layers_feed_states_upwards():
    cr.manual_seed(2)
    rnn = RNN(2, 3, num_layers=2, nonlinearity="relu").to(cr.float64)
    x = np.random.default_rng(1).standard_normal((4, 1, 2))
    out, h_n = rnn(f64(x))
    h1, h2 = np.zeros((1, 3)), np.zeros((1, 3))
    p = {n: v.numpy() for n, v in rnn.named_parameters()}
    for t in range(4):
        h1 = np.maximum(0, x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h1 @ p["weight_hh_l0"].T
                        + p["bias_hh_l0"])
        h2 = np.maximum(0, h1 @ p["weight_ih_l1"].T + p["bias_ih_l1"] + h2 @ p["weight_hh_l1"].T
                        + p["bias_hh_l1"])
    np.testing.assert_allclose(out.numpy()[-1], h2, rtol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), np.stack([h1, h2]), rtol=1e-12)


@pytest.mark.parametrize("name", LAYERS)
def test_gradcheck_through_time_for_all_parameters(name):
    """BPTT: the gradient of every weight sums the contributions of all steps (float64)."""
    cr.manual_seed(3)
    rnn = LAYERS[name](2, 2, num_layers=2, bidirectional=True).to(cr.float64)
    x = cr.tensor(np.random.default_rng(2).standard_normal((3, 2, 2)), dtype=np.float64,
                  requires_grad=True)
    params = list(rnn.parameters())

    def loss(x, *_):
        out, h_n = rnn(x)
        return (out ** 2).sum() + final_h(h_n).sum()

    assert gradcheck(loss, (x, *params), n_directions=8)


@pytest.mark.parametrize("name", LAYERS)
def test_second_derivatives_through_stacked_layers(name):
    """Double backward (create_graph=True) through two bidirectional layers with padding: each
    fused node's backward is derived from its cell, the upper one on top of the lower one."""
    cr.manual_seed(10)
    rnn = LAYERS[name](2, 2, num_layers=2, bidirectional=True).to(cr.float64)
    x = cr.tensor(np.random.default_rng(7).standard_normal((3, 2, 2)), dtype=np.float64,
                  requires_grad=True)

    def loss(x, *_):
        out, h_n = rnn(x, lengths=[3, 2])
        return (out ** 2).sum() + final_h(h_n).sum()

    assert gradgradcheck(loss, (x, rnn.weight_hh_l0, rnn.weight_ih_l1), n_directions=3)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_match_running_each_sequence_alone(name, bidirectional):
    """Padded batch + lengths: outputs are zero after each sequence's end and the final states
    are those of the unpadded sequence, in both directions and both layers."""
    cr.manual_seed(4)
    rnn = LAYERS[name](3, 4, num_layers=2, bidirectional=bidirectional,
                       batch_first=True).to(cr.float64)
    rng = np.random.default_rng(3)
    seqs = [f64(rng.standard_normal((n, 3))) for n in (5, 2, 4)]
    lengths = [5, 2, 4]
    out, h_n = rnn(pad_sequence(seqs, batch_first=True), lengths=lengths)
    for b, seq in enumerate(seqs):
        alone, h_alone = rnn(seq.unsqueeze(0))
        n = lengths[b]
        np.testing.assert_allclose(out.numpy()[b, :n], alone.numpy()[0], rtol=1e-10,
                                   atol=1e-12)
        assert not out.numpy()[b, n:].any()
        for s, s_alone in zip(h_n if name == "LSTM" else (h_n,),
                              h_alone if name == "LSTM" else (h_alone,)):
            np.testing.assert_allclose(s.numpy()[:, b], s_alone.numpy()[:, 0], rtol=1e-10)
    if not bidirectional:
        np.testing.assert_allclose(last_timestep(out, lengths, batch_first=True).numpy(),
                                   final_h(h_n).numpy()[-1], rtol=1e-12)


def test_rnn_utils():
    mask = lengths_to_mask([3, 1], batch_first=True)
    np.testing.assert_array_equal(mask.numpy(), [[True, True, True], [True, False, False]])
    assert lengths_to_mask(cr.tensor([2, 1]), max_len=4).shape == (4, 2)
    a = cr.tensor([[1.0], [2.0]], requires_grad=True)
    b = cr.tensor([[3.0]], requires_grad=True)
    padded = pad_sequence([a, b], padding_value=-1.0)
    np.testing.assert_array_equal(padded.numpy()[:, :, 0], [[1.0, 3.0], [2.0, -1.0]])
    (padded * cr.tensor([[[1.0], [2.0]], [[3.0], [4.0]]])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy().ravel(), [1.0, 3.0])
    np.testing.assert_array_equal(b.grad.numpy().ravel(), [2.0])
    with pytest.raises(ValueError, match="length 6 exceeds"):
        GRU(1, 2)(cr.randn(5, 2, 1), lengths=[6, 1])
    with pytest.raises(ValueError, match=">= 1"):
        GRU(1, 2)(cr.randn(5, 2, 1), lengths=[0, 1])
    with pytest.raises(ValueError, match="3 lengths given for a batch of 2"):
        GRU(1, 2)(cr.randn(5, 2, 1), lengths=[1, 2, 3])


@pytest.mark.parametrize("name, cell", [("RNN", RNNCell), ("LSTM", LSTMCell), ("GRU", GRUCell)])
def test_cells_step_like_the_layer(name, cell):
    cr.manual_seed(5)
    layer = LAYERS[name](3, 4).to(cr.float64)
    step = cell(3, 4).to(cr.float64)
    for suffix in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(step, suffix).data[...] = getattr(layer, suffix + "_l0").numpy()
    x = f64(np.random.default_rng(4).standard_normal((3, 2, 3)))
    out, _ = layer(x)
    state = None
    for t in range(3):
        state = step(x[t], state)
        h = state[0] if name == "LSTM" else state
        np.testing.assert_allclose(h.numpy(), out.numpy()[t], rtol=1e-12)
    unbatched = step(x[0, 0])
    assert (unbatched[0] if name == "LSTM" else unbatched).shape == (4,)


def test_truncated_bptt_by_detaching_the_state():
    """A state carried from a previous chunk and detached passes no gradient back to it."""
    cr.manual_seed(6)
    lstm = LSTM(2, 3, batch_first=True).to(cr.float64)
    x = cr.tensor(np.random.default_rng(5).standard_normal((1, 8, 2)), dtype=np.float64,
                  requires_grad=True)
    _, (h, c) = lstm(x[:, :4])
    out, _ = lstm(x[:, 4:], (h.detach(), c.detach()))
    out.sum().backward()
    assert not x.grad.numpy()[:, :4].any() and x.grad.numpy()[:, 4:].any()
    x.grad = None
    out, _ = lstm(x[:, 4:], (h, c))  # not detached: full BPTT into the first chunk
    out.sum().backward()
    assert x.grad.numpy()[:, :4].any()


def test_vanishing_gradients_plain_rnn_against_lstm():
    """d h_50 / d x_1 after 50 steps: orders of magnitude smaller for a tanh RNN than an LSTM.

    Both start from PyTorch's initialisation U(-1/sqrt(H), 1/sqrt(H)) with H = 32, so W_hh has a
    spectral radius of about sqrt(H * (1/H) / 3) = 0.58: the RNN's Jacobian d h_t / d h_{t-1} =
    diag(1 - h_t^2) W_hh shrinks the gradient by at least that factor each step (~1e-12 after 50).
    The LSTM's cell state is an additive path scaled only by the forget gate; with the forget
    bias set to 3 (a common practice, Jozefowicz et al. 2015), f ~ sigmoid(3) = 0.95 and
    0.95^50 ~ 0.08. The same inputs, a fixed seed, and a margin of 1e4 make the test robust.
    """
    cr.manual_seed(7)
    rnn, lstm = RNN(4, 32).to(cr.float64), LSTM(4, 32).to(cr.float64)
    with cr.no_grad():
        lstm.bias_ih_l0.data[32:64] = 3.0
        lstm.bias_hh_l0.data[32:64] = 0.0
    x = np.random.default_rng(6).standard_normal((50, 1, 4))
    norms = {}
    for name, layer in (("rnn", rnn), ("lstm", lstm)):
        xt = cr.tensor(x, dtype=np.float64, requires_grad=True)
        _, h_n = layer(xt)
        final_h(h_n).sum().backward()
        norms[name] = np.linalg.norm(xt.grad.numpy()[0])
    assert norms["lstm"] > 1e-4
    assert norms["rnn"] < 1e-4 * norms["lstm"]


def test_exploding_gradients_are_tamed_by_clipping():
    """A relu RNN whose W_hh has spectral radius 2 doubles the gradient every step; clipping
    by norm rescales all gradients to the given total norm."""
    rnn = RNN(1, 4, nonlinearity="relu", bias=False).to(cr.float64)
    with cr.no_grad():
        rnn.weight_hh_l0.data[...] = 2 * np.eye(4)
        rnn.weight_ih_l0.data[...] = 1.0
    _, h_n = rnn(cr.ones(30, 1, 1, dtype=np.float64))
    h_n.sum().backward()
    total = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in rnn.parameters()))
    assert total > 1e8
    returned = clip_grad_norm_(rnn.parameters(), max_norm=1.0)
    assert returned.item() == pytest.approx(total)
    clipped = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in rnn.parameters()))
    assert clipped == pytest.approx(1.0, rel=1e-5)


def test_dropout_between_layers_only_in_training():
    cr.manual_seed(8)
    rnn = GRU(3, 16, num_layers=2, dropout=0.5)
    x = cr.randn(5, 2, 3)
    rnn.eval()
    a, b = rnn(x)[0].numpy(), rnn(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    rnn.train()
    assert not np.allclose(rnn(x)[0].numpy(), a)
    with pytest.warns(UserWarning, match="no effect"):
        GRU(3, 4, dropout=0.5)


def test_errors_name_the_layer_and_shapes():
    lstm = LSTM(4, 3)
    with pytest.raises(ValueError, match=r"LSTM\(input_size=4, hidden_size=3\): input has 5 "
                                         r"features, shape \(2, 3, 5\)"):
        lstm(cr.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 3, 3\), got \(1, 2, 3\)"):
        lstm(cr.randn(2, 3, 4), (cr.zeros(1, 2, 3), cr.zeros(1, 3, 3)))
    with pytest.raises(ValueError, match="pair"):
        lstm(cr.randn(2, 3, 4), cr.zeros(1, 3, 3))
    with pytest.raises(TypeError, match="float64 but the parameters have dtype float32"):
        lstm(cr.randn(2, 3, 4, dtype=np.float64))
    with pytest.raises(ValueError, match="expected input of shape"):
        lstm(cr.randn(4))
    with pytest.raises(ValueError, match=r"GRUCell\(input_size=4\)"):
        GRUCell(4, 2)(cr.randn(3, 5))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        RNN(3, 0)
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 2, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="num_layers"):
        GRU(3, 2, num_layers=0)


def test_state_dict_round_trip_and_repr():
    cr.manual_seed(9)
    a, b = LSTM(3, 4, num_layers=2, bidirectional=True), LSTM(3, 4, num_layers=2,
                                                              bidirectional=True)
    b.load_state_dict(a.state_dict())
    x = cr.randn(5, 2, 3)
    np.testing.assert_array_equal(a(x)[0].numpy(), b(x)[0].numpy())
    assert repr(a) == "LSTM(3, 4, num_layers=2, bidirectional=True)"
    assert repr(RNN(2, 3, nonlinearity="relu", batch_first=True)) == \
        "RNN(2, 3, nonlinearity='relu', batch_first=True)"
    assert repr(GRUCell(2, 3, bias=False)) == "GRUCell(2, 3, bias=False)"
