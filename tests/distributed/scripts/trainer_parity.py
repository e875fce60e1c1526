"""Trainer.fit on the ranks of a launch (or in one process) on moons; rank 0 saves OUT.npz with
the final weights, the history and which ranks ran a rank_zero_only callback.

    mpiexec -n 3 python -m mpi4py trainer_parity.py OUT.npz
"""

import sys

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.train import Callback, EarlyStopping, Trainer


class Marker(Callback):
    """Records the ranks it runs on: [rank] here, gathered at the end."""

    rank_zero_only = True
    ran = False

    def on_epoch_end(self, epoch, logs=None):
        Marker.ran = True


cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 16, bias=False), nn.BatchNorm1d(16), nn.Tanh(),
                      nn.Linear(16, 2))
model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # BatchNorm of the global batch
trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.2,
                                                          momentum=0.9),
                  metrics=["accuracy", "f1"], callbacks=[Marker(), EarlyStopping(patience=50)])
X, y = cr.datasets.make_moons(230, noise=0.2, seed=0)
history = trainer.fit((X[:200], y[:200]), val=(X[200:], y[200:]), epochs=3, batch_size=10,
                      seed=0, verbose=0)
ran = [None] * dist.world_size()
dist.all_gather_object(ran, Marker.ran)
if dist.rank() == 0:
    logs = {f"log_{k}": np.asarray(v) for k, v in history.history.items()}
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    np.savez(sys.argv[1], ran=np.asarray(ran), **logs, **state)
