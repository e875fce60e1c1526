"""Creating tensors: shapes as varargs or a tuple, dtypes, copies, and seeded randomness."""

import numpy as np
import pytest

import chainrule as cr

FILLED = [(cr.zeros, 0.0), (cr.ones, 1.0)]


@pytest.mark.parametrize("make,value", FILLED, ids=["zeros", "ones"])
def test_shape_as_varargs_tuple_or_list(make, value):
    for t in (make(2, 3), make((2, 3)), make([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32
        assert (t.numpy() == value).all()
    assert make(()).shape == () and make(4).shape == (4,)


def test_empty_full_eye_and_likes():
    assert cr.empty(2, 3).shape == (2, 3) and cr.empty((2,)).dtype == np.float32
    f = cr.full((2, 2), 7.5)
    assert f.dtype == np.float32 and (f.numpy() == 7.5).all()
    assert cr.full(3, 1.0).shape == (3,)
    np.testing.assert_array_equal(cr.eye(2, 3).numpy(), np.eye(2, 3))
    x = cr.ones(2, 3, dtype=cr.float64)
    for like in (cr.zeros_like(x), cr.ones_like(x), cr.full_like(x, 2.0), cr.rand_like(x),
                 cr.randn_like(x)):
        assert like.shape == (2, 3) and like.dtype == np.float64
    assert cr.zeros_like(x, dtype=cr.float32).dtype == np.float32
    for like in (cr.empty_like(x), cr.randint_like(x, 5)):
        assert like.shape == (2, 3) and like.dtype == np.float64
    cr.manual_seed(0)
    r = cr.randint_like(cr.zeros(1000, dtype=cr.int64), 2, 5)
    assert r.dtype == np.int64 and set(np.unique(r.numpy())) == {2, 3, 4}
    assert cr.empty_like(x, requires_grad=True).requires_grad


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64, cr.int64], ids=str)
def test_dtype_argument(dtype):
    for t in (cr.zeros(2, dtype=dtype), cr.ones((2,), dtype=dtype),
              cr.full((2,), 3, dtype=dtype), cr.eye(2, dtype=dtype), cr.tensor([1, 2], dtype)):
        assert t.dtype == dtype


def test_requires_grad_argument():
    for t in (cr.zeros(2, requires_grad=True), cr.ones(2, requires_grad=True),
              cr.full((2,), 1.0, requires_grad=True), cr.randn(2, requires_grad=True),
              cr.rand(2, requires_grad=True), cr.linspace(0, 1, 3, requires_grad=True),
              cr.tensor([1.0], requires_grad=True), cr.eye(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.tensor([1, 2], requires_grad=True)


def test_tensor_dtype_rule():
    """Python floats and float64 arrays -> float32; ints -> int64; others keep their dtype."""
    assert cr.tensor(0.5).dtype == np.float32
    assert cr.tensor([[0.5, 1.0]]).dtype == np.float32
    assert cr.tensor(np.float64(0.5)).dtype == np.float32
    assert cr.tensor(np.zeros(3)).dtype == np.float32
    assert cr.tensor(np.zeros(3), dtype=cr.float64).dtype == np.float64
    assert cr.tensor(3).dtype == np.int64 and cr.tensor([[1, 2]]).dtype == np.int64
    assert cr.tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert cr.tensor([True]).dtype == np.bool_
    assert cr.tensor(np.ones(2, dtype=np.float16)).dtype == np.float16
    assert cr.tensor([cr.tensor(1.0), cr.tensor(2.0)]).shape == (2,)
    with pytest.raises(TypeError, match="cannot make a tensor"):
        cr.tensor(["a", "b"])


def test_tensor_copies_but_as_tensor_and_from_numpy_share():
    a = np.ones(3, dtype=np.float32)
    t = cr.tensor(a)
    a[0] = 5.0
    assert t.numpy()[0] == 1.0
    assert cr.as_tensor(a).data is a
    assert cr.as_tensor(t) is t
    f = cr.from_numpy(np.zeros(2))
    assert f.dtype == np.float64


def test_arange_and_linspace():
    assert cr.arange(5).dtype == np.int64 and cr.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert cr.arange(2, 8, 3).tolist() == [2, 5]
    r = cr.arange(0.0, 1.0, 0.25)
    assert r.dtype == np.float32 and r.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert cr.arange(3, dtype=cr.float64).dtype == np.float64
    s = cr.linspace(0, 1, 5)
    assert s.dtype == np.float32 and s.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_random_shapes_and_ranges():
    cr.manual_seed(0)
    u = cr.rand(1000)
    assert u.dtype == np.float32 and 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    n = cr.randn(2, 3, dtype=cr.float64)
    assert n.shape == (2, 3) and n.dtype == np.float64
    assert abs(cr.randn(10_000).numpy().mean()) < 0.05
    i = cr.randint(3, 7, (50,))
    assert i.dtype == np.int64 and i.numpy().min() >= 3 and i.numpy().max() < 7
    assert cr.randint(5, size=(2, 2)).shape == (2, 2)
    assert sorted(cr.randperm(6).tolist()) == list(range(6))


def test_manual_seed_reproduces_every_random_function():
    def draw():
        return [cr.rand(3).numpy(), cr.randn(2, 2).numpy(), cr.randint(0, 100, (4,)).numpy(),
                cr.randperm(5).numpy()]

    cr.manual_seed(123)
    first = draw()
    cr.manual_seed(123)
    second = draw()
    cr.manual_seed(124)
    third = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], third[1])


def test_rng_state_round_trip_and_explicit_generator():
    cr.manual_seed(7)
    state = cr.get_rng_state()
    a = cr.randn(3).numpy()
    cr.set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(3).numpy(), a)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(cr.rand(2, generator=g1).numpy(),
                                  cr.rand(2, generator=g2).numpy())


def test_manual_seed_rejects_bad_seeds():
    for bad in (-1, 1.5, "1"):
        with pytest.raises(ValueError, match="manual_seed"):
            cr.manual_seed(bad)
