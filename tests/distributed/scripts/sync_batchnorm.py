"""SyncBatchNorm on every rank's shard equals BatchNorm on the whole batch (float64).

Every rank holds the whole batch, normalises its rows (uneven shards) with SyncBatchNorm and
compares with BatchNorm on all rows: outputs, input gradients, the all-reduced gradients of
gamma and beta, and the running statistics. Prints "sync_batchnorm ok" on rank 0.
"""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn

r, n = dist.rank(), dist.world_size()
data = np.random.default_rng(0)
for shape in ((13, 4), (11, 3, 5), (7, 2, 3, 3)):
    X = data.standard_normal(shape) * 3 + 1
    R = data.standard_normal(shape)
    lo, hi = shape[0] * r // n, shape[0] * (r + 1) // n
    bn = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1], dtype=cr.float64)
    sync = nn.SyncBatchNorm(shape[1], dtype=cr.float64)
    for layer in (bn, sync):
        layer.weight.data[:] = np.linspace(0.5, 2.0, shape[1])
        layer.bias.data[:] = np.linspace(-1.0, 1.0, shape[1])
    x_full = cr.tensor(X, dtype=cr.float64, requires_grad=True)
    full_out = bn(x_full)
    (full_out * cr.from_numpy(R)).sum().backward()
    x = cr.tensor(X[lo:hi], dtype=cr.float64, requires_grad=True)
    out = sync(x)
    (out * cr.from_numpy(R[lo:hi])).sum().backward()
    assert np.abs(out.numpy() - full_out.numpy()[lo:hi]).max() < 1e-12, shape
    assert np.abs(x.grad.numpy() - x_full.grad.numpy()[lo:hi]).max() < 1e-12, shape
    for name in ("weight", "bias"):
        grad = getattr(sync, name).grad
        dist.all_reduce(grad)
        assert np.abs(grad.numpy() - getattr(bn, name).grad.numpy()).max() < 1e-12, name
    for name in ("running_mean", "running_var"):
        assert np.abs(getattr(sync, name).numpy() - getattr(bn, name).numpy()).max() < 1e-12

# one value per channel over all ranks is refused on every rank alike
try:
    nn.SyncBatchNorm(2)(cr.randn(1, 2) if r == 0 else cr.zeros(0, 2))
except ValueError as err:
    assert "more than 1 value per channel" in str(err)
else:
    raise AssertionError("no error for a single value per channel")
if r == 0:
    print("sync_batchnorm ok")
