"""Data-parallel training written as PyTorch's DDP tutorial writes it, run as one process.

init_process_group with the CPU backend, DistributedDataParallel around the model, a
DistributedSampler feeding the DataLoader with set_epoch every epoch, an all_reduce of the
epoch's loss, the wrapped model's state_dict (keys prefixed with "module.") and the inner
module's, then destroy_process_group. Under a launcher the same script runs on N processes.
"""

import os
import tempfile

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

TOLERANCE = 1e-4
CONVERGED_BELOW = {"final_loss": 0.3}

init_file = os.path.join(tempfile.mkdtemp(), "init")
dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=0, world_size=1)
rank, world_size = dist.get_rank(), dist.get_world_size()

torch.manual_seed(0)
x = torch.randn(256, 4)
y = (x[:, 0] * x[:, 1] > 0).long()
dataset = TensorDataset(x, y)
sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=False)
loader = DataLoader(dataset, batch_size=32, sampler=sampler)

model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))
ddp_model = DDP(model)
optimizer = torch.optim.SGD(ddp_model.parameters(), lr=0.1, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(15):
    sampler.set_epoch(epoch)
    total = torch.zeros(1)
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(ddp_model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(xb)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    epoch_loss = total.item() / len(dataset)

keys = list(ddp_model.state_dict().keys())
inner = model.state_dict()
with torch.no_grad():
    accuracy = (ddp_model(x).argmax(dim=1) == y).float().mean().item()
dist.destroy_process_group()

print(f"RESULT final_loss={epoch_loss!r}")
print(f"RESULT accuracy={accuracy!r}")
print(f"RESULT world_size={float(world_size)!r}")
print(f"RESULT prefixed_keys={float(all(k.startswith('module.') for k in keys))!r}")
print(f"RESULT inner_keys={float(len(inner))!r}")
print(f"RESULT batches_per_epoch={float(len(loader))!r}")
