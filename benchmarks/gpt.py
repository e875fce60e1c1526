"""A small GPT, chainrule against PyTorch in the same run.

1. Training: one step (zero_grad, forward, cross-entropy of the next token at every position,
   backward, AdamW step) of a decoder-only transformer with 4 pre-norm blocks, width 128, 4
   heads, context 128, batch 32, vocabulary 96 (``workloads.gpt_model``: the same lines build
   the model from ``chainrule.nn`` and from ``torch.nn``, with ``nn.MultiheadAttention`` under
   a causal mask). Both start from the same weights.
2. Sampling: the forward pass of one sequence of 128 tokens without a graph, what generating
   one character costs.
3. The peak memory one chainrule training step allocates (tracemalloc sees NumPy's buffers).

Rounds alternate between the frameworks and the ratio of medians is printed (below 1 means
chainrule is faster). Both use the same number of threads (``--threads``, default 1).

Usage: python benchmarks/gpt.py [--steps 5] [--rounds 3] [--threads 1] [--clock cpu] [--quick]
"""

from __future__ import annotations

from common import interleaved, peak_step_memory, report, stepped_benchmark
from workloads import gpt_model, token_data

import chainrule as cr


def training(lib, x, y, weights=None):
    """``run(n)``: n training steps cycling over the batches; and the model."""
    lib.manual_seed(0)
    model = gpt_model(lib)
    if weights is not None:  # the same starting weights as chainrule's
        with lib.no_grad():
            for name, p in model.named_parameters():
                p.copy_(lib.from_numpy(weights[name].copy()))
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    batches = [(lib.from_numpy(xb), lib.from_numpy(yb)) for xb, yb in zip(x, y)]

    def run(n):
        for i in range(n):
            xb, yb = batches[i % len(batches)]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    return run, model


def sampling(lib, model, x):
    """One forward pass of one sequence without a graph (generating one token)."""
    one = lib.from_numpy(x[0, :1].copy())

    def run():
        with lib.no_grad():
            return model(one)

    return run


def main(argv=None):
    args, torch, _limits, clock = stepped_benchmark(__doc__.splitlines()[0], 5, 1,
                                                    argv)
    x, y = token_data()
    run_cr, model_cr = training(cr, x, y)
    runs, samplers = {"chainrule": run_cr}, {"chainrule": sampling(cr, model_cr, x)}
    if torch is not None:
        weights = {name: p.numpy() for name, p in model_cr.named_parameters()}
        run_torch, model_torch = training(torch, x, y, weights)
        runs["pytorch"], samplers["pytorch"] = run_torch, sampling(torch, model_torch, x)
        first = {name: run(1) for name, run in runs.items()}  # warm up; equal first losses
        print("first-step losses: " + ", ".join(f"{k} {v:.6f}" for k, v in first.items()))
    else:
        run_cr(1)
    print(f"chainrule model: {model_cr.num_parameters():,} parameters")
    times = interleaved({name: (lambda run=run: run(args.steps)) for name, run in runs.items()},
                        args.rounds, clock)
    per_step = {name: t / args.steps for name, t in times.items()}
    report("GPT training step: 4 layers, d=128, 4 heads, T=128, batch 32, AdamW", per_step,
           "step", 1e3, "ms")
    repeats = 20 if not args.quick else 2
    times = interleaved({name: (lambda fn=fn: [fn() for _ in range(repeats)])
                         for name, fn in samplers.items()}, args.rounds, clock)
    report("GPT forward of one sequence of 128 tokens, no graph (one sampled token)",
           {name: t / repeats for name, t in times.items()}, "token", 1e3, "ms")
    peak = peak_step_memory(lambda: run_cr(1))
    print(f"\nchainrule training step peak memory (traced): {peak / 2 ** 20:.1f} MiB")
    ratio = per_step["chainrule"] / per_step["pytorch"] if "pytorch" in per_step else None
    return {"per_step": per_step, "ratio": ratio, "peak_bytes": peak}


if __name__ == "__main__":
    main()
