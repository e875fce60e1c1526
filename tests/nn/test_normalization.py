"""BatchNorm1d/2d and LayerNorm: formulas, running statistics, modes, errors, gradients."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def test_batch_norm_training_formula_and_running_update():
    x = RNG.standard_normal((8, 3)) * 2 + 5
    bn = nn.BatchNorm1d(3, momentum=0.25).double()
    out = bn(cr.tensor(x, dtype=np.float64)).numpy()
    mu, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(out, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.25 * mu, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.75 + 0.25 * x.var(0, ddof=1),
                               rtol=1e-12)  # unbiased variance in the running estimate
    assert bn.num_batches_tracked.item() == 1


def test_eval_uses_running_statistics_and_train_restores():
    bn = nn.BatchNorm2d(2)
    for _ in range(3):
        bn(cr.randn(4, 2, 3, 3) * 3 + 1)
    state = {k: v.numpy().copy() for k, v in bn.state_dict().items()}
    bn.eval()
    x = cr.randn(5, 2, 3, 3)
    expected = (x.numpy() - state["running_mean"][None, :, None, None]) / np.sqrt(
        state["running_var"][None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    one = bn(x[:1])  # a single sample is fine in evaluation
    np.testing.assert_allclose(one.numpy(), expected[:1], rtol=1e-5, atol=1e-6)
    for k, v in bn.state_dict().items():  # evaluation changes no statistic
        np.testing.assert_array_equal(v.numpy(), state[k])
    bn.train()
    out = bn(x).numpy()
    assert abs(out.mean()) < 1e-5 and bn.num_batches_tracked.item() == 4


def test_cumulative_average_when_momentum_is_none():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    batches = [RNG.standard_normal((6, 2)) + i for i in range(3)]
    for b in batches:
        bn(cr.tensor(b, dtype=np.float64))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-12)


def test_without_running_stats_and_without_affine():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    bn.eval()
    out = bn(cr.randn(10, 3) * 4 + 2).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)  # batch statistics even in eval
    assert bn.running_mean is None


def test_batch_norm_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(num_features=4\): input has 5 channels"):
        nn.BatchNorm1d(4)(cr.zeros(2, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(num_features=3\): expected a "
                                         r"\(N, C, H, W\) input, got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(cr.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(cr.zeros(1, 3))


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
def test_batch_norm_gradients(shape):
    x = cr.tensor(RNG.standard_normal(shape), dtype=np.float64, requires_grad=True)
    w = cr.tensor(RNG.uniform(0.5, 1.5, 3), dtype=np.float64, requires_grad=True)
    b = cr.tensor(RNG.standard_normal(3), dtype=np.float64, requires_grad=True)

    def train(a, g, c):
        return F.batch_norm(a, None, None, g, c, training=True)

    def evaluate(a, g, c):
        return F.batch_norm(a, cr.ones(3, dtype=np.float64) * 0.3, cr.ones(3) * 2.0, g, c)

    for fn in (train, evaluate):
        assert gradcheck(fn, (x, w, b))
        assert gradgradcheck(fn, (x, w, b), n_directions=4)


def test_layer_norm_formula_modes_and_gradients():
    x = RNG.standard_normal((2, 3, 4)) * 3 + 1
    ln = nn.LayerNorm((3, 4)).double()
    expected = (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(cr.tensor(x, dtype=np.float64)).numpy(), expected, rtol=1e-10)
    ln.eval()
    np.testing.assert_allclose(ln(cr.tensor(x, dtype=np.float64)).numpy(), expected, rtol=1e-10)
    xt = cr.tensor(x[:, :, :2], dtype=np.float64, requires_grad=True)
    w = cr.tensor(RNG.uniform(0.5, 1.5, 2), dtype=np.float64, requires_grad=True)
    b = cr.tensor(RNG.standard_normal(2), dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda a, g, c: F.layer_norm(a, 2, g, c), (xt, w, b))
    assert gradgradcheck(lambda a, g, c: F.layer_norm(a, 2, g, c), (xt, w, b), n_directions=4)
    with pytest.raises(ValueError, match=r"LayerNorm\(normalized_shape=\(4,\)\): input has "
                                         r"trailing shape \(5,\), shape \(2, 5\)"):
        nn.LayerNorm(4)(cr.zeros(2, 5))
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None
    assert nn.LayerNorm(4, bias=False).bias is None


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_node_equals_the_composition(affine, dtype):
    """F.layer_norm is one LayerNorm node; its value and gradients are the composition's."""
    from chainrule.ops.layer_norm import layer_norm_composed

    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 5, 3, 4)) * 2 + 1, rng.uniform(0.5, 1.5, (3, 4)),
              rng.standard_normal((3, 4))]
    upstream = cr.tensor(rng.standard_normal((2, 5, 3, 4)), dtype=dtype)
    results = []
    for fn in (F.layer_norm, lambda x, shape, w, b: layer_norm_composed(x, 2, w, b)):
        x, w, b = (cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays)
        w = w if affine != "none" else None
        b = b if affine == "both" else None
        y = fn(x, (3, 4), w, b)
        (y * upstream).sum().backward()
        results.append([y.numpy(), x.grad.numpy()] + [t.grad.numpy() for t in (w, b)
                                                     if t is not None])
    assert F.layer_norm(x, (3, 4), w, b).grad_fn.name == "LayerNorm"
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for fused, composed in zip(*results):
        assert fused.dtype == dtype
        np.testing.assert_allclose(fused, composed, rtol=tol, atol=tol)


def test_layer_norm_weight_must_have_the_normalized_shape():
    with pytest.raises(ValueError, match=r"layer_norm: expected weight of the normalized shape "
                                         r"\(3, 4\), got shape \(4,\)"):
        F.layer_norm(cr.zeros(2, 3, 4), (3, 4), cr.ones(4))
