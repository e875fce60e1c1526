"""The world of processes: how many there are (the world size), which one this is (its rank).

A program started by ``mpiexec -n N`` runs as N processes that differ only in their rank,
0 .. N - 1. MPI's launchers tell each process so through its environment (MPICH and Intel MPI:
``PMI_RANK`` and ``PMI_SIZE``; Open MPI: ``OMPI_COMM_WORLD_SIZE``; Slurm's PMIx:
``PMIX_RANK``), so a plain ``python script.py`` is recognised without importing mpi4py, and is a
world of one process where every collective operation returns at once.
"""

from __future__ import annotations

import os

__all__ = ["init", "is_initialized", "is_mpi_launched", "is_available", "rank", "world_size",
           "communicator", "destroy"]

# Set by MPI launchers in every process they start (MPICH's Hydra sets the first three).
LAUNCH_VARIABLES = ("PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS", "OMPI_COMM_WORLD_SIZE",
                    "PMIX_RANK")

_state = {"initialized": False, "comm": None}


def is_mpi_launched() -> bool:
    """True when this process was started by an MPI launcher (``mpiexec``, ``srun``).

    Decided from the environment alone (any of :data:`LAUNCH_VARIABLES` is set), so the answer
    costs nothing and never imports mpi4py.
    """
    return any(name in os.environ for name in LAUNCH_VARIABLES)


def is_available() -> bool:
    """True when mpi4py is installed, so that a launch under ``mpiexec`` can communicate
    (PyTorch's ``torch.distributed.is_available``)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def init() -> None:
    """Join the world of processes: MPI's ``COMM_WORLD`` under a launcher, else a world of one.

    Idempotent; :func:`rank`, :func:`world_size` and the collectives call it on first use, so
    calling it is optional (PyTorch's ``init_process_group`` with the MPI backend).

    Raises:
        ImportError: launched under MPI, but mpi4py is not installed.
    """
    if _state["initialized"]:
        return
    if is_mpi_launched():
        try:
            from mpi4py import MPI
        except ImportError:
            raise ImportError("this process was started by an MPI launcher (PMI_RANK or "
                              "OMPI_COMM_WORLD_SIZE is set) but mpi4py is not installed: pip "
                              "install 'chainrule[distributed]'") from None
        _state["comm"] = MPI.COMM_WORLD
    _state["initialized"] = True


def destroy() -> None:
    """Leave the world (PyTorch's ``destroy_process_group``): :func:`is_initialized` is False
    again until the next :func:`init`. MPI itself is finalised by mpi4py when the process
    exits, so a later :func:`init` in the same process joins the same world again."""
    _state["initialized"], _state["comm"] = False, None


def is_initialized() -> bool:
    """True once :func:`init` has run (explicitly, or on the first collective or query)."""
    return _state["initialized"]


def communicator():
    """mpi4py's ``COMM_WORLD`` in an MPI launch, None in a world of one process."""
    init()
    return _state["comm"]


def rank() -> int:
    """This process's rank r in 0 .. world_size() - 1 (0 when not launched under MPI)."""
    comm = communicator()
    return 0 if comm is None else comm.Get_rank()


def world_size() -> int:
    """The number of processes N taking part (1 when not launched under MPI)."""
    comm = communicator()
    return 1 if comm is None else comm.Get_size()
