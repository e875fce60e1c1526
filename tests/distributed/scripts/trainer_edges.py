"""Run under mpiexec: a last batch smaller than the world, a buffer, SyncBatchNorm and gradient
clipping end in identical replicas without a hang; DDP averages in eval() mode too; Trainer
refuses a DistributedSampler loader. Prints "edges ok"."""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.train import Trainer


def same_on_every_rank(array) -> bool:
    gathered = [None] * dist.world_size()
    dist.all_gather_object(gathered, array)
    return all(np.array_equal(a, gathered[0]) for a in gathered)


for clip in (None, 1e-3):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5),
                      gradient_clip_val=clip)
    X, y = cr.datasets.make_moons(22, noise=0.2, seed=0)  # batches of 10, 10 and 2 on 3 ranks
    trainer.fit((X, y), epochs=2, batch_size=10, seed=0, verbose=0)
    for name, value in model.state_dict().items():
        assert same_on_every_rank(value.numpy()), (clip, name)

cr.manual_seed(0)
layer = nn.Linear(3, 1)
ddp = nn.parallel.DistributedDataParallel(layer)
ddp.eval()
ddp(cr.ones(2, 3) * (dist.rank() + 1)).sum().backward()
expected = 2.0 * np.mean([r + 1 for r in range(dist.world_size())])
assert np.allclose(layer.weight.grad.numpy(), expected), layer.weight.grad.numpy()

data = TensorDataset(cr.randn(12, 2), cr.zeros(12, dtype=cr.int64))
loader = DataLoader(data, batch_size=4, sampler=DistributedSampler(data, shuffle=False))
trainer = Trainer(nn.Linear(2, 2), nn.CrossEntropyLoss(), optim.SGD([cr.zeros(1)], lr=0.1))
try:
    trainer.fit(loader, epochs=1, verbose=0)
except ValueError as err:
    assert "without DistributedSampler" in str(err), err
else:
    raise AssertionError("a DistributedSampler loader was accepted")
print("edges ok", flush=True)
