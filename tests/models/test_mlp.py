"""models.MLP: structure, XOR with a hand-written SGD loop, the linear collapse of SPEC 3."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.models.mlp import MLP


def test_structure_and_parameter_count():
    model = MLP([2, 4, 1], activation="tanh")
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"]
    assert model.num_parameters() == (2 + 1) * 4 + (4 + 1) * 1 == 17
    assert model.summary((1, 2), print_fn=None).total_params == 17
    full = MLP([5, 8, 8, 3], activation="relu", output_activation="softmax", dropout=0.2,
               batch_norm=True)
    assert [type(m).__name__ for m in full] == [
        "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d", "ReLU", "Dropout",
        "Linear", "Softmax"]
    assert [m.out_features for m in full.linear_layers] == [8, 8, 3]
    assert full(cr.randn(4, 5)).shape == (4, 3)
    assert "sizes=[5, 8, 8, 3]" in repr(full)


def test_spec3_parameter_count_formula():
    sizes = [784, 128, 64, 10]
    expected = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    assert MLP(sizes).num_parameters() == expected


def test_xor_with_a_hand_written_sgd_loop():
    cr.manual_seed(0)
    model = MLP([2, 4, 1], activation="tanh")
    x = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])
    for _ in range(600):
        loss = F.mse_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p.sub_(0.5 * p.grad)
    assert loss.item() < 0.01
    np.testing.assert_array_equal(model(x).numpy() > 0.5, y.numpy() > 0.5)


def test_without_activations_a_deep_network_is_one_linear_map():
    cr.manual_seed(1)
    model = MLP([3, 16, 8, 16, 2], activation=None).double()
    w = np.eye(3)
    b = np.zeros(3)
    for layer in model.linear_layers:  # compose y = W x + b layer by layer
        lw, lb = layer.weight.numpy(), layer.bias.numpy()
        w, b = lw @ w, lw @ b + lb
    x = cr.randn(10, 3, dtype=cr.float64)
    np.testing.assert_allclose(model(x).numpy(), x.numpy() @ w.T + b, rtol=1e-10, atol=1e-12)
    single = nn.Linear(3, 2).double()
    single.load_state_dict({"weight": w, "bias": b})
    np.testing.assert_allclose(single(x).numpy(), model(x).numpy(), rtol=1e-10, atol=1e-12)
    with_tanh = MLP([3, 16, 8, 16, 2], activation="tanh").double()
    for src, dst in zip(model.linear_layers, with_tanh.linear_layers):
        dst.load_state_dict(src.state_dict())
    assert not np.allclose(with_tanh(x).numpy(), model(x).numpy())


def test_eval_makes_dropout_identity_and_batch_norm_use_running_stats():
    cr.manual_seed(2)
    model = MLP([4, 32, 2], dropout=0.5, batch_norm=True)
    x = cr.randn(16, 4)
    a, b = model(x).numpy(), model(x).numpy()
    assert not np.allclose(a, b)  # dropout masks differ in training
    model.eval()
    c, d = model(x).numpy(), model(x).numpy()
    np.testing.assert_array_equal(c, d)
    np.testing.assert_allclose(model(x[:1]).numpy(), c[:1], rtol=1e-5)  # running statistics
    model.train()
    assert model[1].training and model[3].training


def test_invalid_configuration():
    with pytest.raises(ValueError, match="at least two positive widths"):
        MLP([3])
    with pytest.raises(ValueError, match="dropout"):
        MLP([3, 2], dropout=1.0)
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([3, 4, 2], activation="swishy")
