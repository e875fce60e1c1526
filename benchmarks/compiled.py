"""``cr.compile`` against eager chainrule and eager PyTorch, in the same run.

(a) The 2-16-16-1 tanh MLP of overhead.py, batch 32, plain SGD and MSE, 10,000 steps each: the
    framework's per-operation overhead dominates, which is what a compiled step removes.
(b) One epoch of the 784-256-128-10 ReLU MLP of mlp.py (batch 128, SGD momentum), where NumPy's
    work dominates.

Each round runs every variant once, alternating; the medians of the CPU time of the process
(``time.process_time``) are compared. The goal for (a) is compiled chainrule <= 0.2x PyTorch.

Usage: python benchmarks/compiled.py [--steps 10000] [--rounds 5] [--samples 60000]
       [--threads 1]
"""

from __future__ import annotations

import argparse
import time

from common import (
    add_common_arguments,
    as_batches,
    describe_machine,
    interleaved,
    limit_threads,
    training_steps,
    try_import_torch,
)
from workloads import classification_data, mlp_model, regression_data, tiny_mlp_model

import chainrule as cr


def compiled_steps(model, optimizer, loss_fn, batches):
    """Like ``common.training_steps``, with the step compiled by ``cr.compile``."""

    @cr.compile
    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    def run(steps=None):
        for i in range(len(batches) if steps is None else steps):
            loss = train_step(*batches[i % len(batches)])
        return loss.item()

    return run


def tiny(lib, x, y, compiled=False):
    """``run(steps)`` training the tiny MLP in ``lib`` (chainrule or torch)."""
    lib.manual_seed(0)
    model = tiny_mlp_model(lib.nn)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    batches = [(lib.from_numpy(xb), lib.from_numpy(yb)) for xb, yb in zip(x, y)]
    steps = compiled_steps if compiled else training_steps
    return steps(*((model, opt, lib.nn.MSELoss(), batches) if compiled else
                   (lib, model, opt, lib.nn.MSELoss(), batches)))


def mlp_epoch(lib, x, y, compiled=False):
    """``run()`` training one epoch of the 784-256-128-10 MLP in ``lib``."""
    lib.manual_seed(0)
    model = mlp_model(lib.nn)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = as_batches(lib, x, y, 128)
    if compiled:
        return compiled_steps(model, opt, lib.nn.CrossEntropyLoss(), batches)
    return training_steps(lib, model, opt, lib.nn.CrossEntropyLoss(), batches)


def show(title, seconds: dict, unit: str, scale: float, suffix: str) -> None:
    print(f"\n{title}")
    for name, s in seconds.items():
        print(f"  {name:<20} {s * scale:10.4g} {suffix} per {unit}")
    pairs = [("compiled chainrule", "eager chainrule"), ("eager chainrule", "pytorch"),
             ("compiled chainrule", "pytorch")]
    for a, b in pairs:
        if a in seconds and b in seconds:
            print(f"  ratio {a} / {b}: {seconds[a] / seconds[b]:.3f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="tiny-MLP steps per variant")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    parser.add_argument("--samples", type=int, default=60_000, help="MLP epoch samples (0: skip)")
    add_common_arguments(parser)
    parser.set_defaults(threads=1)
    args = parser.parse_args(argv)
    torch = try_import_torch()
    _limits = limit_threads(args.threads, torch)  # noqa: F841 - held for the whole run
    print(describe_machine(torch))

    x, y = regression_data()
    per_round = max(args.steps // args.rounds, 1)
    runs = {"eager chainrule": tiny(cr, x, y), "compiled chainrule": tiny(cr, x, y, True)}
    if torch is not None:
        runs["pytorch"] = tiny(torch, x, y)
    for run in runs.values():  # warm-up (and the compiled step's trace)
        run(200)
    medians = interleaved({k: (lambda r=r: r(per_round)) for k, r in runs.items()},
                          args.rounds, clock=time.process_time)
    show(f"(a) 2-16-16-1 tanh MLP, batch 32, SGD: {per_round * args.rounds} steps each",
         {k: v / per_round for k, v in medians.items()}, "step", 1e6, "us")

    if args.samples:
        x, y = classification_data(args.samples, (784,))
        runs = {"eager chainrule": mlp_epoch(cr, x, y),
                "compiled chainrule": mlp_epoch(cr, x, y, True)}
        if torch is not None:
            runs["pytorch"] = mlp_epoch(torch, x, y)
        rounds = max(args.rounds // 2, 1)
        medians = interleaved(runs, rounds, clock=time.process_time)
        show(f"(b) 784-256-128-10 ReLU MLP, batch 128, SGD momentum, {args.samples} samples",
             medians, "epoch", 1.0, "s")


if __name__ == "__main__":
    main()
