"""Every family of operations, every model kind and checkpoints on a device, against the CPU.

Each test takes ``device``: "cpu" always, and "cuda" where CuPy sees a GPU (marked ``gpu``; it
skips elsewhere). A device run is compared with the same computation on the CPU. With
``device="cpu"`` that comparison is trivially true: there the tests only check that results,
gradients and parameters stay on the device and that every model kind's loss falls, so the
file runs in every test run and is ready for a GPU machine: ``pytest -m gpu tests/gpu``.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import backend, nn
from chainrule.models.gpt import sequence_cross_entropy

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "cuda" and not cr.cuda.is_available():
        pytest.skip("CuPy with a CUDA GPU is not available")
    return request.param


def _on(device, *arrays, grad=True):
    """Tensors on ``device`` from float64 NumPy arrays (leaves that require grad)."""
    return [cr.tensor(a, dtype=cr.float64, requires_grad=grad).to(device) for a in arrays]


def _check_same(fn, arrays, device, atol=1e-9):
    """fn on ``device`` equals fn on the CPU, value and gradients; all stay on the device."""
    results = {}
    for where in ("cpu", device):
        inputs = _on(where, *arrays)
        out = fn(*inputs)
        assert backend.device_of(out.data) == where, f"output left {where}"
        (out * out).sum().backward()
        for t in inputs:
            assert t.grad is not None and backend.device_of(t.grad.data) == where
        results[where] = (backend.to_numpy(out.data), [backend.to_numpy(t.grad.data)
                                                       for t in inputs])
    (ref, ref_grads), (got, got_grads) = results["cpu"], results[device]
    np.testing.assert_allclose(got, ref, atol=atol, rtol=1e-7)
    for g, r in zip(got_grads, ref_grads):
        np.testing.assert_allclose(g, r, atol=atol, rtol=1e-7)


rng = np.random.default_rng(0)
A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
IMAGES = rng.standard_normal((2, 3, 8, 8))
SEQUENCE = rng.standard_normal((2, 5, 3))

FAMILIES = {
    "elementwise": (lambda a, b: (a * 2 + b[:, :4].T[:3] - 1) / (a * a + 1), (A, B)),
    "unary": (lambda a: cr.exp(a) + cr.tanh(a) + cr.sigmoid(a) + cr.relu(a) + cr.abs(a)
              + F.gelu(a), (A,)),
    "reduce": (lambda a: a.sum(0) + a.mean(0) + a.max(0)[0] + a.softmax(-1).var(0), (A,)),
    "movement": (lambda a: a.reshape(4, 3).transpose(0, 1)[1:, ::2].repeat(2, 1).unsqueeze(0)
                 .expand(2, 4, 2), (A,)),
    "linalg": (lambda a, b: (a @ b) + F.linear(a, b.T), (A, B)),
    "indexing": (lambda a: cr.gather(a, 1, cr.tensor([[0, 1], [2, 3], [1, 1]]).to(a.device))
                 .masked_fill(cr.tensor([[True, False]] * 3).to(a.device), 0.5), (A,)),
    "einsum": (lambda a, b: cr.einsum("ij,jk->ik", a, b), (A, B)),
    "convolution": (lambda x, w: F.conv2d(x, w, padding=1, stride=2), (IMAGES,
                    rng.standard_normal((4, 3, 3, 3)))),
    "pooling": (lambda x: F.max_pool2d(x, 2) + F.avg_pool2d(x, 2), (IMAGES,)),
    "normalisation": (lambda x: F.layer_norm(x, (8,)) + F.group_norm(x, 3), (IMAGES,)),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                  (SEQUENCE, SEQUENCE * 0.5, SEQUENCE + 1)),
    "loss": (lambda a: F.cross_entropy(a, cr.tensor([0, 3, 1]).to(a.device))
             + F.mse_loss(a, a.detach() * 0.5), (A,)),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_operation_families_match_the_cpu(family, device):
    fn, arrays = FAMILIES[family]
    _check_same(fn, arrays, device)


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_match_the_cpu(cell, device):
    cr.manual_seed(0)
    layer = getattr(nn, cell)(3, 4, batch_first=True).double()
    _check_same(lambda x: layer.to(x.device)(x)[0], (SEQUENCE,), device)


def _train(model, batches, device, steps=3, loss_fn=None):
    model.to(device)
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    losses = []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        x, y = x.to(device), y.to(device)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for p in model.parameters():
        assert backend.device_of(p.data) == device
    return losses


MODELS = {
    "mlp": (lambda: cr.models.MLP([8, 16, 3]), (4, 8), 3),
    "lenet": (lambda: cr.models.LeNet(num_classes=3, in_channels=1, input_size=8), (4, 1, 8, 8),
              3),
    "lstm": (lambda: cr.models.RNNClassifier(3, 8, 3, cell="lstm"), (4, 5, 3), 3),
    "gpt": (lambda: cr.models.GPT(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8),
            None, None),
}


@pytest.mark.parametrize("kind", MODELS)
def test_each_model_kind_trains_the_same_on_the_device(kind, device):
    build, shape, classes = MODELS[kind]
    data_rng = np.random.default_rng(1)
    if kind == "gpt":
        ids = data_rng.integers(0, 11, (2, 4, 7))
        batches = [(cr.tensor(b[:, :-1]), cr.tensor(b[:, 1:])) for b in ids]
        loss_fn = sequence_cross_entropy
    else:
        batches = [(cr.tensor(data_rng.standard_normal(shape), dtype=cr.float32),
                    cr.tensor(data_rng.integers(0, classes, shape[0]))) for _ in range(2)]
        loss_fn = None
    runs = {}
    for where in ("cpu", device):
        cr.manual_seed(0)
        runs[where] = _train(build(), batches, where, loss_fn=loss_fn)
    np.testing.assert_allclose(runs[device], runs["cpu"], rtol=1e-4, atol=1e-5)
    assert runs[device][-1] < runs[device][0]


def test_checkpoints_move_between_devices(device, tmp_path):
    cr.manual_seed(0)
    model = cr.models.MLP([4, 8, 2]).to(device)
    x = cr.randn(3, 4)
    expected = backend.to_numpy(model(x.to(device)).data)
    cr.save(model.state_dict(), tmp_path / "weights.safetensors")
    for where in ("cpu", device):
        other = cr.models.MLP([4, 8, 2])
        other.load_state_dict(cr.load(tmp_path / "weights.safetensors"))
        other.to(where)
        got = backend.to_numpy(other(x.to(where)).data)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.gpu
def test_mixing_devices_is_a_clear_error():
    if not cr.cuda.is_available():
        pytest.skip("CuPy with a CUDA GPU is not available")
    a, b = cr.ones(3), cr.ones(3).to("cuda")
    with pytest.raises(TypeError, match="different devices"):
        a + b
