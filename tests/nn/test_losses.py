"""Losses of SPEC 4: oracle values, stability, reductions, errors, first and second derivatives."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def f64(array, requires_grad=True):
    return cr.tensor(np.asarray(array), dtype=np.float64, requires_grad=requires_grad)


def probs(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, shape)


# ---- gradient checks: (name, function of the differentiable inputs, inputs) ------------------
def _cases():
    x = RNG.standard_normal((3, 4))
    t = RNG.standard_normal((3, 4))
    p, y01 = probs((3, 4)), probs((3, 4), 1)
    logits4 = RNG.standard_normal((2, 3, 2, 2))
    labels = cr.tensor([2, 0, 3])
    w = f64(RNG.uniform(0.5, 2, 4), requires_grad=False)
    soft = RNG.dirichlet(np.ones(4), 3)
    cases = []
    for red in ("none", "mean", "sum"):
        cases += [
            (f"mse-{red}", lambda a, b, r=red: F.mse_loss(a, b, r), (x, t)),
            (f"l1-{red}", lambda a, b, r=red: F.l1_loss(a, b, r), (x, t)),
            (f"huber-{red}", lambda a, b, r=red: F.huber_loss(a, b, r, delta=0.7), (x, t)),
            (f"bce-{red}", lambda a, b, r=red: F.binary_cross_entropy(a, b, reduction=r),
             (p, y01)),
            (f"bce-logits-{red}", lambda a, b, r=red: F.binary_cross_entropy_with_logits(
                a, b, reduction=r, pos_weight=f64([1, 2, 0.5, 3], False)), (x, y01)),
            (f"ce-{red}", lambda a, r=red: F.cross_entropy(a, labels, reduction=r), (x,)),
            (f"ce-options-{red}", lambda a, r=red: F.cross_entropy(
                a, labels, weight=w, ignore_index=0, label_smoothing=0.2, reduction=r), (x,)),
            (f"ce-probs-{red}", lambda a, b, r=red: F.cross_entropy(
                a, b, weight=w, label_smoothing=0.1, reduction=r), (x, soft)),
            (f"ce-4d-{red}", lambda a, r=red: F.cross_entropy(
                a, cr.tensor([[[0, 1], [2, 2]], [[1, 1], [0, 2]]]), reduction=r), (logits4,)),
            (f"nll-{red}", lambda a, r=red: F.nll_loss(a, labels, weight=w, reduction=r), (x,)),
        ]
    cases.append(("bce-weight", lambda a, b: F.binary_cross_entropy(
        a, b, weight=f64([0.5, 1, 2, 1], False)), (p, y01)))
    row_weight = f64(RNG.uniform(0.5, 2, (3, 1)), False)
    cases.append(("bce-logits-weight", lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, weight=row_weight), (x, y01)))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, inputs):
    tensors = [f64(a) for a in inputs]
    assert gradcheck(fn, tensors, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,fn,inputs", [c for c in CASES if not c[0].startswith("l1")],
                         ids=[c[0] for c in CASES if not c[0].startswith("l1")])
def test_gradgradcheck(name, fn, inputs):
    tensors = [f64(a) for a in inputs]
    assert gradgradcheck(fn, tensors, eps=1e-6, atol=1e-5, rtol=1e-3)


# ---- oracle values ---------------------------------------------------------------------------
def test_cross_entropy_oracle_values():
    assert F.cross_entropy(cr.tensor([[1000.0, 1.0]]), cr.tensor([1])).item() == 999.0
    assert F.cross_entropy(cr.tensor([1000.0, 1.0]), cr.tensor(1)).item() == 999.0
    logits = cr.tensor([[2.0, 1.0, 0.1]])
    expected = -np.log(np.exp(2.0) / np.exp([2.0, 1.0, 0.1]).sum())
    assert F.cross_entropy(logits, cr.tensor([0])).item() == pytest.approx(expected, rel=1e-6)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = cr.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]], requires_grad=True)
    F.cross_entropy(x, cr.tensor([2, 0]), reduction="sum").backward()
    expected = F.softmax(x.detach(), 1).numpy() - np.eye(3)[[2, 0]]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_cross_entropy_equals_nll_of_log_softmax_and_probability_form():
    x = f64(RNG.standard_normal((5, 4)), False)
    y = cr.tensor([0, 3, 1, 1, 2])
    ce = F.cross_entropy(x, y).item()
    assert ce == pytest.approx(F.nll_loss(F.log_softmax(x, 1), y).item(), rel=1e-12)
    onehot = cr.tensor(np.eye(4)[y.numpy()], dtype=np.float64)
    assert ce == pytest.approx(F.cross_entropy(x, onehot).item(), rel=1e-12)


def test_bce_with_logits_oracle_values_and_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = cr.tensor([200.0, -200.0], requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(z, cr.tensor([0.0, 1.0]), reduction="none")
        np.testing.assert_array_equal(loss.numpy(), [200.0, 200.0])
        loss.sum().backward()
        np.testing.assert_array_equal(z.grad.numpy(), [1.0, -1.0])


def test_bce_identity_dl_dz_equals_a_minus_y():
    # SPEC 4: with a sigmoid output a = sigmoid(z), d BCE / dz = a - y.
    z = f64([-2.0, 0.3, 1.7])
    y = f64([0.0, 1.0, 1.0], False)
    F.binary_cross_entropy(F.sigmoid(z), y, reduction="sum").backward()
    np.testing.assert_allclose(z.grad.numpy(), F.sigmoid(z.detach()).numpy() - y.numpy(),
                               rtol=1e-9)
    z2 = f64([-2.0, 0.3, 1.7])
    F.binary_cross_entropy_with_logits(z2, y, reduction="sum").backward()
    np.testing.assert_allclose(z2.grad.numpy(), z.grad.numpy(), rtol=1e-9)


def test_bce_clamps_log_at_minus_100():
    loss = F.binary_cross_entropy(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0])


def test_half_mse_of_the_decks_is_half_of_mse_loss():
    x = f64([1.0, 2.0, 4.0])
    t = f64([0.0, 0.0, 1.0], False)
    half = 0.5 * ((x - t) ** 2).mean()
    assert half.item() == pytest.approx(0.5 * F.mse_loss(x, t).item())
    half.backward()
    np.testing.assert_allclose(x.grad.numpy(), (x.detach() - t).numpy() / 3)  # (x - t) / n


def test_nll_worked_value_and_regression_values():
    logp = cr.tensor(np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    assert F.nll_loss(logp, cr.tensor([0, 2])).item() == pytest.approx(
        -(np.log(0.7) + np.log(0.8)) / 2, rel=1e-6)
    x, t = cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0])
    assert F.mse_loss(x, t).item() == 2.5
    assert F.l1_loss(x, t, reduction="sum").item() == 3.0
    assert F.huber_loss(x, t, delta=1.0, reduction="none").tolist() == [0.5, 1.5]


def test_ignore_index_rows_contribute_nothing():
    x = f64(RNG.standard_normal((4, 3)))
    y = cr.tensor([0, -100, 2, -100])
    loss = F.cross_entropy(x, y)
    assert loss.item() == pytest.approx(F.cross_entropy(x[[0, 2]], cr.tensor([0, 2])).item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy()[[1, 3]], 0.0)


# ---- modules, reductions and errors ----------------------------------------------------------
def test_loss_modules_equal_functions():
    x, t = cr.randn(4, 3), cr.randn(4, 3)
    p, y01 = cr.rand(4, 3) * 0.9 + 0.05, (cr.rand(4, 3) > 0.5).float()
    labels = cr.tensor([0, 2, 1, 2])
    pairs = [(nn.MSELoss(), F.mse_loss(x, t)), (nn.L1Loss("sum"), F.l1_loss(x, t, "sum")),
             (nn.HuberLoss(delta=0.5), F.huber_loss(x, t, delta=0.5))]
    for module, expected in pairs:
        assert module(x, t).item() == expected.item()
    assert nn.BCELoss()(p, y01).item() == F.binary_cross_entropy(p, y01).item()
    assert nn.BCEWithLogitsLoss(pos_weight=cr.tensor([2.0, 1.0, 1.0]))(x, y01).item() == \
        F.binary_cross_entropy_with_logits(x, y01, pos_weight=cr.tensor([2.0, 1.0, 1.0])).item()
    assert nn.CrossEntropyLoss(label_smoothing=0.1)(x, labels).item() == \
        F.cross_entropy(x, labels, label_smoothing=0.1).item()
    assert nn.NLLLoss(ignore_index=2)(x, labels).item() == F.nll_loss(x, labels,
                                                                      ignore_index=2).item()


def test_class_weight_is_a_buffer():
    loss = nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert list(loss.parameters()) == []


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss])
def test_bad_reduction_is_rejected(fn):
    with pytest.raises(ValueError, match="reduction must be one of"):
        fn(cr.zeros(2), cr.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="mean ")


def test_cross_entropy_target_out_of_range_names_value_and_classes():
    x = cr.randn(3, 5)
    with pytest.raises(IndexError, match="target 7 is out of range for 5 classes"):
        F.cross_entropy(x, cr.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match="target -1 is out of range for 5 classes"):
        F.cross_entropy(x, cr.tensor([0, -1, 1]))
    with pytest.raises(IndexError, match="target 5 is out of range"):
        F.nll_loss(x, cr.tensor([5, 0, 0]))


def test_shape_and_dtype_errors_are_clear():
    with pytest.raises(ValueError, match=r"target shape \(3,\) differs from input shape \(3, 1\)"):
        F.mse_loss(cr.zeros(3, 1), cr.zeros(3))
    with pytest.raises(ValueError, match="target shape"):
        F.cross_entropy(cr.zeros(3, 4), cr.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer class indices"):
        F.nll_loss(cr.zeros(3, 4), cr.zeros(3))
    with pytest.raises(ValueError, match=r"in \[0, 1\], found 1.5"):
        F.binary_cross_entropy(cr.tensor([0.5, 1.5]), cr.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="one entry per class"):
        F.cross_entropy(cr.zeros(2, 3), cr.tensor([0, 1]), weight=cr.ones(4))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(cr.zeros(2, 3), cr.tensor([0, 1]), label_smoothing=1.5)


def test_float32_losses_stay_float32():
    x = cr.randn(4, 3, requires_grad=True)
    for loss in (F.mse_loss(x, cr.randn(4, 3)), F.cross_entropy(x, cr.tensor([0, 1, 2, 0])),
                 F.binary_cross_entropy_with_logits(x, cr.rand(4, 3)),
                 F.cross_entropy(x, F.softmax(cr.randn(4, 3), 1), label_smoothing=0.1)):
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32
        x.grad = None


def test_target_may_be_a_numpy_array():
    x = cr.tensor([[0.5, 1.5]])
    assert F.mse_loss(x, np.array([[0.5, 0.5]])).item() == 0.5
    assert F.cross_entropy(x, np.array([1])).item() == pytest.approx(
        F.cross_entropy(x, cr.tensor([1])).item())


def test_one_hot_encoding():
    out = F.one_hot(cr.tensor([2, 0, 1]), 4)
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[2, 0, 1]])
    assert F.one_hot(cr.tensor([[1], [3]])).shape == (2, 1, 4)
    with pytest.raises(IndexError, match="class 5 is out of range for 3 classes"):
        F.one_hot(cr.tensor([0, 5]), 3)
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(cr.tensor([0.5]))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_mse_of_zero_dim_tensors(reduction):
    x = cr.tensor(2.0, requires_grad=True)
    loss = F.mse_loss(x, cr.tensor(0.5), reduction=reduction)
    loss.backward()
    assert loss.shape == () and loss.dtype == np.float32
    assert loss.item() == 2.25 and x.grad.item() == 3.0
