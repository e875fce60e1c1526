"""Per-layer gradient statistics and their callback (SPEC 10: vanishing gradients)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.analysis import GradientFlow, GradientFlowCallback, gradient_flow

nn = pytest.importorskip("chainrule.nn")


def _deep_sigmoid(depth=8, width=16):
    cr.manual_seed(0)
    layers = []
    for i in range(depth):
        layers += [nn.Linear(4 if i == 0 else width, width), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


def _batch(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    return cr.tensor(X), cr.tensor(X[:, :1] * X[:, 1:2])


def test_values_names_and_missing_gradients():
    lin = nn.Linear(3, 2)
    lin.weight.grad = cr.tensor(np.array([[3.0, 0.0, 0.0], [0.0, 4.0, 0.0]], np.float32))
    flow = gradient_flow(lin)
    assert flow.names == ["weight", "bias"]
    assert flow.grad_norm[0] == pytest.approx(5.0)
    assert flow.grad_abs_max[0] == pytest.approx(4.0)
    assert flow.grad_abs_mean[0] == pytest.approx(7.0 / 6.0)
    assert flow.weight_norm[0] == pytest.approx(np.linalg.norm(lin.weight.numpy()), rel=1e-6)
    assert np.isnan(flow.grad_norm[1])  # bias has no gradient yet
    assert flow.ratio[0] == pytest.approx(5.0 / flow.weight_norm[0])
    assert set(flow.as_dict()["weight"]) == {"grad_norm", "weight_norm", "grad_abs_mean",
                                             "grad_abs_max"}
    assert gradient_flow(lin, weights_only=True).names == ["weight"]
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    assert gradient_flow([w]).names == ["param0"]


def test_gradients_vanish_towards_the_input_of_a_deep_sigmoid_network():
    model = _deep_sigmoid()
    X, y = _batch()
    nn.MSELoss()(model(X), y).backward()
    flow = gradient_flow(model, weights_only=True)
    assert flow.names[0] == "0.weight" and flow.names[-1] == "16.weight"
    # sigmoid' <= 1/4 per layer: the first layer's gradient is orders of magnitude smaller
    assert flow.grad_norm[0] < 1e-3 * flow.grad_norm[-1]
    assert np.all(np.isfinite(flow.grad_norm))


def test_callback_in_a_manual_loop_and_epoch_means():
    model = _deep_sigmoid(depth=2)
    X, y = _batch()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    cb = GradientFlowCallback(model=model, every=2)
    for epoch in range(3):
        cb.on_epoch_begin(epoch)
        for b in range(4):
            opt.zero_grad()
            nn.MSELoss()(model(X[b * 16:(b + 1) * 16]), y[b * 16:(b + 1) * 16]).backward()
            opt.step()
            cb.on_train_batch_end(b)
        cb.on_epoch_end(epoch)
    assert len(cb.history) == 6 and len(cb.epochs) == 3
    assert all(isinstance(r, GradientFlow) for r in cb.epochs)
    np.testing.assert_allclose(cb.epochs[0].grad_norm,
                               np.mean([r.grad_norm for r in cb.history[:2]], axis=0))
    with pytest.raises(ValueError):
        GradientFlowCallback(every=0)
    with pytest.raises(RuntimeError, match="no model"):
        _ = GradientFlowCallback().model


def test_callback_records_during_trainer_fit():
    train = pytest.importorskip("chainrule.train")
    model = _deep_sigmoid(depth=2)
    X, y = _batch(48)
    cb = GradientFlowCallback()
    trainer = train.Trainer(model, nn.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.1),
                            callbacks=[cb])
    trainer.fit((X, y), epochs=2, batch_size=16, verbose=0, seed=0)
    assert len(cb.history) == 6 and len(cb.epochs) == 2
    assert np.all(np.isfinite(cb.history[-1].grad_norm))
