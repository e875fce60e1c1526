"""Train an MLP for some steps, data-parallel over the ranks of the launch (or in one process).

Every rank builds the same model and data; rank r takes rows [B r / N, B (r + 1) / N) of each
full batch and the loss is the mean over its rows, so the averaged gradient is the full batch's.
Rank 0 saves the final parameters to OUT (.npz), with "identical" = 1 when every rank ended with
bit-identical parameters.

    mpiexec -n 3 python -m mpi4py ddp_parity.py --optimizer adam --dtype float64 OUT.npz
"""

import argparse

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--batch", type=int, default=24)
parser.add_argument("--sync-bn", action="store_true")
args = parser.parse_args()

dtype = np.dtype(args.dtype)
rank, world = dist.rank(), dist.world_size()
cr.manual_seed(0)
# NOTE: no bias before a BatchNorm: its gradient is 0 but for rounding, which Adam would
# amplify into steps of size lr that differ between runs
layers = [nn.Linear(5, 16, bias=not args.sync_bn, dtype=dtype), nn.Tanh(),
          nn.Linear(16, 3, dtype=dtype)]
if args.sync_bn:
    layers.insert(1, nn.BatchNorm1d(16, dtype=dtype))
model = nn.Sequential(*layers)
if args.sync_bn:
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
ddp = nn.parallel.DistributedDataParallel(model)
opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9) if args.optimizer == "sgd" \
    else optim.Adam(ddp.parameters(), lr=0.01)
data = np.random.default_rng(1)
X = data.standard_normal((args.steps, args.batch, 5)).astype(dtype)
Y = data.integers(0, 3, (args.steps, args.batch))
lo, hi = args.batch * rank // world, args.batch * (rank + 1) // world
for step in range(args.steps):
    opt.zero_grad()
    x, y = cr.from_numpy(X[step, lo:hi]), cr.from_numpy(Y[step, lo:hi])
    loss = nn.functional.cross_entropy(ddp(x), y)
    loss.backward()
    opt.step()

state = {k: v.numpy() for k, v in model.state_dict().items()}
gathered = [None] * world
dist.all_gather_object(gathered, state)
identical = all(np.array_equal(g[k], state[k]) for g in gathered for k in state)
if rank == 0:
    np.savez(args.out, identical=int(identical), **state)
