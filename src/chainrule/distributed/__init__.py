"""`chainrule.distributed`: several processes training one model, over MPI (PyTorch's names).

Started with ``mpiexec -n N python script.py``, a script runs as N processes, its ranks
0 .. N - 1; started with plain ``python`` it is a world of one, where every collective returns
at once, so the same script runs both ways. mpi4py (``pip install 'chainrule[distributed]'``) is
imported only under an MPI launcher.

- the world: :func:`init`, :func:`rank`, :func:`world_size`, :func:`is_initialized`,
  :func:`is_mpi_launched`, :func:`is_available` (and PyTorch's ``get_rank``,
  ``get_world_size``, ``init_process_group``);
- collectives on Tensors, checked: :func:`all_reduce` (sum, mean, max, min, product),
  :func:`broadcast`, :func:`barrier`, :func:`all_gather_object`;
- differentiable collectives: :mod:`chainrule.distributed.functional`;
- for models: ``cr.nn.parallel.DistributedDataParallel``, ``cr.nn.SyncBatchNorm`` and
  ``cr.data.DistributedSampler``; ``Trainer.fit`` uses them by itself under ``mpiexec``.

Example (``mpiexec -n 4 python -m mpi4py train.py``)::

    import chainrule as cr
    from chainrule import distributed as dist

    model = cr.nn.parallel.DistributedDataParallel(make_model())   # rank 0's weights
    sampler = cr.data.DistributedSampler(dataset, shuffle=True, seed=0)
    loader = cr.data.DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(10):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()     # gradients averaged over the ranks
            optimizer.step()
    if dist.rank() == 0:
        cr.save(model.module.state_dict(), "model.safetensors")
"""

from chainrule.distributed import functional  # noqa: F401
from chainrule.distributed.collectives import (  # noqa: F401
    ReduceOp,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
)
from chainrule.distributed.world import (  # noqa: F401
    destroy,
    init,
    is_available,
    is_initialized,
    is_mpi_launched,
    rank,
    world_size,
)


def init_process_group(backend: str = "mpi", rank: int | None = None,
                       world_size: int | None = None, **kwargs) -> None:
    """PyTorch's name for :func:`init`. Communication goes through MPI: ``"gloo"`` (PyTorch's
    CPU backend) is accepted, so CPU scripts run unchanged, and means the same collectives over
    MPI; ``"nccl"`` is refused. The rank and world size come from the MPI launcher: ``rank``
    and ``world_size``, when given, must agree with it (``init_method`` and the other PyTorch
    arguments are not needed and are ignored)."""
    if backend not in ("mpi", "gloo"):
        raise ValueError(f"init_process_group: chainrule communicates through MPI ('mpi', or "
                         f"'gloo' for PyTorch's CPU scripts), got backend={backend!r}; launch "
                         "with mpiexec")
    init()
    for name, given, actual in (("rank", rank, get_rank()),
                                ("world_size", world_size, get_world_size())):
        if given is not None and given != actual:
            raise ValueError(f"init_process_group: {name}={given} but the MPI launcher gives "
                             f"{name} {actual}; start the script with mpiexec -n N")


def destroy_process_group() -> None:
    """PyTorch's name for :func:`destroy`."""
    destroy()


def get_rank() -> int:
    """PyTorch's name for :func:`rank`."""
    return rank()


def get_world_size() -> int:
    """PyTorch's name for :func:`world_size`."""
    return world_size()


__all__ = ["init", "init_process_group", "destroy", "destroy_process_group", "is_initialized",
           "is_available", "is_mpi_launched", "rank", "get_rank", "world_size",
           "get_world_size", "ReduceOp", "all_reduce", "broadcast", "barrier",
           "all_gather_object", "functional"]
