"""One epoch of a 784-256-128-10 ReLU MLP, chainrule against PyTorch in the same run.

60,000 random samples, batch 128, SGD with momentum 0.9, cross-entropy, float32. Each round
trains one epoch in each framework, alternating; the ratio of the median epoch times is printed.

Usage: python benchmarks/mlp.py [--samples 60000] [--rounds 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import (
    add_common_arguments,
    describe_machine,
    interleaved,
    limit_threads,
    report,
    try_import_torch,
)

import chainrule as cr


def make_data(samples, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, samples).astype(np.int64)
    return x, y


def chainrule_epoch(x, y, batch=128):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(784, 256), cr.nn.ReLU(), cr.nn.Linear(256, 128),
                             cr.nn.ReLU(), cr.nn.Linear(128, 10))
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = cr.nn.CrossEntropyLoss()
    batches = [(cr.tensor(x[i:i + batch]), cr.tensor(y[i:i + batch]))
               for i in range(0, len(x), batch)]

    def run():
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    return run


def torch_epoch(torch, x, y, batch=128):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(x[i:i + batch]), torch.from_numpy(y[i:i + batch]))
               for i in range(0, len(x), batch)]

    def run():
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    torch = try_import_torch()
    _limits = limit_threads(args.threads, torch)  # noqa: F841 - held for the whole run
    print(describe_machine(torch))
    x, y = make_data(args.samples)
    runs = {"chainrule": chainrule_epoch(x, y)}
    if torch is not None:
        runs["pytorch"] = torch_epoch(torch, x, y)
    medians = interleaved(runs, args.rounds)
    report(f"784-256-128-10 ReLU MLP, batch 128, SGD momentum, {args.samples} samples",
           medians, "epoch", scale=1.0, suffix="s")


if __name__ == "__main__":
    main()
