"""Long training does not grow memory: the graph of each step is freed by its backward."""

import gc
import tracemalloc

import numpy as np

import chainrule as cr


def _mlp_step(x, target, params, lr=0.01):
    """One step of a 4 -> 16 -> 1 tanh network on raw tensors: forward, backward, update."""
    w1, b1, w2, b2 = params
    h = cr.linear(x, w1, b1).tanh()
    loss = ((cr.linear(h, w2, b2) - target) ** 2).mean()
    loss.backward()
    for p in params:  # plain SGD on the arrays, outside the graph
        p.data -= lr * p.grad.data
        p.grad = None
    return loss


def _setup():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((8, 4)))
    target = cr.tensor(rng.standard_normal((8, 1)))
    params = [cr.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
              for s in ((16, 4), (16,), (1, 16), (1,))]
    return x, target, params


def test_10000_training_steps_do_not_grow_memory():
    """Memory traced after 10,000 steps is within a small slack of that after 1,000."""
    x, target, params = _setup()
    first = _mlp_step(x, target, params).item()
    tracemalloc.start()
    try:
        for _ in range(1_000):
            loss = _mlp_step(x, target, params)
        gc.collect()
        after_1k, _ = tracemalloc.get_traced_memory()
        for _ in range(9_000):
            loss = _mlp_step(x, target, params)
        gc.collect()
        after_10k, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loss.item() < first  # the steps really trained the network
    assert after_10k - after_1k < 64 * 1024, (after_1k, after_10k)


def test_training_steps_leave_no_objects_behind():
    """The fast version for every run: 5,000 steps (untraced) keep the number of live
    gc-tracked objects, and 500 traced steps keep the traced memory, flat."""
    x, target, params = _setup()
    for _ in range(500):
        _mlp_step(x, target, params)
    gc.collect()
    objects_before = len(gc.get_objects())
    for _ in range(4_500):
        _mlp_step(x, target, params)
    gc.collect()
    assert len(gc.get_objects()) - objects_before < 50
    tracemalloc.start()
    try:
        for _ in range(100):
            _mlp_step(x, target, params)
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(400):
            _mlp_step(x, target, params)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 16 * 1024, (before, after)


def test_graph_is_released_after_backward():
    """Nothing of a step's graph survives once its outputs go out of scope."""
    import weakref

    w = cr.tensor(np.ones((3, 3)), requires_grad=True)
    y = (w @ w).tanh().sum()
    node = weakref.ref(y.grad_fn)
    y.backward()
    del y
    gc.collect()
    assert node() is None
