"""Training on a GPU: chainrule (through CuPy) against PyTorch CUDA, on the same workloads.

MLP, LeNet-5, LSTM and the GPT step of ``workloads.py``, built on ``cuda`` for both frameworks
from the same lines, warmed up, then timed by the wall clock over ``--steps`` steps in
alternating rounds; ``loss.item()`` at the end of each run waits for the GPU. Prints the GPU,
the times per step and the ratio chainrule/PyTorch (below 1 means chainrule is faster).

Usage: python benchmarks/gpu.py [--steps 20] [--rounds 3] [--workloads mlp lenet lstm gpt]
Without CuPy and a CUDA GPU (or without PyTorch's CUDA build) it says so and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

from common import interleaved, report, try_import_torch
from workloads import build

import chainrule as cr

GPU_WORKLOADS = ("mlp", "lenet", "lstm", "gpt")


def runner(step):
    """``run(n)``: n steps, then wait for the device by reading the last loss."""

    def run(n):
        for i in range(n):
            loss = step(i)
        return loss.item()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", choices=GPU_WORKLOADS, default=GPU_WORKLOADS)
    args = parser.parse_args(argv)
    if not cr.cuda.is_available():
        print("no GPU: chainrule needs CuPy and a CUDA device (pip install 'chainrule[gpu]')")
        return 1
    import cupy

    print(f"GPU: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}, "
          f"CuPy {cupy.__version__}")
    torch = try_import_torch()
    if torch is not None and not torch.cuda.is_available():
        print("PyTorch has no CUDA device here: chainrule's times only")
        torch = None
    results = {}
    for name in args.workloads:
        runs = {"chainrule": runner(build(name, cr, device="cuda")[0])}
        if torch is not None:
            runs["pytorch"] = runner(build(name, torch, device="cuda")[0])
        for run in runs.values():
            run(3)  # warm-up: kernels compiled, memory pools filled
        times = interleaved({k: (lambda run=run: run(args.steps)) for k, run in runs.items()},
                            args.rounds)
        per_step = {k: t / args.steps for k, t in times.items()}
        report(f"{name} training step on the GPU", per_step, "step", 1e3, "ms")
        results[name] = per_step
    return results


if __name__ == "__main__":
    sys.exit(0 if isinstance(main(), dict) else 1)
