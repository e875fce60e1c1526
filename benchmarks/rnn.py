"""Recurrent networks, chainrule against PyTorch in the same run.

(a) Training an Elman RNN, a GRU and an LSTM (input 32, hidden 128, sequence 50, batch 64): the
    last hidden state goes through a Linear layer to 10 classes, cross-entropy, SGD. Time per 100
    training steps (zero_grad, forward, loss, backward, step), both frameworks starting from the
    same weights, timed in alternating rounds.
(b) The fused recurrence (one graph node per layer, :mod:`chainrule.ops.recurrent`) against the
    same step formulas run as separate graph nodes (``fused=False``): forward + backward time.

Both frameworks use the same number of threads (``--threads``, default 1: on a shared machine
one thread each gives the steadiest comparison) and are timed by the CPU time of this process
(``--clock cpu``, the default; ``--clock wall`` for wall-clock time), which other programs on
the machine disturb less than wall-clock time.

Usage: python benchmarks/rnn.py [--steps 100] [--rounds 3] [--threads 1] [--clock cpu] [--quick]
"""

from __future__ import annotations

import numpy as np
from common import interleaved, report, stepped_benchmark

import chainrule as cr
from chainrule import nn
from chainrule.ops.recurrent import gru_sequence, lstm_sequence, rnn_sequence

CELLS = ("RNN", "GRU", "LSTM")


def make_data(n_batches=4, batch=64, steps=50, features=32, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batches, batch, steps, features)).astype(np.float32)
    y = rng.integers(0, classes, size=(n_batches, batch))
    return x, y


def chainrule_steps(cell, x, y, hidden=128, classes=10):
    cr.manual_seed(0)
    rnn = getattr(nn, cell)(x.shape[-1], hidden, batch_first=True)
    head = nn.Linear(hidden, classes)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = cr.optim.SGD(params, lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = [cr.tensor(b) for b in x], [cr.tensor(b) for b in y]

    def run(n):
        for i in range(n):
            opt.zero_grad()
            _, h_n = rnn(xs[i % len(xs)])
            h_n = h_n[0] if isinstance(h_n, tuple) else h_n
            loss = loss_fn(head(h_n[-1]), ys[i % len(ys)])
            loss.backward()
            opt.step()
        return loss.item()

    return run, rnn, head


def torch_steps(torch, cell, x, y, rnn_cr, head_cr):
    rnn = getattr(torch.nn, cell)(x.shape[-1], rnn_cr.hidden_size, batch_first=True)
    head = torch.nn.Linear(head_cr.in_features, head_cr.out_features)
    with torch.no_grad():  # the same starting weights as chainrule's
        for module, source in ((rnn, rnn_cr), (head, head_cr)):
            for name, p in module.named_parameters():
                p.copy_(torch.from_numpy(getattr(source, name).numpy().copy()))
    opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs, ys = [torch.from_numpy(b) for b in x], [torch.from_numpy(b) for b in y]

    def run(n):
        for i in range(n):
            opt.zero_grad()
            _, h_n = rnn(xs[i % len(xs)])
            h_n = h_n[0] if isinstance(h_n, tuple) else h_n
            loss = loss_fn(head(h_n[-1]), ys[i % len(ys)])
            loss.backward()
            opt.step()
        return loss.item()

    return run


def fused_vs_composed(cell, steps=50, batch=64, hidden=128, seed=0):
    """Forward + backward of one recurrence, as one fused node and as separate nodes."""
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[cell]
    rng = np.random.default_rng(seed)

    def param(*shape):
        return cr.tensor(0.1 * rng.standard_normal(shape), requires_grad=True)

    gx, h0, w_hh = param(steps, batch, gates * hidden), param(batch, hidden), \
        param(gates * hidden, hidden)
    c0, b_hh = param(batch, hidden), param(gates * hidden)

    def run(fused):
        def once():
            if cell == "LSTM":
                hs, _ = lstm_sequence(gx, h0, c0, w_hh, fused=fused)
            elif cell == "GRU":
                hs, _ = gru_sequence(gx, h0, w_hh, b_hh, fused=fused)
            else:
                hs, _ = rnn_sequence(gx, h0, w_hh, fused=fused)
            hs.sum().backward()
        return once

    return {"fused": run(True), "composed": run(False)}


def main(argv=None):
    args, torch, _limits, clock = stepped_benchmark(__doc__.splitlines()[0], 100, 10,
                                                    argv)
    x, y = make_data()
    ratios = {}
    for cell in CELLS:
        run_cr, rnn_cr, head_cr = chainrule_steps(cell, x, y)
        runs = {"chainrule": run_cr}
        if torch is not None:
            runs["pytorch"] = torch_steps(torch, cell, x, y, rnn_cr, head_cr)
        for run in runs.values():  # warm up
            run(2)
        workloads = {name: (lambda run=run: run(args.steps)) for name, run in runs.items()}
        times = interleaved(workloads, args.rounds, clock)
        per = {name: t / args.steps * 100 for name, t in times.items()}
        report(f"{cell}: 32 -> 128, T=50, batch 64, 10 classes", per, "100 steps", 1e3, "ms")
        if "pytorch" in per:
            ratios[cell] = per["chainrule"] / per["pytorch"]
    for cell in CELLS:
        times = interleaved(fused_vs_composed(cell), args.rounds, clock)
        report(f"{cell} recurrence alone, forward + backward", times, "sequence", 1e3, "ms")
        print(f"  fused is {times['composed'] / times['fused']:.1f}x faster than composed")
    if ratios:
        print("\nratios chainrule/pytorch: " + ", ".join(f"{c} {r:.2f}x" for c, r in
                                                       ratios.items()))
    return ratios


if __name__ == "__main__":
    main()
