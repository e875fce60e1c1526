"""The perceptron rule: converges on separable data, not on XOR (SPEC 1)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.perceptron import ConvergenceWarning, Perceptron

X_BOOL = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def separable(n=200, seed=0, margin=0.2):
    """Points on either side of the line x1 + 2 x2 = 0.5, at least ``margin`` away from it."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(4 * n, 2))
    net = X @ np.array([1.0, 2.0]) - 0.5
    keep = np.abs(net) > margin
    return X[keep][:n], np.where(net[keep][:n] > 0, 1, -1)


def test_training_by_hand():
    """AND with the sign perceptron, eta = 1, zero start, samples in order (o = 1 when
    w.x + b >= 0). Epoch 1: (-1,-1) t=-1: net 0, o=1, w <- w + 1 (-1 - 1) (-1,-1) = (2,2),
    b <- -2; then (-1,1), (1,-1) have net -2 (o=-1, right) and (1,1) net 2 (o=1, right).
    Epoch 2 has no error: converged after 2 epochs."""
    X, y = 2 * X_BOOL - 1, np.array([-1, -1, -1, 1])
    p = Perceptron(activation="sign").fit(X, y, epochs=10)
    np.testing.assert_array_equal(p.weight_, [2.0, 2.0])
    assert p.bias_ == -2.0 and p.errors_ == [1, 0] and p.epochs_ == 2 and p.converged_


@pytest.mark.parametrize("activation,low", [("sign", -1), ("step", 0)])
@pytest.mark.parametrize("gate,targets", [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1])])
def test_learns_and_or(activation, low, gate, targets):
    y = np.where(np.array(targets) == 1, 1, low)
    p = Perceptron(activation=activation).fit(X_BOOL, y, epochs=50)
    assert p.converged_ and p.errors_[-1] == 0 and p.epochs_ == len(p.errors_) < 50
    np.testing.assert_array_equal(p.predict(X_BOOL), y)


@pytest.mark.parametrize("shuffle,seed", [(False, None), (True, 0), (True, 7)])
def test_converges_on_separable_data(shuffle, seed):
    X, y = separable()
    p = Perceptron(shuffle=shuffle, seed=seed, lr=0.5).fit(X, y, epochs=200)
    assert p.converged_
    assert 1 < p.epochs_ < 200 and p.errors_[0] > 0 and p.errors_[-1] == 0
    assert p.score(X, y) == 1.0
    margins = y * p.decision_function(X)
    assert (margins >= 0).all()


def test_xor_does_not_converge_and_warns():
    y = np.array([-1, 1, 1, -1])
    with pytest.warns(ConvergenceWarning, match="did not converge in 30 epochs"):
        p = Perceptron().fit(X_BOOL, y, epochs=30)
    assert not p.converged_ and p.epochs_ == 30 and len(p.errors_) == 30
    assert min(p.errors_) > 0 and p.score(X_BOOL, y) < 1.0


def test_converged_fit_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Perceptron(activation="step").fit(X_BOOL, [0, 0, 0, 1])


def test_seeded_shuffling_is_reproducible_and_order_matters():
    X, y = separable(seed=1)
    a = Perceptron(shuffle=True, seed=3).fit(X, y)
    b = Perceptron(shuffle=True, seed=3).fit(X, y)
    c = Perceptron(shuffle=False).fit(X, y)
    np.testing.assert_array_equal(a.weight_, b.weight_)
    assert a.errors_ == b.errors_
    assert a.errors_ != c.errors_ or not np.array_equal(a.weight_, c.weight_)
    cr.manual_seed(5)
    d = Perceptron(shuffle=True).fit(X, y)
    cr.manual_seed(5)
    e = Perceptron(shuffle=True).fit(X, y)
    assert d.errors_ == e.errors_


def test_tensor_inputs_and_outputs():
    X, y = separable(n=50)
    p = Perceptron().fit(cr.tensor(X), cr.tensor(y))
    q = Perceptron().fit(X.astype(np.float32), y)
    np.testing.assert_array_equal(p.weight_, q.weight_)
    out = p.predict(cr.tensor(X))
    assert isinstance(out, cr.Tensor) and out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), y)
    assert isinstance(p.predict(X), np.ndarray)


def test_not_gradient_descent():
    """The rule ignores how wrong a sample is: the same update for net = -0.01 and net = -100."""
    for scale in (0.01, 100.0):
        p = Perceptron(activation="step", lr=1.0)
        with pytest.warns(ConvergenceWarning):  # one epoch, one error: not converged yet
            p.fit(np.array([[scale]]), np.array([0]), epochs=1)  # net 0 -> o = 1, t = 0
        np.testing.assert_array_equal(p.weight_, [-scale])
        assert p.bias_ == -1.0


@pytest.mark.parametrize("kwargs,fit_args,error,message", [
    (dict(activation="relu"), None, ValueError, "activation must be 'sign' or 'step'"),
    (dict(lr=0), None, ValueError, "lr must be positive, got 0"),
    (dict(), (X_BOOL, [0, 0, 0, 1]), ValueError, r"targets must be in \(-1, 1\), got \[0\]"),
    (dict(activation="step"), (X_BOOL, [0, 2, 0, 1]), ValueError, r"got \[2\]"),
    (dict(), (X_BOOL[0], [1]), ValueError, "shape"),
    (dict(), (X_BOOL, [1, -1]), ValueError, r"y must have shape \(4,\)"),
    (dict(), (X_BOOL, [1, -1, 1, 1], 0), ValueError, "epochs must be a positive integer"),
])
def test_bad_arguments(kwargs, fit_args, error, message):
    with pytest.raises(error, match=message):
        p = Perceptron(**kwargs)
        if fit_args is not None:
            p.fit(*fit_args)


def test_predict_checks():
    p = Perceptron()
    with pytest.raises(RuntimeError, match="call fit"):
        p.predict(X_BOOL)
    p.fit(X_BOOL, [1, 1, 1, -1])
    with pytest.raises(ValueError, match=r"expected X of shape \(n, 2\)"):
        p.predict(np.ones((3, 5)))
