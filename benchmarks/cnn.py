"""A LeNet-style CNN and a single convolution, chainrule against PyTorch in the same run.

1. Training: conv 5x5 (6 maps, padding 2) -> ReLU -> max pool 2 -> conv 5x5 (16 maps) ->
   ReLU -> max pool 2 -> 120 -> 84 -> 10, on random 1x28x28 float32 images in batches of 64,
   SGD with momentum, cross-entropy. Reported: seconds per 10,000 training samples.
2. One conv2d layer, N=64, 32 -> 64 channels, 32x32, 3x3, padding 1: forward + backward.
3. The peak memory one chainrule training step allocates (tracemalloc sees NumPy's buffers).

Rounds alternate between the frameworks and the ratio of medians is printed. The goal is a
LeNet training time within 1.5x of PyTorch's CPU time with the same number of threads.

Usage: python benchmarks/cnn.py [--samples 2560] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import (
    add_common_arguments,
    describe_machine,
    interleaved,
    limit_threads,
    peak_step_memory,
    report,
    try_import_torch,
)
from workloads import classification_data, lenet

import chainrule as cr
from chainrule.nn.functional import conv2d

BATCH = 64


def chainrule_training(x, y):
    cr.manual_seed(0)
    model = lenet(cr.nn)
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = cr.nn.CrossEntropyLoss()
    batches = [(cr.tensor(x[i:i + BATCH]), cr.tensor(y[i:i + BATCH]))
               for i in range(0, len(x), BATCH)]

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    def run():
        for xb, yb in batches:
            loss = step(xb, yb)
        return loss.item()

    return run, lambda: step(*batches[0])


def torch_training(torch, x, y):
    torch.manual_seed(0)
    model = lenet(torch.nn)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(x[i:i + BATCH]), torch.from_numpy(y[i:i + BATCH]))
               for i in range(0, len(x), BATCH)]

    def run():
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    return run


def conv_layer_workloads(torch, repeats=3):
    """Forward + backward of one 3x3 convolution, 64 x 32 x 32 x 32 -> 64 x 64 x 32 x 32."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 3, 3)) * 0.05).astype(np.float32)
    xc, wc = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)

    def ours():
        for _ in range(repeats):
            conv2d(xc, wc, padding=1).sum().backward()
            xc.grad = wc.grad = None

    runs = {"chainrule": ours}
    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_()
        wt = torch.from_numpy(w).requires_grad_()

        def theirs():
            for _ in range(repeats):
                torch.nn.functional.conv2d(xt, wt, padding=1).sum().backward()
                xt.grad = wt.grad = None

        runs["pytorch"] = theirs
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2560,
                        help="training samples per round (times are scaled to 10,000)")
    parser.add_argument("--rounds", type=int, default=3)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    torch = try_import_torch()
    _limits = limit_threads(args.threads, torch)  # noqa: F841 - held for the whole run
    print(describe_machine(torch))

    x, y = classification_data(args.samples, (1, 28, 28))
    run, one_step = chainrule_training(x, y)
    runs = {"chainrule": run}
    if torch is not None:
        runs["pytorch"] = torch_training(torch, x, y)
    for fn in runs.values():  # warm-up
        fn()
    medians = interleaved(runs, args.rounds)
    per_10k = {name: seconds * 10_000 / args.samples for name, seconds in medians.items()}
    report(f"LeNet training, batch {BATCH}, float32, SGD momentum", per_10k, "10,000 samples",
           scale=1.0, suffix="s")

    repeats = 3
    layer = interleaved(conv_layer_workloads(torch, repeats), args.rounds)
    report("conv2d 64x32x32x32 -> 64 channels, 3x3, padding 1: forward + backward",
           {name: s / repeats for name, s in layer.items()}, "call", scale=1e3, suffix="ms")

    peak = peak_step_memory(one_step)
    print(f"\npeak memory of one chainrule LeNet training step (batch {BATCH}): "
          f"{peak / 2 ** 20:.1f} MiB (the input batch is {BATCH * 28 * 28 * 4 / 2 ** 20:.2f} MiB)")


if __name__ == "__main__":
    main()
