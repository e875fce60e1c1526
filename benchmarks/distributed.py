"""Data-parallel scaling on this machine: one epoch of an MLP on 1 rank and on N ranks.

The 784-256-128-10 ReLU MLP of benchmarks/mlp.py, SGD with momentum, a global batch of 128:
on N ranks each rank takes 128 / N rows of every batch and DistributedDataParallel averages the
gradients (one all-reduce of all 235,146 gradients per step). Each configuration is one
``mpiexec -n N python -m mpi4py benchmarks/distributed.py --worker`` job, timed by the wall
clock from a barrier before the epoch to a barrier after it (model and data built first), the
median of ``--rounds`` jobs run in turn. Reported: seconds per epoch, samples per second, the
speedup over 1 rank with 1 BLAS thread, the efficiency speedup / N, the bytes all-reduced per
step, and the time of one such all-reduce alone.

Configurations: 1 rank with 1 BLAS thread (the baseline), 1 rank with as many BLAS threads as
cores (what one process gets by itself), N ranks with 1 BLAS thread each (OPENBLAS_NUM_THREADS=1
per rank, so that the ranks do not fight over the cores), and 1 rank doing one rank's share
(128 / N rows per step) without communicating: the time N ranks would take if communication
and waiting were free.

Usage: python benchmarks/distributed.py [--ranks 2] [--samples 20000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
from common import describe_machine
from workloads import classification_data, mlp_model

MARKER = "distributed result: "


def worker(samples: int, batch: int, share_of: int) -> None:
    """One epoch on this rank's shards (or, with ``share_of`` N, rank 0's shards of N ranks,
    alone); rank 0 prints the result as a JSON line."""
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule.distributed.buckets import all_reduce_arrays

    rank, world = dist.rank(), share_of or dist.world_size()
    cr.manual_seed(0)
    model = mlp_model(cr.nn)
    ddp = cr.nn.parallel.DistributedDataParallel(model)
    opt = cr.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    loss_fn = cr.nn.CrossEntropyLoss()
    x, y = classification_data(samples, (784,))
    lo, hi = batch * rank // world, batch * (rank + 1) // world
    shards = [(cr.from_numpy(x[i + lo:i + hi]), cr.from_numpy(y[i + lo:i + hi]))
              for i in range(0, samples - batch + 1, batch)]
    grads = [np.zeros(p.shape, dtype=np.float32) for p in model.parameters()]
    bytes_per_step = sum(g.nbytes for g in grads) + 4 * len(grads)  # + one flag per parameter
    dist.barrier()
    start = time.perf_counter()
    for xb, yb in shards:
        opt.zero_grad()
        loss_fn(ddp(xb), yb).backward()
        opt.step()
    dist.barrier()
    seconds = time.perf_counter() - start
    reduce_seconds = []
    for _ in range(20):  # the all-reduce alone, as DDP makes it
        dist.barrier()
        begin = time.perf_counter()
        all_reduce_arrays([*grads, np.zeros(len(grads), dtype=np.float32)])
        reduce_seconds.append(time.perf_counter() - begin)
    if rank == 0:
        print(MARKER + json.dumps({"seconds": seconds, "steps": len(shards),
                                   "samples": len(shards) * batch, "bytes": bytes_per_step,
                                   "reduce": statistics.median(reduce_seconds)}), flush=True)


def run(ranks: int, threads: int, samples: int, batch: int, share_of: int = 0) -> dict:
    """One job of ``ranks`` processes with ``threads`` BLAS threads each; its result."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    command = [shutil.which("mpiexec"), "-n", str(ranks), sys.executable, "-m", "mpi4py",
               os.path.abspath(__file__), "--worker", "--samples", str(samples),
               "--batch", str(batch), "--share-of", str(share_of)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    line = next(li for li in done.stdout.splitlines() if li.startswith(MARKER))
    return json.loads(line[len(MARKER):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2, help="N, the ranks to compare with 1")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=128, help="the global batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,560 samples, 1 round")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--share-of", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.samples, args.batch, args.share_of)
    if args.quick:
        args.samples, args.rounds = 2_560, 1
    if shutil.which("mpiexec") is None:
        sys.exit("benchmarks/distributed.py needs mpiexec: pip install 'chainrule[distributed]'")
    print(describe_machine())
    cores = os.cpu_count() or 1
    configs = [(1, 1, 0), (1, cores, 0), (args.ranks, 1, 0), (1, 1, args.ranks)]
    results = {c: [] for c in configs}
    for _ in range(args.rounds):  # the configurations in turn, so drift affects all alike
        for config in configs:
            results[config].append(run(*config[:2], args.samples, args.batch, config[2]))
    print(f"\n784-256-128-10 ReLU MLP, SGD momentum, global batch {args.batch}, "
          f"{args.samples} samples, wall clock, median of {args.rounds}")
    print(f"  {'configuration':<28}{'s/epoch':>9}{'samples/s':>11}{'speedup':>9}"
          f"{'efficiency':>12}")
    base = None
    for (ranks, threads, share_of), rounds in results.items():
        seconds = statistics.median(r["seconds"] for r in rounds)
        base = base or seconds
        speedup = base / seconds
        label = f"{ranks} rank{'s' if ranks > 1 else ''} x {threads} BLAS thread" + \
            ("s" if threads > 1 else "")
        if share_of:
            label, ranks = f"1 rank's share of {share_of}, alone", share_of
        print(f"  {label:<28}{seconds:9.2f}{rounds[0]['samples'] / seconds:11.0f}"
              f"{speedup:9.2f}{speedup / ranks:12.2f}")
    last = results[configs[2]]
    print(f"  all-reduced per step: {last[0]['bytes'] / 1e6:.2f} MB in one call "
          f"({last[0]['steps']} steps per epoch); one such all-reduce alone on "
          f"{args.ranks} ranks: {statistics.median(r['reduce'] for r in last) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
