"""Random numbers in data-parallel steps: a stream of each rank's own (dropout masks differ
between shards), while the global generator stays the same on every rank. Prints "random ok".
"""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.train import Trainer

draws = []


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        draws.append(cr.rand(1).item())
        return self.dropout(self.linear(x))


cr.manual_seed(0)
model = Noisy()
trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))
X, y = cr.datasets.make_moons(64, seed=0)
trainer.fit((X, y), epochs=2, batch_size=16, seed=0, verbose=0)
gathered = [None] * dist.world_size()
dist.all_gather_object(gathered, (draws, cr.get_rng_state()))
assert all(g[1] == gathered[0][1] for g in gathered)                       # one global stream
assert all(np.all(np.array(g[0]) != np.array(gathered[0][0])) for g in gathered[1:])  # own draws
if dist.rank() == 0:
    print("random ok")
