"""One epoch of a 784-256-128-10 ReLU MLP, chainrule against PyTorch in the same run.

60,000 random samples, batch 128, SGD with momentum 0.9, cross-entropy, float32. Each round
trains one epoch in each framework, alternating; the ratio of the median epoch times is printed.

Usage: python benchmarks/mlp.py [--samples 60000] [--rounds 3]
"""

from __future__ import annotations

import argparse

from common import (
    add_common_arguments,
    as_batches,
    describe_machine,
    interleaved,
    limit_threads,
    report,
    training_steps,
    try_import_torch,
)
from workloads import classification_data, mlp_model

import chainrule as cr


def epoch(lib, x, y, batch=128):
    """One epoch of the MLP in ``lib`` (chainrule or torch): the same code for both."""
    lib.manual_seed(0)
    nn = lib.nn
    model = mlp_model(nn)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = as_batches(lib, x, y, batch)
    return training_steps(lib, model, opt, nn.CrossEntropyLoss(), batches)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    torch = try_import_torch()
    _limits = limit_threads(args.threads, torch)  # noqa: F841 - held for the whole run
    print(describe_machine(torch))
    x, y = classification_data(args.samples, (784,))
    runs = {"chainrule": epoch(cr, x, y)}
    if torch is not None:
        runs["pytorch"] = epoch(torch, x, y)
    medians = interleaved(runs, args.rounds)
    report(f"784-256-128-10 ReLU MLP, batch 128, SGD momentum, {args.samples} samples",
           medians, "epoch", scale=1.0, suffix="s")


if __name__ == "__main__":
    main()
