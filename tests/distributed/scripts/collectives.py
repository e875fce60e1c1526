"""all_reduce, broadcast, barrier and the differentiable collectives on every rank of a launch;
prints "collectives ok" on rank 0 when every check passed (an assertion aborts the job)."""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist

r, n = dist.rank(), dist.world_size()
assert dist.is_initialized() and dist.is_mpi_launched() and 0 <= r < n

t = cr.tensor([float(r), 1.0])
assert dist.all_reduce(t) is None
assert t.tolist() == [float(sum(range(n))), float(n)]
t = cr.tensor([float(r)], dtype=cr.float64)
dist.all_reduce(t, op="mean")
assert t.item() == sum(range(n)) / n
for op, expected in (("max", n - 1), ("min", 0), ("product", 0)):
    t = cr.tensor([r], dtype=cr.int64)
    dist.all_reduce(t, op=op)
    assert t.item() == expected, (op, t.item())
t = cr.tensor([r + 1], dtype=cr.int64)
dist.all_reduce(t, dist.ReduceOp.PRODUCT)
assert t.item() == int(np.prod(np.arange(1, n + 1)))

b = cr.from_numpy(np.arange(3.0) * (r + 1))
dist.broadcast(b, src=n - 1)
assert b.tolist() == (np.arange(3.0) * n).tolist()
dist.barrier()


def raises(fn, *needles):
    """fn() must raise ValueError on this rank, its message holding every needle."""
    try:
        fn()
    except ValueError as err:
        assert all(s in str(err) for s in needles), str(err)
        return
    raise AssertionError(f"no error from {fn}")


raises(lambda: dist.all_reduce(cr.zeros(2, dtype=cr.float32 if r == 0 else cr.float64)),
       "ranks disagree", "rank 1: dtype float64")
raises(lambda: dist.all_reduce(cr.zeros(2 + (r == n - 1))), "ranks disagree", "shape (3,)")
view = cr.zeros(3, 2).T if r == 1 else cr.zeros(2, 3)
raises(lambda: dist.all_reduce(view), "rank 1: the tensor of shape (2, 3) is not contiguous")
raises(lambda: dist.broadcast(cr.zeros(2), src=n), f"src must be a rank in 0 .. {n - 1}")
raises(lambda: dist.all_reduce(cr.zeros(2), op="average"), "unknown op 'average'")
raises(lambda: dist.all_reduce(cr.zeros(2, dtype=cr.int64), op="mean"), "needs a floating")

# differentiable collectives: the adjoint of a gather is the reduced gradient's own row
x = cr.tensor([float(r + 1), 2.0 * r], dtype=cr.float64, requires_grad=True)
gathered = dist.functional.all_gather(x)
assert gathered.shape == (n, 2) and gathered[:, 0].tolist() == [float(s + 1) for s in range(n)]
weights = cr.from_numpy(np.arange(2.0 * n).reshape(n, 2) * (r + 1))
(gathered * weights).sum().backward()
expected = np.arange(2.0 * n).reshape(n, 2)[r] * sum(s + 1 for s in range(n))
assert np.allclose(x.grad.numpy(), expected), (x.grad, expected)
y = cr.tensor([1.0, float(r)], dtype=cr.float64, requires_grad=True)
(dist.functional.all_reduce(y) * (r + 1)).sum().backward()
assert y.grad.tolist() == [float(n * (n + 1) // 2)] * 2

gathered_objects = [None] * n
dist.all_gather_object(gathered_objects, {"rank": r})
assert gathered_objects == [{"rank": s} for s in range(n)]
if r == 0:
    print("collectives ok")
