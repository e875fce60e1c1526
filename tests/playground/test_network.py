"""The network tab's model: features, the MLP written as a function of its parameters, losses."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.playground.network import Objective, PlaygroundNet, feature_matrix
from chainrule.playground.optimizers import build_optimizer, update_hyperparameters


def test_features_are_the_named_functions_of_the_point():
    points = np.array([[1.0, 2.0], [-0.5, 3.0]], dtype=np.float32)
    phi = feature_matrix(points, ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"])
    expected = [[1, 2, 1, 4, 2, np.sin(1), np.sin(2)],
                [-0.5, 3, 0.25, 9, -1.5, np.sin(-0.5), np.sin(3)]]
    assert phi.dtype == np.float32 and np.allclose(phi, expected)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_forward_is_forward_with_the_parameters_and_shows_every_layer(batch_norm):
    net = PlaygroundNet(3, [5, 4], 2, "relu", dropout=0.0, batch_norm=batch_norm,
                        generator=np.random.default_rng(0))
    net.eval()
    x = cr.randn(7, 3)
    logits, hidden = net.forward_with(x, list(net.parameters()), keep_hidden=True)
    assert logits.shape == (7, 2) and [h.shape for h in hidden] == [(7, 5), (7, 4)]
    assert np.allclose(net(x).numpy(), logits.numpy())
    shifted = [p + 1.0 for p in net.parameters()]  # other tensors in the same slots
    assert not np.allclose(net.forward_with(x, shifted)[0].numpy(), logits.numpy())


def test_weights_come_from_the_given_generator_and_the_activation_swaps_in_place():
    a = PlaygroundNet(2, [4], 1, generator=np.random.default_rng(5))
    b = PlaygroundNet(2, [4], 1, generator=np.random.default_rng(5))
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(a.parameters(),
                                                                     b.parameters()))
    before = [p.numpy().copy() for p in a.parameters()]
    a.set_activation("step")
    assert isinstance(a.activation, cr.nn.Step)
    assert all(np.array_equal(p, q.numpy()) for p, q in zip(before, a.parameters()))


def test_binary_losses():
    z = cr.tensor([[2.0], [-1.0], [0.5]])
    y = np.array([1, 0, 0])
    ce = Objective("cross_entropy", 2)
    t = ce.prepare(y)
    assert np.isclose(ce(z, t).item(),
                      F.binary_cross_entropy_with_logits(z.reshape(-1), t).item())
    p = 1 / (1 + np.exp(-np.array([2.0, -1.0, 0.5])))
    assert np.isclose(Objective("mse", 2)(z, t).item(), np.mean((p - y) ** 2), atol=1e-6)
    s = 2 * y - 1
    expected = np.mean(np.maximum(0, 1 - s * np.array([2.0, -1.0, 0.5])))
    assert np.isclose(Objective("hinge", 2)(z, t).item(), expected)
    assert ce.out_features == 1 and list(ce.predictions(z)) == [1, 0, 1]


def test_multiclass_losses():
    z = np.array([[2.0, 0.5, -1.0], [0.0, 0.3, 0.2]], dtype=np.float32)
    y = np.array([0, 2])
    logits = cr.tensor(z)
    ce = Objective("cross_entropy", 3)
    assert np.isclose(ce(logits, ce.prepare(y)).item(),
                      F.cross_entropy(logits, cr.tensor(y)).item())
    hinge = Objective("hinge", 3)
    margins = np.maximum(0, 1 - z[np.arange(2), y][:, None] + z)
    margins[np.arange(2), y] = 0
    assert np.isclose(hinge(logits, hinge.prepare(y)).item(), margins.sum(1).mean() / 3)
    probs = ce.probabilities(logits)
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1)
    assert ce.out_features == 3 and list(ce.predictions(logits)) == [0, 1]


def test_optimisers_by_name_and_hyperparameters_in_place():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = build_optimizer("nesterov", [w], lr=0.1, momentum=0.8)
    assert isinstance(opt, cr.optim.SGD) and opt.param_groups[0]["nesterov"]
    update_hyperparameters(opt, "nesterov", lr=0.01, momentum=0.5)
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["momentum"] == 0.5
    adam = build_optimizer("adam", [w], lr=0.1, beta1=0.8, beta2=0.9)
    assert adam.param_groups[0]["betas"] == (0.8, 0.9)
