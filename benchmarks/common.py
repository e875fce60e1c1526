"""Shared pieces of the benchmarks: the machine's BLAS configuration and interleaved timing.

The machine's speed drifts by tens of percent over minutes, so chainrule and PyTorch are timed in
alternating rounds of the same workload in one process, and the ratio of medians is reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np


def try_import_torch():
    """PyTorch if it is installed, else None (the benchmark then reports chainrule alone)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def limit_threads(n, torch=None):
    """Run NumPy's BLAS and PyTorch on ``n`` threads each (None leaves both as they are).

    Returns an object to keep alive while the limit should hold.
    """
    if n is None:
        return None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed: NumPy's BLAS threads are not limited")
        return None
    return threadpool_limits(limits=n)


def add_common_arguments(parser) -> None:
    """The options every benchmark takes."""
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for PyTorch (default: as configured)")


def describe_machine(torch=None) -> str:
    """One paragraph on the CPU, NumPy's BLAS and thread settings, and PyTorch's."""
    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"{os.cpu_count()} cpus, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            lines.append(f"  {pool.get('internal_api')} {pool.get('version')} "
                         f"({pool.get('architecture')}), {pool.get('num_threads')} threads, "
                         f"{os.path.basename(pool.get('filepath', ''))}")
    except ImportError:
        lines.append("  (install threadpoolctl to see the BLAS configuration)")
    if torch is not None:
        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    return "\n".join(lines)


def training_step(model, optimizer, loss_fn, batches):
    """A function ``step(i)``: one training step on batch ``i % len(batches)``, returning the loss.

    The same code drives chainrule and PyTorch: the two share the names and semantics of the
    training loop.
    """

    def step(i):
        x, y = batches[i % len(batches)]
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def training_steps(lib, model, optimizer, loss_fn, batches):
    """A function ``run(steps)`` doing ``steps`` training steps over ``batches``, cycling.

    ``lib`` (``chainrule`` or ``torch``) is not used: the loop is the same for both. ``run()``
    makes one pass over the batches and returns the last loss as a float.
    """
    step = training_step(model, optimizer, loss_fn, batches)

    def run(steps=None):
        for i in range(len(batches) if steps is None else steps):
            loss = step(i)
        return loss.item()

    return run


def as_batches(lib, x, y, batch):
    """Cut NumPy arrays into (input, target) tensors of ``lib`` (sharing memory where it can)."""
    convert = lib.from_numpy
    return [(convert(x[i:i + batch]), convert(y[i:i + batch])) for i in range(0, len(x), batch)]


def interleaved(workloads: dict, rounds: int = 5, clock=time.perf_counter) -> dict:
    """Time each callable of ``workloads`` once per round, alternating; return median seconds.

    ``clock`` is wall-clock time by default; ``time.process_time`` (the CPU time of this
    process) is disturbed less by other programs on the machine.
    """
    times = {name: [] for name in workloads}
    for _ in range(rounds):
        for name, fn in workloads.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, per_unit: dict, unit: str, scale: float = 1e6, suffix: str = "us") -> None:
    """Print the timings of ``per_unit`` (seconds per ``unit``) and the chainrule/PyTorch ratio."""
    print(f"\n{title}")
    for name, seconds in per_unit.items():
        print(f"  {name:<10} {seconds * scale:10.4g} {suffix} per {unit}")
    if "chainrule" in per_unit and "pytorch" in per_unit:
        print(f"  ratio chainrule/pytorch: {per_unit['chainrule'] / per_unit['pytorch']:.2f}x")


def peak_step_memory(step) -> int:
    """Bytes allocated at the peak of one call of ``step`` (after a warm-up call).

    tracemalloc sees NumPy's buffers, hence chainrule's; PyTorch allocates outside its view.
    """
    step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def stepped_benchmark(description: str, steps: int, quick_steps: int, argv=None):
    """Parse the options of a benchmark that times rounds of training steps, limit threads and
    print the machine; returns ``(args, torch, limits, clock)`` (keep ``limits`` alive)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=steps, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="time by the CPU time of this process or by wall-clock time")
    parser.add_argument("--quick", action="store_true",
                        help=f"{quick_steps} steps, 1 round (a smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = quick_steps, 1
    torch = try_import_torch()
    limits = limit_threads(args.threads, torch)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(describe_machine(torch))
    print(f"timing by {'CPU' if args.clock == 'cpu' else 'wall-clock'} time, medians of "
          f"{args.rounds} alternating rounds")
    return args, torch, limits, clock
