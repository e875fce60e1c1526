"""nn.init: distributions, gains, fans, reproducibility and the generator argument."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans():
    assert init.calculate_fan_in_and_fan_out(cr.empty(3, 5)) == (5, 3)
    assert init.calculate_fan_in_and_fan_out(cr.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.calculate_fan_in_and_fan_out(cr.empty(4))


@pytest.mark.parametrize("fn,expected_std", [
    (lambda t: init.xavier_uniform_(t), math.sqrt(2 / (200 + 400))),
    (lambda t: init.xavier_normal_(t, gain=2.0), 2 * math.sqrt(2 / (200 + 400))),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 200)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: init.normal_(t, 0.0, 0.3), 0.3),
    (lambda t: init.uniform_(t, -1.0, 1.0), 1 / math.sqrt(3)),
])
def test_standard_deviations(fn, expected_std):
    cr.manual_seed(0)
    w = fn(cr.empty(400, 200)).numpy()
    assert w.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(w.mean()) < 4 * expected_std / math.sqrt(w.size)


def test_uniform_bounds_and_constants():
    w = init.kaiming_uniform_(cr.empty(50, 30), a=math.sqrt(5)).numpy()
    assert np.abs(w).max() <= 1 / math.sqrt(30)
    np.testing.assert_array_equal(init.constant_(cr.empty(2, 2), 0.3).numpy(), np.float32(0.3))
    np.testing.assert_array_equal(init.zeros_(cr.ones(3)).numpy(), 0.0)
    np.testing.assert_array_equal(init.ones_(cr.zeros(3)).numpy(), 1.0)
    np.testing.assert_array_equal(init.eye_(cr.empty(2, 3)).numpy(), np.eye(2, 3))


def test_in_place_on_parameters_keeps_dtype_identity_and_works_under_grad():
    p = nn.Parameter(cr.zeros(4, 3, dtype=cr.float64))
    assert init.xavier_uniform_(p) is p
    assert p.dtype == np.float64 and p.requires_grad and p.numpy().std() > 0


def test_same_seed_same_values_and_generator_argument():
    cr.manual_seed(5)
    a = init.normal_(cr.empty(10)).numpy()
    cr.manual_seed(5)
    b = init.normal_(cr.empty(10)).numpy()
    np.testing.assert_array_equal(a, b)
    c = init.uniform_(cr.empty(10), generator=np.random.default_rng(1)).numpy()
    d = init.uniform_(cr.empty(10), generator=np.random.default_rng(1)).numpy()
    np.testing.assert_array_equal(c, d)


def test_orthogonal():
    for shape in [(6, 4), (4, 6), (5, 5)]:
        w = init.orthogonal_(cr.empty(shape, dtype=cr.float64), gain=2.0).numpy()
        small = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(small, 4 * np.eye(min(shape)), atol=1e-10)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_normal_(cr.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="must not exceed"):
        init.uniform_(cr.empty(3), 1.0, 0.0)
