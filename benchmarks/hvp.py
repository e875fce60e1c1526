"""Hessian-vector products: chainrule's double backward against PyTorch's, side by side.

Workload: the 784-256-128-10 ReLU MLP, cross-entropy on a batch of 1,000 random inputs,
float32. Two ways of taking 20 products H v, each timed in both libraries in the same run:

* ``full``: every product runs forward, the first backward with create_graph and the second
  backward (``chainrule.analysis.hvp`` / ``torch.autograd.grad`` twice);
* ``reuse``: the gradient graph is built once and each product is one second backward
  (``chainrule.analysis.HessianOperator`` / ``torch.autograd.grad(..., retain_graph=True)``),
  what the Lanczos and Hutchinson tools do.

The two libraries' results are compared (relative difference of H v) before timing. For a fair
comparison give both the same number of threads: ``OPENBLAS_NUM_THREADS=1 python
benchmarks/hvp.py --threads 1``.

Run:  python benchmarks/hvp.py [--products 20] [--batch 1000] [--repeat 3] [--threads N]
"""

import argparse
import time

import numpy as np

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


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)

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
    results = {"chainrule full": best_of(cr_full, args.repeat),
               "chainrule reuse": best_of(cr_reuse, args.repeat)}
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: chainrule timings only")
    if torch is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
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
        results["torch full"] = best_of(torch_full, args.repeat)
        results["torch reuse"] = best_of(torch_reuse, args.repeat)
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
