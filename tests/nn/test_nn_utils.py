"""nn.utils: gradient clipping and parameter vectors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    grads_to_vector,
    parameters_to_vector,
    vector_to_parameters,
)


def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(cr.zeros(np.shape(g)))
        p.grad = cr.tensor(g)
        params.append(p)
    return params


def test_clip_grad_norm_scales_to_max_norm_and_returns_total():
    params = _params_with_grads([3.0, 0.0], [[4.0]])
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    clipped = np.concatenate([p.grad.numpy().ravel() for p in params])
    assert np.linalg.norm(clipped) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(clipped, [0.6, 0.0, 0.8], rtol=1e-5)


def test_clip_grad_norm_leaves_small_gradients_and_skips_none():
    params = _params_with_grads([0.1, 0.2])
    params.append(nn.Parameter(cr.zeros(2)))
    total = clip_grad_norm_(params, max_norm=10.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.1, 0.2])
    assert total.item() == pytest.approx(np.sqrt(0.05))
    assert params[1].grad is None
    assert clip_grad_norm_([nn.Parameter(cr.zeros(1))], 1.0).item() == 0.0


def test_clip_grad_norm_inf_and_nonfinite():
    params = _params_with_grads([-3.0, 1.0])
    assert clip_grad_norm_(params, 1.5, norm_type=float("inf")).item() == 3.0
    np.testing.assert_allclose(params[0].grad.numpy(), [-1.5, 0.5], rtol=1e-5)
    bad = _params_with_grads([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = _params_with_grads([-3.0, 0.5, 2.0])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError):
        clip_grad_value_(params, -1.0)


def test_parameter_vector_round_trip_and_gradient():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (model.num_parameters(),) == (11,)
    (vec * vec).sum().backward()  # differentiable: d/dp sum p^2 = 2 p
    for p in model.parameters():
        np.testing.assert_allclose(p.grad.numpy(), 2 * p.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grads_to_vector(model.parameters()).numpy(), 2 * vec.numpy(),
                               rtol=1e-6)
    weight = model[0].weight
    vector_to_parameters(cr.arange(11.0), model.parameters())
    assert model[0].weight is weight
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).numpy(),
                                  np.arange(11.0))
    with pytest.raises(ValueError, match="10 elements but the parameters have 11"):
        vector_to_parameters(cr.zeros(10), model.parameters())
