"""One rank raises while the others wait in a collective: the launch must end, not hang.

    mpiexec -n 2 python -m mpi4py failure.py collective   # rank 1 raises before an all_reduce
    mpiexec -n 2 python -m mpi4py failure.py fit          # rank 1 raises in the 3rd batch of fit
"""

import sys

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.train import LambdaCallback, Trainer

r = dist.rank()
if sys.argv[1] == "collective":
    if r == 1:
        raise RuntimeError("rank 1 failed on purpose")
    dist.all_reduce(cr.ones(3))
else:
    def fail(batch, logs):
        if r == 1 and batch == 2:
            raise RuntimeError("rank 1 failed on purpose in fit")

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[LambdaCallback(on_train_batch_end=fail)])
    X, y = cr.datasets.make_moons(200, seed=0)
    trainer.fit((X, y), epochs=3, batch_size=16, seed=0, verbose=0)
print("not reached")
