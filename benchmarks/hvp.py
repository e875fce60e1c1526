"""Hessian-vector products: chainrule's double backward against PyTorch's, side by side.

Workload: the 784-256-128-10 ReLU MLP, cross-entropy on a batch of 1,000 random inputs,
float32. Two ways of taking 20 products H v, each timed in both libraries in the same run:

* ``full``: every product runs forward, the first backward with create_graph and the second
  backward (``chainrule.analysis.hvp`` / ``torch.autograd.grad`` twice);
* ``reuse``: the gradient graph is built once and each product is one second backward
  (``chainrule.analysis.HessianOperator`` / ``torch.autograd.grad(..., retain_graph=True)``),
  what the Lanczos and Hutchinson tools do.

The two libraries' results are compared (relative difference of H v) before timing; then the
four workloads run in alternating rounds and the medians are reported. ``--threads N`` gives
NumPy's BLAS and PyTorch the same number of threads.

Run:  python benchmarks/hvp.py [--products 20] [--batch 1000] [--rounds 3] [--threads N]
"""

import argparse

import numpy as np
from common import (
    add_common_arguments,
    describe_machine,
    interleaved,
    limit_threads,
    try_import_torch,
)

import chainrule as cr
from chainrule import analysis, nn

SIZES = (784, 256, 128, 10)


def chainrule_setup(weights, X, y):
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    for p, w in zip(model.parameters(), weights):
        with cr.no_grad():
            p.copy_(w)
    return model, cr.tensor(X), cr.tensor(y)


def torch_setup(torch, weights, X, y):
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(w))
    return model, torch.from_numpy(X), torch.from_numpy(y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    torch = try_import_torch()
    _limits = limit_threads(args.threads, torch)  # noqa: F841 - held for the whole run
    print(describe_machine(torch))

    rng = np.random.default_rng(0)
    weights = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    X = rng.standard_normal((args.batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.batch).astype(np.int64)
    n = sum(w.size for w in weights)
    vs = [rng.standard_normal(n).astype(np.float32) for _ in range(args.products)]

    model, Xc, yc = chainrule_setup(weights, X, y)
    loss_fn = nn.CrossEntropyLoss()
    params = list(model.parameters())

    def cr_full():
        return [analysis.hvp(lambda: loss_fn(model(Xc), yc), params, v).numpy() for v in vs]

    def cr_reuse():
        op = analysis.HessianOperator(model, loss_fn, (Xc, yc))
        return [op.matvec(v) for v in vs]

    print(f"{args.products} Hessian-vector products, MLP {'-'.join(map(str, SIZES))} "
          f"({n:,} parameters), batch {args.batch}, float32")
    workloads = {"chainrule full": cr_full, "chainrule reuse": cr_reuse}
    if torch is None:
        print("PyTorch is not installed: chainrule timings only")
    else:
        tmodel, Xt, yt = torch_setup(torch, weights, X, y)
        tparams = list(tmodel.parameters())
        tvs = [torch.from_numpy(v) for v in vs]
        tloss = torch.nn.CrossEntropyLoss()

        def split(v):
            out, start = [], 0
            for p in tparams:
                out.append(v[start:start + p.numel()].view_as(p))
                start += p.numel()
            return out

        def torch_full():
            out = []
            for v in tvs:
                grads = torch.autograd.grad(tloss(tmodel(Xt), yt), tparams, create_graph=True)
                dot = sum((g * u).sum() for g, u in zip(grads, split(v)))
                out.append(torch.cat([h.reshape(-1) for h in torch.autograd.grad(dot, tparams)]))
            return out

        def torch_reuse():
            grads = torch.autograd.grad(tloss(tmodel(Xt), yt), tparams, create_graph=True)
            out = []
            for v in tvs:
                dot = sum((g * u).sum() for g, u in zip(grads, split(v)))
                hv = torch.autograd.grad(dot, tparams, retain_graph=True)
                out.append(torch.cat([h.reshape(-1) for h in hv]))
            return out

        ours, theirs = cr_reuse()[0], torch_reuse()[0].numpy()
        diff = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
        print(f"relative difference of H v, chainrule vs PyTorch: {diff:.2e}")
        workloads.update({"torch full": torch_full, "torch reuse": torch_reuse})
    for fn in workloads.values():      # warm up
        fn()
    results = interleaved(workloads, args.rounds)
    for name, seconds in results.items():
        print(f"  {name:<16} {seconds * 1000:9.1f} ms  ({seconds / args.products * 1000:.2f} ms "
              "per product)")
    if torch is not None:
        for mode in ("full", "reuse"):
            ratio = results[f"chainrule {mode}"] / results[f"torch {mode}"]
            print(f"  {mode}: chainrule / PyTorch = {ratio:.2f}")
    return results


if __name__ == "__main__":
    main()
