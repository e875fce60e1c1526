"""DistributedDataParallel's behaviour beyond plain averaging; prints "ddp ok" on rank 0.

Rank 0's weights at construction, the 'module.' prefix, buffers broadcast in training, an
unused parameter raising at the next forward, find_unused_parameters, no_sync accumulation,
reduce_gradients by hand, and a model that differs between ranks.
"""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn

r, n = dist.rank(), dist.world_size()
DDP = nn.parallel.DistributedDataParallel


def same_everywhere(array) -> bool:
    gathered = [None] * n
    dist.all_gather_object(gathered, np.asarray(array))
    return all(np.array_equal(g, gathered[0]) for g in gathered)


# construction: every rank gets rank 0's parameters and buffers
cr.manual_seed(r)  # a different initialisation on every rank
model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
ddp = DDP(model)
assert same_everywhere(model[0].weight.numpy()) and same_everywhere(model[1].running_var.numpy())
assert list(ddp.state_dict())[0] == "module.0.weight"

# buffers: rank 0's running statistics are broadcast before each training forward
x = cr.randn(6, 3) + r
ddp(x).sum().backward()
ddp(x).sum().backward()
assert same_everywhere(model[0].weight.grad.numpy())
ddp.sync_buffers()
assert same_everywhere(model[1].running_mean.numpy())

# the average itself: g = (1/N) sum_r g_r
local = cr.from_numpy(np.full((2, 3), float(r + 1), dtype=np.float32))
lin = nn.Linear(3, 2, bias=False)
wrapped = DDP(lin)
(wrapped(local).sum()).backward()
assert np.allclose(lin.weight.grad.numpy(), 2.0 * (n + 1) / 2)

# a parameter that gets no gradient: the next forward says which
two = nn.ModuleDict({"used": nn.Linear(2, 2), "unused": nn.Linear(2, 2)})


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.parts = two

    def forward(self, x):
        return self.parts["used"](x)


strict = DDP(Two())
strict(cr.ones(1, 2)).sum().backward()
try:
    strict(cr.ones(1, 2))
except RuntimeError as err:
    assert "parts.unused.weight" in str(err) and "find_unused_parameters" in str(err), str(err)
else:
    raise AssertionError("no error for an unused parameter")

# find_unused_parameters: unused on every rank -> grad stays None; used on one rank -> averaged
class Branch(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 1), nn.Linear(2, 1)
        self.c = nn.Linear(2, 1)

    def forward(self, x):
        return self.a(x) + (self.b(x) if r == 0 else 0.0)


branch = Branch()
loose = DDP(branch, find_unused_parameters=True)
loose(cr.ones(1, 2)).sum().backward()
assert branch.c.weight.grad is None
assert branch.b.weight.grad is not None and np.allclose(branch.b.weight.grad.numpy(), 1.0 / n)
assert np.allclose(branch.a.weight.grad.numpy(), 1.0)

# no_sync: local accumulation, averaged by the next synchronised backward
acc = nn.Linear(1, 1, bias=False)
acc_ddp = DDP(acc)
with acc_ddp.no_sync():
    acc_ddp(cr.tensor([[float(r)]])).sum().backward()
assert acc.weight.grad.item() == float(r)
acc_ddp(cr.tensor([[1.0]])).sum().backward()
assert acc.weight.grad.item() == sum(range(n)) / n + 1.0

# reduce_gradients by hand (after autograd without the wrapper)
acc.weight.grad = None
acc(cr.tensor([[float(r)]])).sum().backward()
acc_ddp.reduce_gradients()
assert acc.weight.grad.item() == sum(range(n)) / n

# a model that differs between ranks is refused on every rank
try:
    DDP(nn.Linear(2, 2 + (r == n - 1)))
except ValueError as err:
    assert f"rank {n - 1}'s model differs" in str(err), str(err)
else:
    raise AssertionError("no error for different models")
if r == 0:
    print("ddp ok")
