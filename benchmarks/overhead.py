"""Framework overhead on small graphs, chainrule against PyTorch in the same run.

(a) Training a 2-16-16-1 tanh MLP on batches of 32 with plain SGD and MSE: time per step
    (zero_grad, forward, loss, backward, step), 10,000 steps per framework by default.
(b) A small elementwise add with its backward: time per forward+backward.

Usage: python benchmarks/overhead.py [--steps 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse

from common import (
    add_common_arguments,
    describe_machine,
    interleaved,
    limit_threads,
    report,
    training_steps,
    try_import_torch,
)
from workloads import regression_data, tiny_mlp_model

import chainrule as cr


def mlp_steps(lib, x, y):
    """Training steps of the 2-16-16-1 tanh MLP in ``lib`` (chainrule or torch)."""
    lib.manual_seed(0)
    nn = lib.nn
    model = tiny_mlp_model(nn)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    batches = [(lib.from_numpy(xb), lib.from_numpy(yb)) for xb, yb in zip(x, y)]
    return training_steps(lib, model, opt, nn.MSELoss(), batches)


def add_backward(lib, n):
    a = lib.ones(8, requires_grad=True)
    b = lib.ones(8)
    g = lib.ones(8)

    def run():
        for _ in range(n):
            (a + b).backward(g)
            a.grad = None

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="training steps per framework")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    torch = try_import_torch()
    _limits = limit_threads(args.threads, torch)  # noqa: F841 - held for the whole run
    print(describe_machine(torch))

    x, y = regression_data()
    per_round = max(args.steps // args.rounds, 1)
    runs = {"chainrule": mlp_steps(cr, x, y)}
    if torch is not None:
        runs["pytorch"] = mlp_steps(torch, x, y)
    for run in runs.values():  # warm-up
        run(200)
    medians = interleaved({k: (lambda r=r: r(per_round)) for k, r in runs.items()}, args.rounds)
    report(f"(a) 2-16-16-1 tanh MLP, batch 32, SGD: {per_round * args.rounds} steps each",
           {k: v / per_round for k, v in medians.items()}, "step")

    n_ops = 2_000
    ops = {"chainrule": add_backward(cr, n_ops)}
    if torch is not None:
        ops["pytorch"] = add_backward(torch, n_ops)
    medians = interleaved(ops, args.rounds)
    report("(b) elementwise add of 8 floats, forward + backward",
           {k: v / n_ops for k, v in medians.items()}, "op")


if __name__ == "__main__":
    main()
