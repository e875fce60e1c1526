"""PyTorch parity of the recurrent layers: a torch state_dict loads into chainrule and gives the
same outputs, final states and gradients (inputs, initial states, every parameter)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.nn.layers.embedding import Embedding  # noqa: E402
from chainrule.nn.layers.recurrent import (  # noqa: E402
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    RNNCell,
)

PAIRS = {"RNN": (RNN, torch.nn.RNN), "LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU)}
CONFIGS = [(name, layers, bidirectional, batch_first) for name in PAIRS for layers in (1, 2)
           for bidirectional in (False, True) for batch_first in (False, True)]


def twins(name, input_size=3, hidden=4, dtype=torch.float64, seed=0, **kwargs):
    """A torch layer and a chainrule layer holding the same (torch-initialised) weights."""
    torch.manual_seed(seed)
    ours, theirs = PAIRS[name]
    t_layer = theirs(input_size, hidden, **kwargs).to(dtype)
    c_layer = ours(input_size, hidden, dtype=np.dtype(str(dtype).split(".")[1]), **kwargs)
    c_layer.load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
    return c_layer, t_layer


def states(h):
    return list(h) if isinstance(h, tuple) else [h]


def compare(c_layer, t_layer, x, hx=None, lengths=None, rtol=1e-10, atol=1e-12):
    """Run both with a random weighting of every output; compare values and gradients."""
    c_x = cr.tensor(x, dtype=x.dtype, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    c_hx = t_hx = None
    if hx is not None:
        c_hx = [cr.tensor(h, dtype=h.dtype, requires_grad=True) for h in hx]
        t_hx = [torch.tensor(h, requires_grad=True) for h in hx]
    c_arg = None if c_hx is None else (tuple(c_hx) if len(c_hx) == 2 else c_hx[0])
    t_arg = None if t_hx is None else (tuple(t_hx) if len(t_hx) == 2 else t_hx[0])
    c_out, c_h = c_layer(c_x, c_arg, lengths=lengths)
    if lengths is None:
        t_out, t_h = t_layer(t_x, t_arg)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            t_x, torch.tensor(lengths), batch_first=t_layer.batch_first, enforce_sorted=False)
        t_packed, t_h = t_layer(packed, t_arg)
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(
            t_packed, batch_first=t_layer.batch_first, total_length=x.shape[1 if
                                                                         t_layer.batch_first
                                                                         else 0])
    c_all, t_all = [c_out] + states(c_h), [t_out] + states(t_h)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(tuple(t.shape)) for t in t_all]
    c_loss = sum((c * cr.tensor(w, dtype=x.dtype)).sum() for c, w in zip(c_all, weights))
    t_loss = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for t, w in zip(t_all, weights))
    c_loss.backward()
    t_loss.backward()
    for c, t in zip(c_all, t_all):
        np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(c_x.grad.numpy(), t_x.grad.numpy(), rtol=rtol, atol=atol)
    for c, t in zip(c_hx or [], t_hx or []):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    t_params = dict(t_layer.named_parameters())
    for name, p in c_layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


@pytest.mark.parametrize("name, layers, bidirectional, batch_first", CONFIGS)
def test_layer_parity(name, layers, bidirectional, batch_first):
    c_layer, t_layer = twins(name, num_layers=layers, bidirectional=bidirectional,
                             batch_first=batch_first)
    x = np.random.default_rng(0).standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    compare(c_layer, t_layer, x)


@pytest.mark.parametrize("name", PAIRS)
def test_parity_with_initial_states(name):
    c_layer, t_layer = twins(name, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(2)
    hx = [rng.standard_normal((4, 3, 4)) for _ in range(2 if name == "LSTM" else 1)]
    compare(c_layer, t_layer, rng.standard_normal((6, 3, 3)), hx)


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_lengths_equal_packed_sequences(name, batch_first):
    """Padding + lengths in chainrule == pack_padded_sequence -> layer -> pad_packed_sequence."""
    c_layer, t_layer = twins(name, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = np.random.default_rng(3).standard_normal((3, 6, 3) if batch_first else (6, 3, 3))
    compare(c_layer, t_layer, x, lengths=[4, 6, 1])


def test_relu_rnn_and_no_bias():
    c_layer, t_layer = twins("RNN", nonlinearity="relu", num_layers=2)
    compare(c_layer, t_layer, np.random.default_rng(4).standard_normal((5, 2, 3)))
    c_layer, t_layer = twins("GRU", bias=False, bidirectional=True)
    compare(c_layer, t_layer, np.random.default_rng(5).standard_normal((5, 2, 3)))


@pytest.mark.parametrize("name", PAIRS)
def test_float32_parity(name):
    c_layer, t_layer = twins(name, 8, 16, torch.float32, num_layers=2, batch_first=True)
    x = np.random.default_rng(6).standard_normal((4, 20, 8)).astype(np.float32)
    compare(c_layer, t_layer, x, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name, ours, theirs", [("RNN", RNNCell, torch.nn.RNNCell),
                                                ("LSTM", LSTMCell, torch.nn.LSTMCell),
                                                ("GRU", GRUCell, torch.nn.GRUCell)])
def test_cell_parity(name, ours, theirs):
    torch.manual_seed(7)
    t_cell = theirs(3, 4).double()
    c_cell = ours(3, 4, dtype=np.float64)
    c_cell.load_state_dict({k: v.detach().numpy() for k, v in t_cell.state_dict().items()})
    rng = np.random.default_rng(8)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    c_x = cr.tensor(x, dtype=np.float64, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    if name == "LSTM":
        c_out = c_cell(c_x, (cr.tensor(h, dtype=np.float64), cr.tensor(c, dtype=np.float64)))
        t_out = t_cell(t_x, (torch.tensor(h), torch.tensor(c)))
        c_val, t_val = c_out[0] * 2 + c_out[1], t_out[0] * 2 + t_out[1]
    else:
        c_val = c_cell(c_x, cr.tensor(h, dtype=np.float64))
        t_val = t_cell(t_x, torch.tensor(h))
    np.testing.assert_allclose(c_val.numpy(), t_val.detach().numpy(), rtol=1e-12)
    (c_val ** 2).sum().backward()
    (t_val ** 2).sum().backward()
    np.testing.assert_allclose(c_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-10)
    t_params = dict(t_cell.named_parameters())
    for n, p in c_cell.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[n].grad.numpy(), rtol=1e-10)


def test_embedding_parity_with_padding_idx():
    torch.manual_seed(9)
    t_emb = torch.nn.Embedding(7, 3, padding_idx=2).double()
    c_emb = Embedding(7, 3, padding_idx=2, dtype=np.float64)
    c_emb.load_state_dict({"weight": t_emb.weight.detach().numpy()})
    idx = np.array([[2, 1, 6], [6, 2, 0]])
    c_out, t_out = c_emb(cr.tensor(idx)), t_emb(torch.tensor(idx))
    np.testing.assert_array_equal(c_out.numpy(), t_out.detach().numpy())
    w = np.random.default_rng(10).standard_normal((2, 3, 3))
    (c_out * cr.tensor(w, dtype=np.float64)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(c_emb.weight.grad.numpy(), t_emb.weight.grad.numpy(), rtol=1e-12)
