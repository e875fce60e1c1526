"""A plain ``python`` run is a world of one process: every collective returns at once, and
mpi4py is never imported."""

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn

from .conftest import mpi_environment

pytestmark = pytest.mark.skipif(dist.is_mpi_launched(), reason="the tests run under mpiexec")


def test_a_plain_run_is_a_world_of_one():
    assert (dist.rank(), dist.world_size()) == (0, 1)
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    dist.init_process_group("mpi")
    dist.init_process_group("gloo", rank=0, world_size=1, init_method="tcp://127.0.0.1:29500")
    assert dist.is_initialized()
    t = cr.tensor([1.0, 2.0])
    assert dist.all_reduce(t) is None and t.tolist() == [1.0, 2.0]
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    dist.broadcast(t, src=0)
    dist.barrier()
    assert t.tolist() == [1.0, 2.0]
    objects = [None]
    dist.all_gather_object(objects, {"a": 1})
    assert objects == [{"a": 1}]


def test_mpi4py_is_not_imported_without_a_launcher():
    code = ("import sys, chainrule as cr; cr.nn.parallel; cr.data.DistributedSampler; "
            "cr.distributed.all_reduce(cr.ones(2)); print('mpi4py' in sys.modules)")
    env = mpi_environment()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_launch_detection_reads_the_environment(monkeypatch):
    for name in dist.world.LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not dist.is_mpi_launched()
    monkeypatch.setenv("PMI_RANK", "0")
    assert dist.is_mpi_launched()


@pytest.mark.parametrize("call, message", [
    (lambda: dist.all_reduce(cr.ones(2), op="avgerage"), "unknown op 'avgerage'"),
    (lambda: dist.all_reduce(cr.ones(2, dtype=cr.int64), op="mean"), "needs a floating"),
    (lambda: dist.all_reduce(cr.ones(3, 2).T), "not contiguous"),
    (lambda: dist.all_reduce(cr.ones(2, dtype=cr.bool_)), "dtype bool is not supported"),
    (lambda: dist.all_reduce([1.0, 2.0]), "expected a Tensor, got list"),
    (lambda: dist.broadcast(cr.ones(2), src=1), "src must be a rank in 0 .. 0, got 1"),
    (lambda: dist.broadcast(cr.ones(2), src=-1), "src must be a rank"),
    (lambda: dist.init_process_group("nccl"), "communicates through MPI"),
    (lambda: dist.init_process_group("gloo", rank=1, world_size=2),
     "rank=1 but the MPI launcher gives rank 0"),
])
def test_bad_arguments_raise_clear_errors_in_a_world_of_one(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ddp_in_a_world_of_one_only_delegates():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ddp = nn.parallel.DistributedDataParallel(model)
    x = cr.randn(4, 3)
    out = ddp(x)
    assert np.array_equal(out.numpy(), model(x).numpy())
    out.sum().backward()
    grad = model[0].weight.grad.numpy().copy()
    ddp.reduce_gradients()
    assert np.array_equal(model[0].weight.grad.numpy(), grad)
    assert list(ddp.state_dict()) == [f"module.{k}" for k in model.state_dict()]
    assert ddp.module is model and len(list(ddp.parameters())) == 4
    with pytest.raises(ValueError, match="process_group=None"):
        nn.parallel.DistributedDataParallel(model, process_group="group")

