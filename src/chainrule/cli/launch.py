"""``chainrule train --nproc N``: the same command again, in N processes under ``mpiexec``.

The command's own arguments (less ``--nproc``) are written back as a command line and run as
``mpiexec -n N python -m mpi4py -m chainrule train ...``; the N processes then train
data-parallel (:mod:`chainrule.distributed`), rank 0 alone writing and printing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from chainrule import distributed
from chainrule.cli import UsageError


def launch_argv(args) -> list:
    """The ``train`` arguments of ``args`` as a command line, without ``--nproc``."""
    argv = []
    for key, value in vars(args).items():
        if key in ("command", "nproc") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        else:
            for item in value if isinstance(value, list) else [value]:
                argv += [flag, str(item)]
    return argv


def launch(args) -> int:
    """``train --nproc N``: run this command in N processes under ``mpiexec``; its exit status.

    ``python -m mpi4py`` makes an exception on one rank abort the whole job (instead of the other
    ranks waiting for it forever).
    """
    if not distributed.is_available():
        raise UsageError("--nproc needs mpi4py: pip install 'chainrule[distributed]'")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise UsageError("--nproc needs the mpiexec command of an MPI library on the PATH "
                         "(pip install 'chainrule[distributed]' brings MPICH's)")
    command = [mpiexec, "-n", str(args.nproc), sys.executable, "-m", "mpi4py", "-m",
               "chainrule", "train", *launch_argv(args)]
    return subprocess.call(command)
