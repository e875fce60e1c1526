"""Anomaly mode names the operation that first produced NaN/Inf, in forward or in backward
(RELIABILITY.md item 13: log(0), sqrt(0) in backward, 0/0)."""

import warnings

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _quiet_numpy():
    """NumPy warns on log(0) and x/0; these tests are about the error anomaly mode raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_log_of_zero_is_named_in_forward():
    x = cr.zeros(2, requires_grad=True)
    with cr.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Log produced NaN/Inf.*forward"):
            cr.log(x)


def test_sqrt_of_zero_is_named_in_backward():
    """sqrt(0) = 0 is fine; its derivative 1 / (2 sqrt(0)) is not: SqrtBackward is named."""
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = cr.sqrt(x).sum()
        with pytest.raises(FloatingPointError, match=r"SqrtBackward returned NaN/Inf"):
            y.backward()


def test_zero_over_zero_is_named():
    x = cr.zeros(3, requires_grad=True)
    with cr.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Div produced NaN/Inf"):
            x / x


def test_first_bad_op_is_named_not_a_later_one():
    """exp(1000) overflows first; the log after it is not blamed."""
    x = cr.tensor([1000.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Exp"):
            cr.log(cr.exp(x))


def test_without_anomaly_mode_nan_propagates_silently():
    x = cr.tensor([0.0], requires_grad=True)
    y = cr.sqrt(x).sum()
    y.backward()
    assert np.isinf(x.grad.numpy()).all()


def test_anomaly_mode_is_restored_after_the_block():
    with cr.autograd.detect_anomaly():
        pass
    x = cr.zeros(1, requires_grad=True)
    assert np.isneginf(cr.log(x).numpy()).all()


def test_anomaly_mode_checks_backward_run_with_create_graph():
    """With create_graph the backward formula's own operations are checked as they run."""
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    (g,) = cr.autograd.grad((x ** 1.5).sum(), x, create_graph=True)
    with cr.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match="anomaly: Pow produced NaN/Inf"):
            cr.autograd.grad(g.sum(), x, create_graph=True)
