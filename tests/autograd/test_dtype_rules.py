"""dtype rules (RELIABILITY.md item 16): float32 stays float32, float64 stays float64, through
forward and backward; creation turns Python floats and float64 arrays into float32, keeps ints
int64. The op table (tests/ops/test_op_table.py) checks the same for every op one by one."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64], ids=["float32", "float64"])
def test_dtype_is_kept_through_a_whole_network(dtype):
    """16: a two-layer network with a softmax loss keeps its dtype in values and gradients."""
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((5, 4)), dtype=dtype)
    w1 = cr.tensor(rng.standard_normal((8, 4)), dtype=dtype, requires_grad=True)
    b1 = cr.zeros(8, dtype=dtype, requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((3, 8)), dtype=dtype, requires_grad=True)
    h = cr.linear(x, w1, b1).tanh()
    logits = h @ w2.T * 0.5 + 1.0
    loss = -cr.log_softmax(logits, dim=1)[np.arange(5), [0, 1, 2, 0, 1]].mean()
    loss = loss + 1e-3 * (w1 ** 2).sum() + (logits.std() - 1.0) ** 2
    assert loss.dtype == dtype
    loss.backward()
    for p in (w1, b1, w2):
        assert p.grad.dtype == dtype
    (g,) = cr.autograd.grad(cr.linear(x, w1, b1).sigmoid().sum(), w1, create_graph=True)
    assert g.dtype == dtype and g.sum().dtype == dtype


def test_numpy_constants_do_not_upcast_float32():
    """16: float64 NumPy scalars and arrays mixed into float32 work stay float32."""
    x = cr.ones(3, requires_grad=True)
    y = x * np.float64(2.0) + np.ones(3) - np.sqrt(2.0) / x + cr.where(x > 0, x, np.float64(0))
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_creation_dtype_rules():
    """16: Python floats and float64 arrays become float32, ints int64, bools stay bool."""
    assert cr.tensor(1.5).dtype == np.float32
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(np.ones(2, dtype=np.float64)).dtype == np.float32
    assert cr.tensor(np.ones(2), dtype=cr.float64).dtype == np.float64
    assert cr.tensor([1, 2]).dtype == np.int64
    assert cr.tensor(3).dtype == np.int64
    assert cr.tensor([True, False]).dtype == np.bool_
    assert cr.from_numpy(np.ones(2)).dtype == np.float64


def test_float64_stays_float64_in_reductions_and_shapes():
    """16: float64 inputs are not narrowed by any op (mean's 1/n, softmax, indexing, cat)."""
    x = cr.tensor(np.arange(6.0).reshape(2, 3), dtype=cr.float64, requires_grad=True)
    parts = [x.mean(0), x.var(1), cr.softmax(x, 1)[0], x[1, ::2], cr.cat([x, x], 1)[0]]
    y = cr.cat([p.reshape(-1) for p in parts]).logsumexp(0)
    assert all(p.dtype == np.float64 for p in parts) and y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_mixed_float32_float64_second_order():
    """16: float32 * float64 promotes to float64; each gradient keeps its input's dtype."""
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], dtype=cr.float64, requires_grad=True)
    ga, gb = cr.autograd.grad((a * b).sum(), [a, b], create_graph=True)
    assert ga.dtype == np.float32 and gb.dtype == np.float64


def test_mixed_float32_float64_first_order():
    """16: the promoted result is float64; each .grad keeps its own input's dtype."""
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], dtype=cr.float64, requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.gpu
def test_mixing_numpy_and_cupy_arrays_raises():
    """16: a CPU tensor and a GPU tensor in one op raise a clear error."""
    pytest.importorskip("cupy")
    if not cr.backend.gpu_available():
        pytest.skip("no CUDA GPU")
    with pytest.raises(TypeError, match="different devices"):
        cr.backend.namespace(cr.ones(2).data, cr.ones(2).to("cuda").data)
